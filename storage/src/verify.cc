// Verify and Rebuild: the register checked against, and repaired from, its streams.
//
// Both walk the events and projections column families together (a merge join: keys.h explains
// why their orders agree) and fold every stream from scratch through the projector. Verify then
// compares; Rebuild overwrites. Memory is bounded by one stream plus the set of timer keys.
#include "verify.h"

#include <functional>
#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>

#include "timers.h"

namespace cir::storage::internal {
namespace {

constexpr std::size_t kMaxProblems = 1000;
constexpr int kRebuildBatchOps = 1000;

std::string P(std::uint32_t partition) { return "partition " + std::to_string(partition); }

class Problems {
 public:
  explicit Problems(std::vector<std::string>* out) : out_(out) {}
  ~Problems() {
    if (out_ != nullptr && dropped_ > 0) {
      out_->push_back("… and " + std::to_string(dropped_) + " more problems");
    }
  }
  Problems(const Problems&) = delete;
  Problems& operator=(const Problems&) = delete;

  void Add(std::string problem) {
    if (out_ == nullptr) return;
    if (out_->size() < kMaxProblems) {
      out_->push_back(std::move(problem));
    } else {
      ++dropped_;
    }
  }

 private:
  std::vector<std::string>* out_;  // null: not collecting (Rebuild)
  std::uint64_t dropped_ = 0;
};

// One initiative as the merge join sees it.
struct Initiative {
  std::uint32_t partition = 0;
  std::string id;
  std::uint64_t events = 0;                 // in the stream
  std::optional<v1::Initiative> folded;     // the stream folded from scratch
  std::optional<v1::Initiative> stored;     // the projection in the database
  std::string projection_key;
};

using EventCheck =
    std::function<Result<void>(std::uint32_t, const std::string&, const v1::StoredEvent&)>;

// Walks every (stream, projection) pair in key order and calls `visit` for each initiative that has
// either. `on_event` sees every stored event (Verify checks its dedupe entry there).
Result<void> Walk(const Db& db, const Projector& projector, Problems& problems,
                  const EventCheck& on_event,
                  const std::function<Result<void>(Initiative&)>& visit) {
  Scan events(db, Cf::kEvents, std::string(), std::nullopt);
  Scan projections(db, Cf::kProjections, std::string(), std::nullopt);
  while (events.Valid() || projections.Valid()) {
    std::optional<EventKeyParts> head;
    if (events.Valid()) {
      head = ParseEventKey(events.key());
      if (!head) {
        problems.Add("malformed event key " + Printable(events.key()));
        events.Next();
        continue;
      }
    }
    Initiative initiative;
    const std::optional<std::string> stream_key =
        head ? std::optional(ProjectionKey(head->partition, head->initiative_id)) : std::nullopt;
    const std::optional<std::string> projection_key =
        projections.Valid() ? std::optional(std::string(projections.key())) : std::nullopt;
    const bool take_stream = stream_key && (!projection_key || *stream_key <= *projection_key);
    const bool take_projection =
        projection_key && (!stream_key || *projection_key <= *stream_key);

    if (take_projection) {
      initiative.projection_key = *projection_key;
      auto id = ParseProjectionKey(*projection_key);
      if (!id) {
        problems.Add("malformed projection key " + Printable(*projection_key));
        projections.Next();
        continue;
      }
      initiative.partition = *ParsePartition(*projection_key);
      initiative.id = std::move(*id);
      auto stored = Db::Parse<v1::Initiative>(Cf::kProjections, projections.key(),
                                              projections.value());
      if (stored) {
        initiative.stored = std::move(*stored);
      } else {
        problems.Add(stored.error().message);
      }
      projections.Next();
    }
    if (take_stream) {
      initiative.partition = head->partition;
      initiative.id = head->initiative_id;
      initiative.projection_key = *stream_key;
      const std::string where = P(head->partition) + " initiative " + head->initiative_id;
      const std::string prefix = StreamPrefix(head->partition, head->initiative_id);
      while (events.Valid() && events.key().starts_with(prefix)) {
        auto key = ParseEventKey(events.key());
        auto event = Db::Parse<v1::StoredEvent>(Cf::kEvents, events.key(), events.value());
        if (!key || !event) {
          problems.Add(key ? event.error().message : "malformed event key " + Printable(events.key()));
          events.Next();
          continue;
        }
        ++initiative.events;
        if (key->revision != initiative.events) {
          problems.Add(where + ": revision " + std::to_string(key->revision) +
                       " follows revision " + std::to_string(initiative.events - 1) +
                       " (revisions must be contiguous from 1)");
          initiative.events = key->revision;
        }
        if (event->revision() != key->revision || event->partition() != key->partition) {
          problems.Add(where + ": the event at revision " + std::to_string(key->revision) +
                       " says revision " + std::to_string(event->revision()) + ", " +
                       P(event->partition()));
        }
        if (auto checked = on_event(key->partition, key->initiative_id, *event); !checked) {
          return checked;
        }
        const v1::Initiative* current = initiative.folded ? &*initiative.folded : nullptr;
        Projection projection = projector.Project(current, *event);
        if (projection.disposition == Projection::Disposition::kRejected) {
          problems.Add(where + ": revision " + std::to_string(key->revision) +
                       " is rejected when folded again (" + projection.reason_code + ": " +
                       projection.reason + ")");
        } else {
          const bool ignored = projection.disposition == Projection::Disposition::kIgnored;
          if (ignored != (event->disposition() == v1::DISPOSITION_IGNORED)) {
            problems.Add(where + ": revision " + std::to_string(key->revision) + " is stored " +
                         v1::Disposition_Name(event->disposition()) + " but folds " +
                         (ignored ? "ignored" : "applied"));
          }
          initiative.folded = std::move(projection.state);
        }
        events.Next();
      }
    }
    if (auto visited = visit(initiative); !visited) return visited;
  }
  if (auto ok = events.status(); !ok) return ok;
  return projections.status();
}

// The first difference between two projections, as a short phrase.
std::string FirstDifference(const v1::Initiative& stored, const v1::Initiative& folded) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(stored, folded)) return {};
  const std::size_t end = report.find('\n');
  std::string first = report.substr(0, end);
  if (first.size() > 300) first = first.substr(0, 300) + "…";
  return first.empty() ? "they differ" : first;
}

bool Equal(const v1::Initiative& a, const v1::Initiative& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace

Result<VerifyReport> VerifyDb(const Db& db, const Projector& projector) {
  VerifyReport report;
  Problems problems(&report.problems);
  Result<void> scanned;

  // Partition bookkeeping, and data whose partition has none.
  std::map<std::uint32_t, v1::PartitionMeta> metas;
  std::set<std::pair<std::uint32_t, Cf>> orphan_reported;
  auto check_partition = [&](std::string_view key, Cf cf) {
    auto partition = ParsePartition(key);
    if (!partition) {
      problems.Add("malformed " + std::string(CfName(cf)) + " key " + Printable(key));
      return;
    }
    if (!metas.contains(*partition) && orphan_reported.emplace(*partition, cf).second) {
      problems.Add(P(*partition) + " has " + std::string(CfName(cf)) +
                   " data but no partition meta");
    }
  };
  scanned = ForEach(db, Cf::kMeta, [&](std::string_view key, std::string_view value) -> Result<void> {
        auto partition = ParsePartition(key);
        auto meta = Db::Parse<v1::PartitionMeta>(Cf::kMeta, key, value);
        if (!partition || key.size() != 4 || !meta) {
          problems.Add("malformed partition meta at key " + Printable(key));
        } else {
          metas[*partition] = *meta;
        }
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());

  // Streams and projections, folded and compared; each event's dedupe entry.
  std::map<std::uint32_t, std::uint64_t> events_per_partition;
  std::set<std::string> expected_timers;
  auto on_event = [&](std::uint32_t partition, const std::string& id,
                      const v1::StoredEvent& event) -> Result<void> {
    ++report.events;
    ++events_per_partition[partition];
    const std::string where = P(partition) + " initiative " + id + " revision " +
                              std::to_string(event.revision());
    auto dedupe_key = DedupeKeyOf(partition, id, event);
    if (!dedupe_key) {
      problems.Add(where + ": the event has no payload");
      return {};
    }
    auto entry = db.GetProto<v1::DedupeEntry>(Cf::kDedupe, *dedupe_key);
    if (!entry) return std::unexpected(entry.error());
    if (!entry->has_value()) {
      problems.Add(where + ": no dedupe entry at key " + Printable(*dedupe_key));
    } else if ((*entry)->initiative_id() != id || (*entry)->revision() != event.revision()) {
      problems.Add(where + ": dedupe entry " + Printable(*dedupe_key) + " points at initiative " +
                   (*entry)->initiative_id() + " revision " +
                   std::to_string((*entry)->revision()));
    }
    return {};
  };
  auto visit = [&](Initiative& initiative) -> Result<void> {
    const std::string where = P(initiative.partition) + " initiative " + initiative.id;
    check_partition(initiative.projection_key, initiative.stored ? Cf::kProjections : Cf::kEvents);
    if (initiative.stored) {
      ++report.initiatives;
      const auto keys = TimerKeys(initiative.partition, *initiative.stored);
      expected_timers.insert(keys.begin(), keys.end());
      if (initiative.stored->initiative_id() != initiative.id) {
        problems.Add(where + ": the projection names initiative " +
                     initiative.stored->initiative_id());
      }
    }
    if (initiative.events == 0) {
      problems.Add(where + ": a projection without a stream");
    } else if (!initiative.stored) {
      problems.Add(where + ": a stream of " + std::to_string(initiative.events) +
                   " events without a projection");
    } else if (!initiative.folded) {
      problems.Add(where + ": the stream folds to nothing but a projection is stored");
    } else if (std::string diff = FirstDifference(*initiative.stored, *initiative.folded);
               !diff.empty()) {
      problems.Add(where + ": the projection differs from the fold of its stream: " + diff);
    }
    return {};
  };
  if (auto ok = Walk(db, projector, problems, on_event, visit); !ok) {
    return std::unexpected(ok.error());
  }

  // Every dedupe entry points at an event that has that dedupe key.
  scanned = ForEach(db, Cf::kDedupe, [&](std::string_view key, std::string_view value) -> Result<void> {
        check_partition(key, Cf::kDedupe);
        auto parts = ParseDedupeKey(key);
        auto entry = Db::Parse<v1::DedupeEntry>(Cf::kDedupe, key, value);
        if (!parts || !entry) {
          problems.Add("malformed dedupe entry at key " + Printable(key));
          return {};
        }
        const std::string event_key = EventKey(parts->partition, entry->initiative_id(),
                                               entry->revision());
        auto event = db.GetProto<v1::StoredEvent>(Cf::kEvents, event_key);
        if (!event) return std::unexpected(event.error());
        if (!event->has_value()) {
          problems.Add("dedupe entry " + Printable(key) + " points at missing event " +
                       Printable(event_key));
        } else if (DedupeKeyOf(parts->partition, entry->initiative_id(), **event) != key) {
          problems.Add("dedupe entry " + Printable(key) + " points at event " +
                       Printable(event_key) + ", which has another source/id");
        }
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());

  // The due-time index mirrors the projections' timers.
  scanned = ForEach(db, Cf::kTimers, [&](std::string_view key, std::string_view) -> Result<void> {
        ++report.timers;
        check_partition(key, Cf::kTimers);
        if (!ParseTimerKey(key)) {
          problems.Add("malformed due-time index key " + Printable(key));
        } else if (expected_timers.erase(std::string(key)) == 0) {
          problems.Add("due-time index key " + Printable(key) +
                       " has no timer in its initiative's projection");
        }
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());
  for (const std::string& key : expected_timers) {
    problems.Add("a projection's timer is missing from the due-time index: " + Printable(key));
  }

  // Outbox records below the partition's next seq; offsets well-formed.
  scanned = ForEach(db, Cf::kOutbox, [&](std::string_view key, std::string_view value) -> Result<void> {
        ++report.outbox_records;
        check_partition(key, Cf::kOutbox);
        auto seq = ParseOutboxKey(key);
        auto record = Db::Parse<v1::OutboxRecord>(Cf::kOutbox, key, value);
        if (!seq || !record) {
          problems.Add("malformed outbox record at key " + Printable(key));
          return {};
        }
        const std::uint32_t partition = *ParsePartition(key);
        if (record->seq() != *seq || record->partition() != partition) {
          problems.Add("outbox record " + Printable(key) + " says seq " +
                       std::to_string(record->seq()) + ", " + P(record->partition()));
        }
        if (auto meta = metas.find(partition);
            meta != metas.end() && *seq >= meta->second.next_outbox_seq()) {
          problems.Add("outbox record " + Printable(key) + " is at or beyond the next seq " +
                       std::to_string(meta->second.next_outbox_seq()) + " of " + P(partition));
        }
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());
  scanned = ForEach(db, Cf::kOffsets, [&](std::string_view key, std::string_view value) -> Result<void> {
        check_partition(key, Cf::kOffsets);
        if (!DecodeOffset(value)) problems.Add("malformed offset at key " + Printable(key));
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());

  // The counters agree with the streams.
  for (const auto& [partition, meta] : metas) {
    const std::uint64_t counted = meta.events_appended() + meta.timers_fired();
    const std::uint64_t stored = events_per_partition[partition];
    if (counted != stored) {
      problems.Add(P(partition) + ": the meta counts " + std::to_string(meta.events_appended()) +
                   " events and " + std::to_string(meta.timers_fired()) +
                   " fired timers, but the streams hold " + std::to_string(stored) + " events");
    }
  }
  return report;
}

Result<std::uint64_t> RebuildDb(const Db& db, const Projector& projector, bool sync) {
  Problems ignore(nullptr);
  rocksdb::WriteBatch batch;
  auto flush = [&](bool force) -> Result<void> {
    if (batch.Count() == 0 || (!force && batch.Count() < kRebuildBatchOps)) return {};
    auto written = db.Write(batch, sync, "rebuilding projections");
    batch.Clear();
    return written;
  };

  std::uint64_t differed = 0;
  std::set<std::string> expected_timers;
  auto no_check = [](std::uint32_t, const std::string&, const v1::StoredEvent&) -> Result<void> {
    return {};
  };
  auto visit = [&](Initiative& initiative) -> Result<void> {
    if (!initiative.folded) {
      if (initiative.stored) {
        ++differed;
        (void)batch.Delete(db.cf(Cf::kProjections), initiative.projection_key);
      }
    } else {
      const auto keys = TimerKeys(initiative.partition, *initiative.folded);
      expected_timers.insert(keys.begin(), keys.end());
      if (!initiative.stored || !Equal(*initiative.stored, *initiative.folded)) {
        ++differed;
        (void)batch.Put(db.cf(Cf::kProjections), initiative.projection_key,
                        initiative.folded->SerializeAsString());
      }
    }
    return flush(false);
  };
  if (auto ok = Walk(db, projector, ignore, no_check, visit); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = flush(true); !ok) return std::unexpected(ok.error());

  // The index after the projections: keys nobody asks for go, missing ones come.
  auto scanned = ForEach(db, Cf::kTimers, [&](std::string_view key, std::string_view) -> Result<void> {
        if (expected_timers.erase(std::string(key)) == 0) {
          (void)batch.Delete(db.cf(Cf::kTimers), rocksdb::Slice(key.data(), key.size()));
        }
        return flush(false);
      });
  if (!scanned) return std::unexpected(scanned.error());
  for (const std::string& key : expected_timers) {
    (void)batch.Put(db.cf(Cf::kTimers), key, rocksdb::Slice());
    if (auto ok = flush(false); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = flush(true); !ok) return std::unexpected(ok.error());
  return differed;
}

}  // namespace cir::storage::internal
