// The register: cir's durable, event-sourced store on RocksDB.
//
// Every initiative has a stream of StoredEvents (revision 1, 2, …) and a projection folded from it.
// Beside them the register keeps a dedupe index (CloudEvents source + id), the consumer offsets,
// an outbox of records to publish and a due-time index for time-based alerts. All data is keyed by
// partition first, so one partition's data is contiguous and can be dropped or restored alone.
//
// Atomicity: Append() and FireDueTimers() write everything they produce — events, dedupe entries,
// projections, outbox records, timer-index changes and offsets — in a single RocksDB WriteBatch.
// After a crash a batch is there entirely or not at all.
//
// Thread-safety: one writer per partition (cird's ingest thread owns its partitions); reads may
// run concurrently with writes from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/timestamp.pb.h>

#include "cir/base/error.h"
#include "cir/storage/projector.h"
#include "cir/v1/improvement.pb.h"
#include "cir/v1/register.pb.h"
#include "cir/v1/value_chain.pb.h"

namespace cir::storage {

// Where "now" comes from; injected so that tests run in simulated time.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual google::protobuf::Timestamp Now() const = 0;
};

// The system clock.
[[nodiscard]] const Clock& SystemClock();

struct Options {
  std::string path;                 // the RocksDB directory
  bool create_if_missing = true;
  // fsync the WAL on every batch. Off trades the last batches on a power loss (not on a process
  // crash: the WAL is still written) for throughput, or leaves the fsync to the caller's
  // Register::Sync (group commit: cird syncs once per flush).
  bool sync = true;
  std::size_t block_cache_bytes = 64u << 20;
  std::size_t write_buffer_bytes = 32u << 20;
  // Not owned; must outlive the register. Null means SystemClock().
  const Clock* clock = nullptr;
};

// One inbound event to append, with where it came from.
struct InboundEvent {
  v1::ValueChainEvent event;
  std::string source_topic;   // Kafka topic, or "file:<path>" for offline replay
  std::int64_t source_offset = -1;
  // The record as it arrived (key, value, headers), for the dead letter if the projector rejects
  // the event. Absent: the dead letter carries the initiative id and the event's protobuf bytes.
  std::optional<v1::DeadLetter> original;
};

struct AppendRequest {
  std::uint32_t partition = 0;
  std::vector<InboundEvent> events;
  // Records that failed before the model (decode/validation); written to the outbox as is.
  std::vector<v1::DeadLetter> dead_letters;
  // Next offset to consume, per source topic of this partition.
  std::vector<std::pair<std::string, std::int64_t>> offsets;
};

struct EventOutcome {
  enum class Status { kAppended, kIgnored, kDuplicate, kRejected };
  Status status = Status::kAppended;
  std::string initiative_id;
  std::uint64_t revision = 0;  // appended/ignored: its revision; duplicate: the first copy's
  // Ignored/rejected: the projector's code, or the register's own DeadLetterReason (ID_CONFLICT,
  // INVALID_EVENT) by its base::EnumName; "TIMER_NOT_CLEARED" (see FireDueTimers).
  std::string reason_code;
  std::string reason;
};

struct AppendResult {
  // One per AppendRequest::events, in order (for FireDueTimers: one per timer fired).
  std::vector<EventOutcome> events;
  // What this batch put in the outbox, in seq order (outputs and dead letters).
  std::vector<v1::OutboxRecord> outbox;
  std::uint64_t appended = 0;
  std::uint64_t ignored = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t rejected = 0;
};

struct VerifyReport {
  std::uint64_t initiatives = 0;
  std::uint64_t events = 0;
  std::uint64_t outbox_records = 0;
  std::uint64_t timers = 0;
  // Each broken invariant, as a sentence naming the key. Empty means the register is sound.
  std::vector<std::string> problems;
};

// events_appended counts inbound events written to streams (applied or ignored), timers_fired the
// TimerElapsed events written; together they are the number of stored events. events_rejected
// counts events turned into dead letters (by the projector, or unkeyable ids), not the request's
// own dead_letters.
struct Stats {
  std::uint64_t events_appended = 0;
  std::uint64_t duplicates_skipped = 0;
  std::uint64_t events_rejected = 0;
  std::uint64_t timers_fired = 0;
};

// What the projections of some partitions add up to (for metrics and the register's stats).
struct Summary {
  std::uint64_t initiatives = 0;
  std::map<v1::Step, std::uint64_t> by_step;          // current step
  std::map<v1::Outcome, std::uint64_t> by_outcome;    // closed ones
  std::map<v1::AlertKind, std::uint64_t> firing;      // alerts firing now, by kind
  std::uint64_t iterations_beyond_first = 0;          // sum of (iteration - 1)
  // Time spent in each step over every visit of every initiative (StepTime), and the visits.
  std::map<v1::Step, std::int64_t> step_seconds;
  std::map<v1::Step, std::uint64_t> step_visits;
};

// The outbox of one partition: entries not yet acknowledged, and when the oldest was written.
struct OutboxBacklog {
  std::uint64_t entries = 0;
  std::optional<google::protobuf::Timestamp> oldest_recorded_at;
};

// What Register::Repair did.
struct RepairReport {
  std::uint64_t records_rewritten = 0;    // values that did not parse, re-encoded as valid UTF-8
  std::uint64_t outbox_parked = 0;        // outbox records beyond repair, moved aside
  std::uint64_t dedupe_fixed = 0;         // dedupe entries added or dropped to match the streams
  std::uint64_t projections_rebuilt = 0;  // projections that differed after the repair (Rebuild)
  std::vector<std::string> unrepairable;  // each a sentence naming the key
};

// The secondary indexes of the projections, kept in the same write batch as the projections
// (storage/README.md, "Secondary indexes"): a list filtered by one of the filter fields, or sorted
// by step, updated_at or created_at, reads what it returns, not the register.
enum class IndexField : std::uint8_t {
  kStep = 1,       // Initiative.step (a filter, and a sort: step, then id)
  kOutcome = 2,    // Initiative.outcome, when set
  kActivity = 3,   // each of Initiative.activities
  kOwner = 4,      // Initiative.owner, when not empty
  kTag = 5,        // each of Initiative.tags
  kAlertKind = 6,  // each kind among Initiative.firing_alerts
  kUpdatedAt = 7,  // a sort only
  kCreatedAt = 8,  // a sort only
};

// One value of a filter field: `number` for the enum fields (step, outcome, activity, alert kind),
// `text` for owner and tag.
struct IndexTerm {
  IndexField field = IndexField::kStep;
  std::uint32_t number = 0;
  std::string text;
};

// Where `initiative` sorts in the index of `field` (kStep, kUpdatedAt, kCreatedAt): bytes that
// order as the field does; ties are broken by the initiative id.
[[nodiscard]] std::string SortPosition(IndexField field, const v1::Initiative& initiative);

// RocksDB's own figures (from its properties), summed over the column families.
struct DbFigures {
  std::uint64_t live_data_bytes = 0;            // rocksdb.estimate-live-data-size
  std::uint64_t pending_compaction_bytes = 0;   // rocksdb.estimate-pending-compaction-bytes
  std::uint64_t memtable_bytes = 0;             // rocksdb.cur-size-all-mem-tables
  std::uint64_t block_cache_usage_bytes = 0;    // rocksdb.block-cache-usage
  std::uint64_t block_cache_capacity_bytes = 0;
  std::uint64_t sst_files_bytes = 0;            // rocksdb.total-sst-files-size
  // The register's own: write batches applied since Open, and the WAL fsyncs (a synced batch or
  // a Sync that had something to sync).
  std::uint64_t writes = 0;
  std::uint64_t synced_writes = 0;
  // What those writes carried: key writes (puts, deletes, range deletes) by column family name
  // ("events", "dedupe", "projections", …; families with none are left out), and the bytes of
  // their WAL records.
  std::vector<std::pair<std::string, std::uint64_t>> key_writes;
  std::uint64_t wal_bytes = 0;
};

// Whether the register can write, as RocksDB's background-error handler sees it. A write that
// fails for lack of space (ENOSPC) or on a read-only filesystem puts RocksDB into a background
// error state in which every later write fails at once, without touching the disk; it leaves it
// by itself (SstFileManager polls the free space and calls Resume, which flushes the memtables to
// new files and starts a new WAL) or through Register::Resume. A failed write changes nothing:
// what the register holds is exactly what the writes that succeeded put there.
struct WriteHealth {
  bool stalled = false;  // writes fail until recovery
  // When stalled: NO_SPACE, READ_ONLY or IO_ERROR (its text is base::EnumLabel's: "no_space").
  v1::WriteStallReason reason = v1::WRITE_STALL_REASON_UNSPECIFIED;
  std::string detail;            // RocksDB's message
  std::uint64_t stalls = 0;      // times writes stalled since Open
  std::uint64_t recoveries = 0;  // times they became possible again
};

// The data directory's filesystem (statvfs): what the register may still grow into.
struct DiskSpace {
  std::uint64_t size_bytes = 0;
  std::uint64_t free_bytes = 0;  // available to an unprivileged writer (f_bavail)
};

// statvfs of `path`; kIo naming the path when it fails.
[[nodiscard]] Result<DiskSpace> DiskSpaceOf(const std::string& path);

// True when `error` (from Open or a write) says the disk is full or read-only: the caller should
// wait and try again rather than give up.
[[nodiscard]] bool IsDiskStall(const Error& error);

// For an error IsDiskStall accepts: NO_SPACE, READ_ONLY or UNAVAILABLE (as WriteHealth::reason,
// for a register that is not open and so has no Health()).
[[nodiscard]] v1::WriteStallReason DiskStallReason(const Error& error);

class Register {
 public:
  virtual ~Register() = default;

  // Opens (or creates) the register at options.path. Fails with kIo/kCorruption naming the path;
  // on a full or read-only disk with kUnavailable (IsDiskStall is true): try again later.
  [[nodiscard]] static Result<std::unique_ptr<Register>> Open(const Options& options);

  // Appends a poll batch of one partition in one WriteBatch. Per event, in order: a (source, id)
  // already in the dedupe index (or earlier in this batch) is skipped and counted; otherwise the
  // projector folds it into its initiative's projection (earlier events of the batch included)
  // and it is appended, appended-as-ignored, or turned into a dead letter. Outputs and dead
  // letters go to the outbox; timers are re-indexed from the new projections; offsets are set.
  // On a full or read-only disk it fails with kUnavailable (IsDiskStall) and changes nothing:
  // the same request may be appended again once Health() says writes are possible.
  // REQUIRES: the caller is the only writer of request.partition.
  [[nodiscard]] virtual Result<AppendResult> Append(const AppendRequest& request,
                                                    const Projector& projector) = 0;

  // Fires up to `limit` timers of `partition` whose due-time is <= `now`, oldest first: each
  // becomes a TimerElapsed event appended to its initiative through the projector, exactly as
  // Append folds an inbound event, all in one WriteBatch. Its dedupe key is source "cir/timer",
  // id "<initiative>/<kind number>/<kpi>/<due unix ms>@<revision>", so one arming of a due-time
  // fires at most once (a crash-replayed batch gets the same id), while a timer re-armed at the
  // same due-time after its alert resolved fires again. A fired timer leaves the index even if the projector keeps it (its outcome then
  // has reason_code "TIMER_NOT_CLEARED"). Index keys the projection no longer lists are dropped
  // without firing. Due-times have millisecond resolution: never early, at most 1 ms late.
  // Cost grows with the timers due, not with the size of the register. Nothing due (and no
  // stale key to drop): nothing is written, so an idle tick costs no fsync.
  // REQUIRES: the caller is the only writer of `partition`.
  [[nodiscard]] virtual Result<AppendResult> FireDueTimers(std::uint32_t partition,
                                                           const google::protobuf::Timestamp& now,
                                                           std::size_t limit,
                                                           const Projector& projector) = 0;

  // The earliest due-time indexed for `partition`, if any.
  [[nodiscard]] virtual Result<std::optional<google::protobuf::Timestamp>> NextDue(
      std::uint32_t partition) = 0;

  // The projection of an initiative; nullopt when unknown. The partition-less form looks in every
  // partition the register holds.
  [[nodiscard]] virtual Result<std::optional<v1::Initiative>> GetInitiative(
      std::uint32_t partition, const std::string& initiative_id) = 0;
  [[nodiscard]] virtual Result<std::optional<v1::Initiative>> FindInitiative(
      const std::string& initiative_id) = 0;

  // The initiative's stream, revision order. Empty when unknown.
  [[nodiscard]] virtual Result<std::vector<v1::StoredEvent>> History(
      std::uint32_t partition, const std::string& initiative_id) = 0;

  // The initiative's stream from whichever partition holds it (the partition-less form, as
  // FindInitiative). Empty when unknown.
  [[nodiscard]] virtual Result<std::vector<v1::StoredEvent>> FindHistory(
      const std::string& initiative_id) = 0;

  // The partitions that hold any data, ascending.
  [[nodiscard]] virtual Result<std::vector<std::uint32_t>> Partitions() = 0;

  // The next offset to consume of (partition, topic); nullopt when none was stored.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> Offset(std::uint32_t partition,
                                                                   const std::string& topic) = 0;

  // Up to `limit` outbox records of `partition` with seq > after_seq, in seq order. Seqs start at
  // 1 and are never reused, so after_seq = 0 reads from the oldest record not yet acknowledged.
  // A record an older version wrote with invalid UTF-8 is returned repaired (see Repair); one that
  // does not parse at all is returned with only seq and partition set (kind not set): the caller
  // parks it (ParkOutbox) instead of failing on it.
  [[nodiscard]] virtual Result<std::vector<v1::OutboxRecord>> ReadOutbox(
      std::uint32_t partition, std::uint64_t after_seq, std::size_t limit) = 0;

  // Makes every write so far durable: fsyncs the WAL once, however many unsynced writes
  // (Options::sync off) came before it. This is group commit: a caller that appends several
  // batches with Options::sync off and then calls Sync pays one fsync for all of them, and a
  // crash before Sync returns loses at most a suffix of those batches (RocksDB's WAL is one
  // ordered log; RocksDB recovers up to the last whole record). Nothing to sync (no unsynced
  // write since the last fsync): returns at once, without an fsync. On a full or read-only disk
  // it fails with kUnavailable (IsDiskStall) as a write does. Any thread; one at a time (a
  // caller returns only once the writes before its call are synced). Reads see unsynced writes:
  // what the API answers may be lost on a power loss until the next Sync.
  [[nodiscard]] virtual Result<void> Sync() = 0;

  // Deletes delivered outbox records. Deleting an absent seq is not an error. Never fsynced
  // (whatever Options::sync says; the next synced batch makes it durable): after a power loss an
  // acknowledgement may be lost, and the record is sent again with the same id.
  [[nodiscard]] virtual Result<void> AckOutbox(std::uint32_t partition,
                                               const std::vector<std::uint64_t>& seqs) = 0;

  // Moves outbox entry (partition, seq) aside for good (a permanent produce error): it leaves the
  // outbox, so it blocks nothing and is never resent, and is kept in the parked records with
  // `reason`. Absent entries are not an error. REQUIRES: the caller is the only writer of
  // `partition`.
  [[nodiscard]] virtual Result<void> ParkOutbox(std::uint32_t partition, std::uint64_t seq,
                                                const std::string& reason) = 0;

  // Every parked record, partition then seq order. Any thread.
  [[nodiscard]] virtual Result<std::vector<v1::ParkedRecord>> Parked() = 0;

  // Makes a register readable again that holds values protobuf cannot parse (proto3 strings with
  // invalid UTF-8, written by versions before 0.2): re-encodes them with the invalid bytes
  // escaped, parks outbox records beyond that, reindexes the dedupe index from the streams and
  // rebuilds projections and timers. A sound register is left as it is. `circtl repair`.
  // REQUIRES: no other process or thread writes the register.
  [[nodiscard]] virtual Result<RepairReport> Repair(const Projector& projector) = 0;

  // Checks every invariant: revisions contiguous from 1 per stream; every event in the dedupe
  // index and every dedupe entry pointing at its event; every projection equal to a fold of its
  // stream through `projector` (and no projection without a stream); the due-time index equal to
  // the projections' timers; outbox seqs below the partition's next seq.
  [[nodiscard]] virtual Result<VerifyReport> Verify(const Projector& projector) = 0;

  // Recomputes every projection (and the due-time index) from the streams and writes the results.
  // Returns how many projections differed from what was stored before the rewrite.
  [[nodiscard]] virtual Result<std::uint64_t> Rebuild(const Projector& projector) = 0;

  // Counters since the register was created (persisted with the data).
  [[nodiscard]] virtual Result<Stats> GetStats() = 0;

  // Calls `visit` with every projection of `partitions` (partition order, then initiative id
  // order) until it returns false. Any thread, concurrently with writers (a snapshot per
  // partition).
  [[nodiscard]] virtual Result<void> ScanInitiatives(
      const std::vector<std::uint32_t>& partitions,
      const std::function<bool(const v1::Initiative&)>& visit) = 0;

  // Calls `visit` with the projections of `partition` whose initiative id sorts after `after_id`
  // (all of them when it is empty), in id order, until it returns false: a page costs what it
  // reads, not the partition's size. Any thread, concurrently with writers.
  [[nodiscard]] virtual Result<void> ScanInitiativesAfter(
      std::uint32_t partition, const std::string& after_id,
      const std::function<bool(const v1::Initiative&)>& visit) = 0;

  // How many initiatives of `partitions` `term` matches, from the counters the index keeps:
  // O(partitions). Any thread.
  [[nodiscard]] virtual Result<std::uint64_t> CountIndexed(
      const std::vector<std::uint32_t>& partitions, const IndexTerm& term) = 0;

  // Calls `visit` with the projections of `partition` that `term` matches, in id order, from the
  // first id after `after_id` (all when empty), until it returns false: it reads what it visits.
  // A projection changed since the index entry was read (a concurrent writer) and no longer
  // matching is skipped. Any thread, concurrently with writers.
  [[nodiscard]] virtual Result<void> ScanIndexed(
      std::uint32_t partition, const IndexTerm& term, const std::string& after_id,
      const std::function<bool(const v1::Initiative&)>& visit) = 0;

  // Calls `visit(position, projection)` with the projections of `partition` in the order of the
  // index of `field` (kStep, kUpdatedAt or kCreatedAt: by SortPosition, then id), from the first
  // after (`after_position`, `after_id`) (all when both are empty), until it returns false. A
  // projection that moved after the scan began is skipped: the scan's iterator does not see its
  // new entry, so that one read leaves it out (the next one finds it at its new place).
  [[nodiscard]] virtual Result<void> ScanSorted(
      std::uint32_t partition, IndexField field, const std::string& after_position,
      const std::string& after_id,
      const std::function<bool(const std::string& position, const v1::Initiative&)>& visit) = 0;

  // Adds up the projections of `partitions`, from the summary each partition's meta keeps in
  // step with its projections (O(partitions); a partition whose meta has none, because Open
  // could not count it — a projection that does not parse, until Repair — is scanned).
  // Thread-safety: any thread, concurrently with writers (each partition's figures as of one
  // committed batch).
  [[nodiscard]] virtual Result<Summary> Summarize(const std::vector<std::uint32_t>& partitions) = 0;

  // The outbox of `partition` (a scan of its entries: O(backlog)).
  [[nodiscard]] virtual Result<OutboxBacklog> Backlog(std::uint32_t partition) = 0;

  // RocksDB's figures. Any thread.
  [[nodiscard]] virtual DbFigures Figures() = 0;

  // Whether writes are possible now (see WriteHealth). Any thread; no I/O.
  [[nodiscard]] virtual WriteHealth Health() const = 0;

  // Asks RocksDB to leave a background error state now (DB::Resume: flush the memtables, new
  // WAL). Ok when writes are possible afterwards (or were already); kUnavailable while RocksDB's
  // own recovery is under way or the disk is still full. Cheap when there is nothing to resume.
  // Any thread.
  [[nodiscard]] virtual Result<void> Resume() = 0;

  // The data directory's filesystem. Any thread.
  [[nodiscard]] virtual Result<DiskSpace> Space() const = 0;
};

}  // namespace cir::storage
