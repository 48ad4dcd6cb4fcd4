// One WriteBatch being built: the fold-and-write path that Append and FireDueTimers share.
//
// A BatchBuilder takes events one at a time, dedupes them against the database and against the
// events it already took, folds each through the Projector into its initiative's projection (kept
// in a batch-local cache, so later events of the batch see earlier ones), and stages everything the
// fold produced: the stored event, its dedupe entry, the outbox records, the due-time index
// changes. Projections, offsets and the partition's counters are staged at Commit(), which writes
// it all in one atomic RocksDB write. Nothing reaches the database before Commit(); a builder that
// is dropped, or whose Commit() fails, leaves the register as it was.
//
// Internal to cir::storage. Not thread-safe: one builder per call, on the partition's writer.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <rocksdb/write_batch.h>

#include "cir/storage/projector.h"
#include "cir/storage/register.h"
#include "db.h"
#include "index.h"

namespace cir::storage::internal {

// `message` serialized, or empty when it cannot be (a dead letter's value is best effort).
[[nodiscard]] std::string SerializeOrEmpty(const google::protobuf::Message& message);

// Set on the EventOutcome of a fired timer that the projector left in place (a projector bug: the
// register drops the index key anyway so that the timer cannot fire again and again).
inline constexpr std::string_view kTimerNotCleared = "TIMER_NOT_CLEARED";

class BatchBuilder {
 public:
  // `meta` is the partition's bookkeeping before this batch; `now` stamps recorded_at.
  BatchBuilder(const Db& db, std::uint32_t partition, const Projector& projector,
               google::protobuf::Timestamp now, v1::PartitionMeta meta);

  struct Candidate {
    std::string initiative_id;
    // The dedupe identity: CloudEvents (source, id), or (kTimerSource, TimerDedupeId(…)).
    std::string dedupe_source;
    std::string dedupe_id;
    // The payload (value_chain or timer), source_topic and source_offset; Fold fills the rest.
    v1::StoredEvent event;
    // What a dead letter carries (key, value, headers) when the projector rejects the event;
    // Reject adds the reason, the source and the time.
    v1::DeadLetter dead_letter;
    // FireDueTimers only: the due-time index key being fired; it is deleted whatever the outcome.
    std::string fired_timer_key;
  };

  // Dedupes, folds and stages one event. Errors are I/O or corruption reading the database; the
  // builder must then be dropped.
  [[nodiscard]] Result<EventOutcome> Fold(Candidate candidate);

  // Stages a dead letter for a refused event: `dead_letter` holds the original record (key,
  // value, headers); the reason, source topic and offset, partition and time are set here.
  EventOutcome Reject(const std::string& initiative_id, std::string reason_code, std::string reason,
                      const std::string& source_topic, std::int64_t source_offset,
                      v1::DeadLetter dead_letter);

  // Stages a dead letter as is (its seq is assigned here).
  void AddDeadLetter(v1::DeadLetter dead_letter);

  void PutOffset(const std::string& topic, std::int64_t offset);
  void DeleteTimerKey(std::string_view key);

  // The projection of `initiative_id` as of the events staged so far; null when there is none.
  // The pointer stays valid until the next Fold(). kCorruption when the initiative has a stream but
  // no projection (appending would overwrite its events; Rebuild repairs it).
  [[nodiscard]] Result<const v1::Initiative*> Current(const std::string& initiative_id);

  // Writes everything in one batch. On success returns what was staged, and meta() is the
  // partition's bookkeeping after the batch.
  [[nodiscard]] Result<AppendResult> Commit(bool sync, std::string_view what);

  [[nodiscard]] const v1::PartitionMeta& meta() const { return meta_; }

  // Nothing staged yet (an empty timer tick): Commit would write only the unchanged meta.
  [[nodiscard]] bool empty() const { return batch_.Count() == 0; }

  // The smallest entry of each sort field's index the batch puts (see LiveFloors::SortedPut).
  [[nodiscard]] const std::array<std::optional<std::string>, 3>& lowest_sorted_put() const {
    return lowest_sorted_put_;
  }

  // The smallest due-time index key the batch puts, if any (see LiveFloors::TimerPut).
  [[nodiscard]] const std::optional<std::string>& lowest_timer_put() const {
    return lowest_timer_put_;
  }

 private:
  struct Cached {
    std::optional<v1::Initiative> state;
    bool dirty = false;
  };

  void AddOutbox(v1::OutboxRecord record);
  // Whether `event` equals the event that `first` (found under `dedupe_key`) points at, staged in
  // this batch or stored. kCorruption when the stored event is missing.
  [[nodiscard]] Result<bool> SameContent(const std::string& dedupe_key,
                                         const v1::DedupeEntry& first,
                                         const v1::ValueChainEvent& event);
  // Fold's steps. A duplicate (counted, its outcome recorded) or an id conflict (rejected);
  // nullopt for an event not seen before.
  [[nodiscard]] Result<std::optional<EventOutcome>> Dedupe(Candidate& candidate,
                                                           const std::string& dedupe_key);
  // Puts the event (with its disposition) and its dedupe entry; counts it.
  EventOutcome StageEvent(v1::StoredEvent& event, const Projection& projection,
                          const std::string& dedupe_key, bool is_timer);
  // The due-time index from `before`'s timers to `after`'s; a fired timer the fold kept is
  // dropped anyway and noted in `outcome`.
  void Reindex(const v1::Initiative* before, const v1::Initiative& after,
               const std::string& fired_timer_key, EventOutcome& outcome);
  // The index changes from the projection `id` had before the batch to `state`; the counters'
  // changes are added to `count_changes`.
  void StageIndex(const std::string& id, const v1::Initiative& state,
                  std::map<std::string, std::int64_t>& count_changes);
  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);

  const Db& db_;
  const std::uint32_t partition_;
  const Projector& projector_;
  const google::protobuf::Timestamp now_;
  v1::PartitionMeta meta_;
  rocksdb::WriteBatch batch_;
  std::unordered_map<std::string, Cached> projections_;
  // Each loaded projection's index entries as stored (see StageIndex).
  std::unordered_map<std::string, IndexEntries> index_before_;
  std::unordered_map<std::string, v1::DedupeEntry> dedupe_;      // dedupe key -> staged entry
  std::unordered_map<std::string, std::string> staged_content_;  // dedupe key -> event bytes
  std::optional<std::string> lowest_timer_put_;
  std::array<std::optional<std::string>, 3> lowest_sorted_put_;
  AppendResult result_;
};

// A broken invariant: prints `message` and aborts.
[[noreturn]] void Fatal(const std::string& message);

}  // namespace cir::storage::internal
