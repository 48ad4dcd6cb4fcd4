// Verify and Rebuild: the register checked against, and repaired from, its streams.
//
// Both walk the events and projections column families together (a merge join: keys.h explains
// why their orders agree) and fold every stream from scratch through the projector. Verify then
// compares; Rebuild overwrites. Memory is bounded by one stream plus the sets of timer keys and
// (Verify) index entries.
#include "verify.h"

#include <functional>
#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>

#include "index.h"
#include "summary.h"
#include "timers.h"
#include "walk.h"

namespace cir::storage::internal {
namespace {

constexpr int kRebuildBatchOps = 1000;

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

// Verify's passes over one database, in order; each adds what it finds to the report. The
// partition metas come first: the other passes check their keys against them.
class Verifier {
 public:
  Verifier(const Db& db, const Projector& projector, VerifyReport& report)
      : db_(db), projector_(projector), report_(report), problems_(&report.problems) {}

  Result<void> Run() {
    for (auto pass : {&Verifier::ReadMetas, &Verifier::CheckStreams, &Verifier::CheckDedupe,
                      &Verifier::CheckTimers, &Verifier::CheckIndex, &Verifier::CheckOutbox,
                      &Verifier::CheckOffsets}) {
      if (auto ok = (this->*pass)(); !ok) return ok;
    }
    CheckCounters();
    return {};
  }

 private:
  // Data whose partition has no meta, reported once per partition and column family.
  void CheckPartition(std::string_view key, Cf cf) {
    auto partition = ParsePartition(key);
    if (!partition) {
      problems_.Add("malformed " + std::string(CfName(cf)) + " key " + Printable(key));
      return;
    }
    if (!metas_.contains(*partition) && orphan_reported_.emplace(*partition, cf).second) {
      problems_.Add(P(*partition) + " has " + std::string(CfName(cf)) +
                    " data but no partition meta");
    }
  }

  Result<void> ReadMetas() {
    return ForEach(db_, Cf::kMeta,
                   [&](std::string_view key, std::string_view value) -> Result<void> {
                     auto partition = ParsePartition(key);
                     auto meta = Db::Parse<v1::PartitionMeta>(Cf::kMeta, key, value);
                     if (!partition || key.size() != 4 || !meta) {
                       problems_.Add("malformed partition meta at key " + Printable(key));
                     } else {
                       metas_[*partition] = *meta;
                     }
                     return {};
                   });
  }

  // Streams and projections, folded and compared; each event's dedupe entry.
  Result<void> CheckStreams() {
    return Walk(
        db_, projector_, problems_,
        [&](std::uint32_t partition, const std::string& id, const v1::StoredEvent& event) {
          return CheckEvent(partition, id, event);
        },
        [&](Initiative& initiative) -> Result<void> {
          CheckInitiative(initiative);
          return {};
        });
  }

  // The event's dedupe entry points back at it.
  Result<void> CheckEvent(std::uint32_t partition, const std::string& id,
                          const v1::StoredEvent& event) {
    ++report_.events;
    ++events_per_partition_[partition];
    const std::string where =
        P(partition) + " initiative " + id + " revision " + std::to_string(event.revision());
    auto dedupe_key = DedupeKeyOf(partition, id, event);
    if (!dedupe_key) {
      problems_.Add(where + ": the event has no payload");
      return {};
    }
    auto entry = db_.GetProto<v1::DedupeEntry>(Cf::kDedupe, *dedupe_key);
    if (!entry) return std::unexpected(entry.error());
    if (!entry->has_value()) {
      problems_.Add(where + ": no dedupe entry at key " + Printable(*dedupe_key));
    } else if ((*entry)->initiative_id() != id || (*entry)->revision() != event.revision()) {
      problems_.Add(where + ": dedupe entry " + Printable(*dedupe_key) + " points at initiative " +
                    (*entry)->initiative_id() + " revision " +
                    std::to_string((*entry)->revision()));
    }
    return {};
  }

  // The stored projection is the fold of its stream; its timers are expected in the index.
  void CheckInitiative(const Initiative& initiative) {
    const std::string where = P(initiative.partition) + " initiative " + initiative.id;
    CheckPartition(initiative.projection_key, initiative.stored ? Cf::kProjections : Cf::kEvents);
    // The summary counts what the projections should be: a projection that differs from its fold
    // is reported once, below, not again through the summary.
    if (initiative.folded) Count(counted_[initiative.partition], *initiative.folded, +1);
    if (initiative.stored) {
      ++report_.initiatives;
      const auto keys = TimerKeys(initiative.partition, *initiative.stored);
      expected_timers_.insert(keys.begin(), keys.end());
      for (std::string& entry : IndexEntriesOf(initiative.partition, *initiative.stored)) {
        if (std::string count_key = CountKeyOf(entry); !count_key.empty()) {
          ++expected_counts_[count_key];
        }
        expected_index_.insert(std::move(entry));
      }
      if (initiative.stored->initiative_id() != initiative.id) {
        problems_.Add(where + ": the projection names initiative " +
                      initiative.stored->initiative_id());
      }
    }
    if (initiative.events == 0) {
      problems_.Add(where + ": a projection without a stream");
    } else if (!initiative.stored) {
      problems_.Add(where + ": a stream of " + std::to_string(initiative.events) +
                    " events without a projection");
    } else if (!initiative.folded) {
      problems_.Add(where + ": the stream folds to nothing but a projection is stored");
    } else if (std::string diff = FirstDifference(*initiative.stored, *initiative.folded);
               !diff.empty()) {
      problems_.Add(where + ": the projection differs from the fold of its stream: " + diff);
    }
  }

  // Every dedupe entry points at an event that has that dedupe key.
  Result<void> CheckDedupe() {
    return ForEach(
        db_, Cf::kDedupe, [&](std::string_view key, std::string_view value) -> Result<void> {
          CheckPartition(key, Cf::kDedupe);
          auto parts = ParseDedupeKey(key);
          auto entry = Db::Parse<v1::DedupeEntry>(Cf::kDedupe, key, value);
          if (!parts || !entry) {
            problems_.Add("malformed dedupe entry at key " + Printable(key));
            return {};
          }
          const std::string event_key =
              EventKey(parts->partition, entry->initiative_id(), entry->revision());
          auto event = db_.GetProto<v1::StoredEvent>(Cf::kEvents, event_key);
          if (!event) return std::unexpected(event.error());
          if (!event->has_value()) {
            problems_.Add("dedupe entry " + Printable(key) + " points at missing event " +
                          Printable(event_key));
          } else if (DedupeKeyOf(parts->partition, entry->initiative_id(), **event) != key) {
            problems_.Add("dedupe entry " + Printable(key) + " points at event " +
                          Printable(event_key) + ", which has another source/id");
          }
          return {};
        });
  }

  // The due-time index mirrors the projections' timers.
  Result<void> CheckTimers() {
    auto scanned =
        ForEach(db_, Cf::kTimers, [&](std::string_view key, std::string_view) -> Result<void> {
          ++report_.timers;
          CheckPartition(key, Cf::kTimers);
          if (!ParseTimerKey(key)) {
            problems_.Add("malformed due-time index key " + Printable(key));
          } else if (expected_timers_.erase(std::string(key)) == 0) {
            problems_.Add("due-time index key " + Printable(key) +
                          " has no timer in its initiative's projection");
          }
          return {};
        });
    for (const std::string& key : expected_timers_) {
      problems_.Add("a projection's timer is missing from the due-time index: " + Printable(key));
    }
    return scanned;
  }

  // The index mirrors the stored projections: every entry, and every counter's count.
  Result<void> CheckIndex() {
    auto built = IndexBuilt(db_);
    if (!built) return std::unexpected(built.error());
    if (!*built) problems_.Add("the index is not marked built (Open builds it)");
    auto scanned =
        ForEach(db_, Cf::kIndex, [&](std::string_view key, std::string_view value) -> Result<void> {
          CheckPartition(key, Cf::kIndex);
          if (key.size() < 5) {
            problems_.Add("malformed index key " + Printable(key));
          } else if ((static_cast<std::uint8_t>(key[4]) & 0x80) != 0) {
            auto count = DecodeCount(value);
            auto it = expected_counts_.find(std::string(key));
            const std::uint64_t expected = it != expected_counts_.end() ? it->second : 0;
            if (!count) {
              problems_.Add("malformed index counter at key " + Printable(key));
            } else if (*count != expected) {
              problems_.Add("index counter " + Printable(key) + " is " + std::to_string(*count) +
                            ", the projections count " + std::to_string(expected));
            }
            if (it != expected_counts_.end()) expected_counts_.erase(it);
          } else if (expected_index_.erase(std::string(key)) == 0) {
            problems_.Add("index entry " + Printable(key) +
                          " does not match its initiative's projection");
          }
          return {};
        });
    for (const std::string& key : expected_index_) {
      problems_.Add("a projection's index entry is missing: " + Printable(key));
    }
    for (const auto& [key, count] : expected_counts_) {
      problems_.Add("index counter " + Printable(key) + " is missing; the projections count " +
                    std::to_string(count));
    }
    return scanned;
  }

  // Outbox records below the partition's next seq.
  Result<void> CheckOutbox() {
    return ForEach(
        db_, Cf::kOutbox, [&](std::string_view key, std::string_view value) -> Result<void> {
          ++report_.outbox_records;
          CheckPartition(key, Cf::kOutbox);
          auto seq = ParseOutboxKey(key);
          auto record = Db::Parse<v1::OutboxRecord>(Cf::kOutbox, key, value);
          if (!seq || !record) {
            problems_.Add("malformed outbox record at key " + Printable(key));
            return {};
          }
          const std::uint32_t partition = *ParsePartition(key);
          if (record->seq() != *seq || record->partition() != partition) {
            problems_.Add("outbox record " + Printable(key) + " says seq " +
                          std::to_string(record->seq()) + ", " + P(record->partition()));
          }
          if (auto meta = metas_.find(partition);
              meta != metas_.end() && *seq >= meta->second.next_outbox_seq()) {
            problems_.Add("outbox record " + Printable(key) + " is at or beyond the next seq " +
                          std::to_string(meta->second.next_outbox_seq()) + " of " + P(partition));
          }
          return {};
        });
  }

  // Offsets well-formed.
  Result<void> CheckOffsets() {
    return ForEach(db_, Cf::kOffsets,
                   [&](std::string_view key, std::string_view value) -> Result<void> {
                     CheckPartition(key, Cf::kOffsets);
                     if (!DecodeOffset(value))
                       problems_.Add("malformed offset at key " + Printable(key));
                     return {};
                   });
  }

  // Each summary agrees with its partition's projections, and the counters with the streams.
  void CheckCounters() {
    for (const auto& [partition, meta] : metas_) {
      if (!meta.has_summary()) continue;  // counted at the next open (Register::Open)
      const v1::PartitionSummary& counted = counted_[partition];
      if (!SameSummary(meta.summary(), counted)) {
        problems_.Add(P(partition) + ": the meta's summary (" +
                      std::to_string(meta.summary().initiatives()) +
                      " initiatives) is not what its streams fold to (" +
                      std::to_string(counted.initiatives()) + " initiatives); run rebuild");
      }
    }
    for (const auto& [partition, meta] : metas_) {
      const std::uint64_t counted = meta.events_appended() + meta.timers_fired();
      const std::uint64_t stored = events_per_partition_[partition];
      if (counted != stored) {
        problems_.Add(P(partition) + ": the meta counts " + std::to_string(meta.events_appended()) +
                      " events and " + std::to_string(meta.timers_fired()) +
                      " fired timers, but the streams hold " + std::to_string(stored) + " events");
      }
    }
  }

  const Db& db_;
  const Projector& projector_;
  VerifyReport& report_;
  Problems problems_;
  std::map<std::uint32_t, v1::PartitionMeta> metas_;
  std::set<std::pair<std::uint32_t, Cf>> orphan_reported_;
  std::map<std::uint32_t, std::uint64_t> events_per_partition_;
  std::map<std::uint32_t, v1::PartitionSummary> counted_;  // the folds of the streams, counted
  std::set<std::string> expected_timers_;
  std::set<std::string> expected_index_;
  std::map<std::string, std::uint64_t> expected_counts_;
};

}  // namespace

Result<VerifyReport> VerifyDb(const Db& db, const Projector& projector) {
  VerifyReport report;
  {
    Verifier verifier(db, projector, report);
    if (auto ok = verifier.Run(); !ok) return std::unexpected(ok.error());
  }  // here the verifier adds "… and N more problems" past the cap, before the report is returned
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
  auto scanned =
      ForEach(db, Cf::kTimers, [&](std::string_view key, std::string_view) -> Result<void> {
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
