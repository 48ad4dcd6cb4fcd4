// The fold-and-write path shared by Append and FireDueTimers; see batch.h.
#include "batch.h"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "cir/base/enum_name.h"
#include "cir/base/log.h"
#include "cir/base/utf8.h"
#include "index.h"
#include "summary.h"
#include "timers.h"

namespace cir::storage::internal {
namespace {

std::string Serialize(const google::protobuf::Message& message) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    Fatal(std::string("cannot serialize ") + message.GetDescriptor()->name() +
          " (a required field or a >2 GiB message)");
  }
  return bytes;
}

}  // namespace

std::string SerializeOrEmpty(const google::protobuf::Message& message) {
  std::string bytes;
  (void)message.SerializeToString(&bytes);
  return bytes;
}

void Fatal(const std::string& message) {
  log::Error("broken invariant", {{"component", "storage"}, {"error", message}});
  std::fflush(stderr);
  std::abort();
}

BatchBuilder::BatchBuilder(const Db& db, std::uint32_t partition, const Projector& projector,
                           google::protobuf::Timestamp now, v1::PartitionMeta meta)
    : db_(db),
      partition_(partition),
      projector_(projector),
      now_(std::move(now)),
      meta_(std::move(meta)) {}

void BatchBuilder::Put(Cf cf, std::string_view key, std::string_view value) {
  const rocksdb::Status status = batch_.Put(db_.cf(cf), rocksdb::Slice(key.data(), key.size()),
                                            rocksdb::Slice(value.data(), value.size()));
  // WriteBatch::Put fails only past its 4 GiB size limit; a poll batch never gets there.
  if (!status.ok()) Fatal("WriteBatch::Put: " + status.ToString());
  if (cf == Cf::kTimers && (!lowest_timer_put_ || key < *lowest_timer_put_)) {
    lowest_timer_put_ = std::string(key);
  }
  if (cf == Cf::kIndex) {
    if (auto slot = EntrySortSlot(key)) {
      auto& lowest = lowest_sorted_put_[*slot];
      if (!lowest || key < *lowest) lowest = std::string(key);
    }
  }
}

void BatchBuilder::Delete(Cf cf, std::string_view key) {
  const rocksdb::Status status = batch_.Delete(db_.cf(cf), rocksdb::Slice(key.data(), key.size()));
  if (!status.ok()) Fatal("WriteBatch::Delete: " + status.ToString());
}

Result<const v1::Initiative*> BatchBuilder::Current(const std::string& initiative_id) {
  if (auto it = projections_.find(initiative_id); it != projections_.end()) {
    return it->second.state ? &*it->second.state : nullptr;
  }
  auto stored =
      db_.GetProto<v1::Initiative>(Cf::kProjections, ProjectionKey(partition_, initiative_id));
  if (!stored) return std::unexpected(stored.error());
  if (!stored->has_value()) {
    // A new initiative must not have a stream: revision 1 would overwrite its first event.
    Scan stream = Scan::Prefix(db_, Cf::kEvents, StreamPrefix(partition_, initiative_id));
    if (stream.Valid()) {
      return Fail(ErrorCode::kCorruption,
                  "partition " + std::to_string(partition_) + " initiative " + initiative_id +
                      " has a stream but no projection in " + db_.path() + "; run Rebuild");
    }
    if (auto ok = stream.status(); !ok) return std::unexpected(ok.error());
  }
  // What it counted leaves the partition's summary; Commit adds what it counts then. Its index
  // entries are what Commit diffs the new projection's against.
  if (stored->has_value()) {
    Count(*meta_.mutable_summary(), **stored, -1);
    index_before_.emplace(initiative_id, IndexEntriesOf(partition_, **stored));
  }
  auto [it, inserted] = projections_.emplace(initiative_id, Cached{std::move(*stored), false});
  return it->second.state ? &*it->second.state : nullptr;
}

void BatchBuilder::AddOutbox(v1::OutboxRecord record) {
  // Seqs start at 1, so that ReadOutbox(partition, /*after_seq=*/0, …) reads from the start.
  if (meta_.next_outbox_seq() == 0) meta_.set_next_outbox_seq(1);
  record.set_seq(meta_.next_outbox_seq());
  record.set_partition(partition_);
  *record.mutable_recorded_at() = now_;
  meta_.set_next_outbox_seq(meta_.next_outbox_seq() + 1);
  Put(Cf::kOutbox, OutboxKey(partition_, record.seq()), Serialize(record));
  result_.outbox.push_back(std::move(record));
}

void BatchBuilder::AddDeadLetter(v1::DeadLetter dead_letter) {
  // Its text fields quote outside input: kept valid UTF-8 so that the record parses back.
  for (std::string* text : {dead_letter.mutable_reason_code(), dead_letter.mutable_reason(),
                            dead_letter.mutable_source_topic(), dead_letter.mutable_truncated()}) {
    if (!utf8::Valid(*text)) *text = utf8::Escape(*text);
  }
  v1::OutboxRecord record;
  *record.mutable_dead_letter() = std::move(dead_letter);
  AddOutbox(std::move(record));
}

EventOutcome BatchBuilder::Reject(const std::string& initiative_id, std::string reason_code,
                                  std::string reason, const std::string& source_topic,
                                  std::int64_t source_offset, v1::DeadLetter dead_letter) {
  dead_letter.set_reason_code(reason_code);
  dead_letter.set_reason(reason);
  dead_letter.set_source_topic(source_topic);
  dead_letter.set_source_partition(static_cast<std::int32_t>(partition_));
  dead_letter.set_source_offset(source_offset);
  *dead_letter.mutable_recorded_at() = now_;
  AddDeadLetter(std::move(dead_letter));

  meta_.set_events_rejected(meta_.events_rejected() + 1);
  ++result_.rejected;
  EventOutcome outcome;
  outcome.status = EventOutcome::Status::kRejected;
  outcome.initiative_id = initiative_id;
  outcome.reason_code = std::move(reason_code);
  outcome.reason = std::move(reason);
  result_.events.push_back(outcome);
  return outcome;
}

Result<bool> BatchBuilder::SameContent(const std::string& dedupe_key, const v1::DedupeEntry& first,
                                       const v1::ValueChainEvent& event) {
  const std::string bytes = event.SerializeAsString();
  if (auto it = staged_content_.find(dedupe_key); it != staged_content_.end()) {
    return it->second == bytes;
  }
  auto stored = db_.GetProto<v1::StoredEvent>(
      Cf::kEvents, EventKey(partition_, first.initiative_id(), first.revision()));
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) {
    return Fail(ErrorCode::kCorruption, "dedupe entry " + Printable(dedupe_key) +
                                            " points at a missing event in " + db_.path());
  }
  return (*stored)->value_chain().SerializeAsString() == bytes;
}

void BatchBuilder::PutOffset(const std::string& topic, std::int64_t offset) {
  Put(Cf::kOffsets, OffsetKey(partition_, topic), EncodeOffset(offset));
}

void BatchBuilder::DeleteTimerKey(std::string_view key) { Delete(Cf::kTimers, key); }

Result<std::optional<EventOutcome>> BatchBuilder::Dedupe(Candidate& candidate,
                                                         const std::string& dedupe_key) {
  const bool is_timer = !candidate.fired_timer_key.empty();
  // Against this batch first, then the database.
  std::optional<v1::DedupeEntry> first;
  if (auto it = dedupe_.find(dedupe_key); it != dedupe_.end()) {
    first = it->second;
  } else {
    auto stored = db_.GetProto<v1::DedupeEntry>(Cf::kDedupe, dedupe_key);
    if (!stored) return std::unexpected(stored.error());
    first = std::move(*stored);
  }
  if (!first) return std::nullopt;
  if (!is_timer) {
    // The same (source, id) must mean the same event: a different one is a producer's bug that
    // a silent drop would hide. Byte-identical repeats (redeliveries, replays) stay duplicates.
    auto same = SameContent(dedupe_key, *first, candidate.event.value_chain());
    if (!same) return std::unexpected(same.error());
    if (!*same) {
      return Reject(candidate.initiative_id,
                    std::string(base::EnumName(v1::DEAD_LETTER_REASON_ID_CONFLICT)),
                    "source '" + utf8::Quote(candidate.dedupe_source) + "' id '" +
                        utf8::Quote(candidate.dedupe_id) + "' was appended before (initiative '" +
                        utf8::Quote(first->initiative_id()) + "', revision " +
                        std::to_string(first->revision()) + ") with different content",
                    candidate.event.source_topic(), candidate.event.source_offset(),
                    std::move(candidate.dead_letter));
    }
  }
  meta_.set_duplicates_skipped(meta_.duplicates_skipped() + 1);
  ++result_.duplicates;
  EventOutcome outcome;
  outcome.status = EventOutcome::Status::kDuplicate;
  outcome.initiative_id = first->initiative_id();
  outcome.revision = first->revision();
  result_.events.push_back(outcome);
  return outcome;
}

EventOutcome BatchBuilder::StageEvent(v1::StoredEvent& event, const Projection& projection,
                                      const std::string& dedupe_key, bool is_timer) {
  const std::string& id = projection.state.initiative_id();
  const bool ignored = projection.disposition == Projection::Disposition::kIgnored;
  EventOutcome outcome;
  outcome.status = ignored ? EventOutcome::Status::kIgnored : EventOutcome::Status::kAppended;
  outcome.initiative_id = id;
  outcome.revision = event.revision();
  if (ignored) {
    event.set_disposition(v1::DISPOSITION_IGNORED);
    event.set_note(projection.reason_code + ": " + projection.reason);
    outcome.reason_code = projection.reason_code;
    outcome.reason = projection.reason;
    ++result_.ignored;
  } else {
    event.set_disposition(v1::DISPOSITION_APPLIED);
    ++result_.appended;
  }
  Put(Cf::kEvents, EventKey(partition_, id, event.revision()), Serialize(event));
  if (!is_timer) staged_content_.emplace(dedupe_key, event.value_chain().SerializeAsString());
  v1::DedupeEntry entry;
  entry.set_initiative_id(id);
  entry.set_revision(event.revision());
  Put(Cf::kDedupe, dedupe_key, Serialize(entry));
  dedupe_.emplace(dedupe_key, std::move(entry));
  if (is_timer) {
    meta_.set_timers_fired(meta_.timers_fired() + 1);
  } else {
    meta_.set_events_appended(meta_.events_appended() + 1);
  }
  return outcome;
}

void BatchBuilder::Reindex(const v1::Initiative* before, const v1::Initiative& after,
                           const std::string& fired_timer_key, EventOutcome& outcome) {
  const std::set<std::string> old_keys =
      before != nullptr ? TimerKeys(partition_, *before) : std::set<std::string>();
  const std::set<std::string> new_keys = TimerKeys(partition_, after);
  for (const auto& key : old_keys) {
    if (!new_keys.contains(key)) Delete(Cf::kTimers, key);
  }
  for (const auto& key : new_keys) {
    if (!old_keys.contains(key)) Put(Cf::kTimers, key, {});
  }
  if (!fired_timer_key.empty() && new_keys.contains(fired_timer_key)) {
    Delete(Cf::kTimers, fired_timer_key);  // after the Put above, if any: it wins
    outcome.reason_code = std::string(kTimerNotCleared);
    outcome.reason = "the projector kept the fired timer; its index key was dropped";
  }
}

Result<EventOutcome> BatchBuilder::Fold(Candidate candidate) {
  const std::string& id = candidate.initiative_id;
  const bool is_timer = !candidate.fired_timer_key.empty();
  // A fired timer leaves the index whatever happens next, so that it cannot fire in a loop.
  if (is_timer) Delete(Cf::kTimers, candidate.fired_timer_key);

  // 1. Dedupe: a duplicate, or an id conflict, ends here.
  const std::string dedupe_key =
      DedupeKey(partition_, candidate.dedupe_source, candidate.dedupe_id);
  auto duplicate = Dedupe(candidate, dedupe_key);
  if (!duplicate) return std::unexpected(duplicate.error());
  if (*duplicate) return std::move(**duplicate);

  // 2. Fold through the projector, on top of the events staged so far.
  auto current = Current(id);
  if (!current) return std::unexpected(current.error());
  const v1::Initiative* before = *current;
  v1::StoredEvent& stored = candidate.event;
  stored.set_revision((before != nullptr ? before->revision() : 0) + 1);
  stored.set_partition(partition_);
  *stored.mutable_recorded_at() = now_;
  Projection projection = projector_.Project(before, stored);

  if (projection.disposition == Projection::Disposition::kRejected) {
    return Reject(id, std::move(projection.reason_code), std::move(projection.reason),
                  stored.source_topic(), stored.source_offset(), std::move(candidate.dead_letter));
  }
  if (projection.state.revision() != stored.revision()) {
    Fatal("projector returned revision " + std::to_string(projection.state.revision()) +
          " for event revision " + std::to_string(stored.revision()) + " of initiative " + id +
          " (partition " + std::to_string(partition_) + ")");
  }
  if (projection.state.initiative_id() != id) {
    Fatal("projector returned initiative '" + projection.state.initiative_id() +
          "' for an event of initiative '" + id + "'");
  }

  // 3. Stage the event and its dedupe entry; 4. re-index the timers: drop what the fold
  // removed, add what it scheduled.
  EventOutcome outcome = StageEvent(stored, projection, dedupe_key, is_timer);
  Reindex(before, projection.state, candidate.fired_timer_key, outcome);

  // 5. The projection (written once per initiative at Commit) and the outputs.
  Cached& cached = projections_[id];
  cached.state = std::move(projection.state);
  cached.dirty = true;
  for (v1::Output& output : projection.outputs) {
    v1::OutboxRecord record;
    *record.mutable_output() = std::move(output);
    AddOutbox(std::move(record));
  }
  result_.events.push_back(outcome);
  return outcome;
}

void BatchBuilder::StageIndex(const std::string& id, const v1::Initiative& state,
                              std::map<std::string, std::int64_t>& count_changes) {
  static const IndexEntries kNone;
  auto it = index_before_.find(id);
  const IndexEntries& before = it != index_before_.end() ? it->second : kNone;
  const IndexEntries after = IndexEntriesOf(partition_, state);
  // Both sorted: one merge finds what left and what came.
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && *b < *a)) {
      Delete(Cf::kIndex, *b);
      if (std::string count_key = CountKeyOf(*b); !count_key.empty()) {
        --count_changes[count_key];
      }
      ++b;
    } else if (b == before.end() || *a < *b) {
      Put(Cf::kIndex, *a, {});
      if (std::string count_key = CountKeyOf(*a); !count_key.empty()) {
        ++count_changes[count_key];
      }
      ++a;
    } else {
      ++a;
      ++b;
    }
  }
}

Result<AppendResult> BatchBuilder::Commit(bool sync, std::string_view what) {
  v1::PartitionSummary& summary = *meta_.mutable_summary();
  std::map<std::string, std::int64_t> count_changes;
  for (const auto& [id, cached] : projections_) {
    if (!cached.state) continue;
    Count(summary, *cached.state, +1);
    if (cached.dirty) {
      Put(Cf::kProjections, ProjectionKey(partition_, id), Serialize(*cached.state));
      StageIndex(id, *cached.state, count_changes);
    }
  }
  // The counters the batch moved, each read once (this builder is the partition's only writer).
  for (const auto& [count_key, change] : count_changes) {
    if (change == 0) continue;
    auto count = ReadCount(db_, count_key);
    if (!count) return std::unexpected(count.error());
    const auto updated = static_cast<std::int64_t>(*count) + change;
    if (updated < 0) {
      return Fail(ErrorCode::kCorruption, "index counter " + Printable(count_key) +
                                              " would go below zero in " + db_.path() +
                                              "; run Rebuild");
    }
    if (updated == 0) {
      Delete(Cf::kIndex, count_key);
    } else {
      Put(Cf::kIndex, count_key, EncodeCount(static_cast<std::uint64_t>(updated)));
    }
  }
  Put(Cf::kMeta, MetaKey(partition_), Serialize(meta_));
  if (auto written = db_.Write(batch_, sync, what); !written) {
    return std::unexpected(written.error());
  }
  return std::move(result_);
}

}  // namespace cir::storage::internal
