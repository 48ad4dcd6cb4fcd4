// The register on RocksDB: Open, Append, FireDueTimers and the reads. The fold-and-write path is
// in batch.cc, firing timers in timers.cc, Verify and Rebuild in verify.cc, the key layout in
// keys.cc.
#include "cir/storage/register.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

#include "batch.h"
#include "cir/base/enum_name.h"
#include "cir/base/log.h"
#include "cir/base/thread_annotations.h"
#include "cir/base/utf8.h"
#include "db.h"
#include "figures.h"
#include "floors.h"
#include "index.h"
#include "keys.h"
#include "repair.h"
#include "summary.h"
#include "timers.h"
#include "verify.h"

namespace cir::storage {
namespace {

using internal::BatchBuilder;
using internal::Cf;
using internal::Db;
using internal::Scan;

class SystemClockImpl final : public Clock {
 public:
  [[nodiscard]] google::protobuf::Timestamp Now() const override {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
    google::protobuf::Timestamp ts;
    ts.set_seconds(nanos / 1'000'000'000);
    ts.set_nanos(static_cast<std::int32_t>(nanos % 1'000'000'000));
    return ts;
  }
};

// Why an inbound event cannot be keyed; empty when it can.
std::string KeyProblem(const v1::ValueChainEvent& event) {
  if (event.id().empty()) return "the event id is empty";
  if (event.source().empty()) return "the event source is empty";
  if (event.initiative_id().empty()) return "the initiative id is empty";
  if (internal::HasNul(event.id())) return "the event id contains a NUL byte";
  if (internal::HasNul(event.source())) return "the event source contains a NUL byte";
  if (internal::HasNul(event.initiative_id())) return "the initiative id contains a NUL byte";
  // What is stored must parse back (proto3 strings are UTF-8); Validate already checks this, but
  // the register does not trust its callers with its own readability.
  if (auto ok = utf8::CheckMessage(event); !ok) return ok.error().message;
  return {};
}

Result<void> CheckId(const std::string& initiative_id) {
  if (internal::HasNul(initiative_id)) {
    return Fail(ErrorCode::kInvalidArgument, "initiative id contains a NUL byte");
  }
  return {};
}

class RocksRegister final : public Register {
 public:
  RocksRegister(std::unique_ptr<Db> db, const Options& options)
      : db_(std::move(db)),
        sync_(options.sync),
        clock_(options.clock != nullptr ? options.clock : &SystemClock()) {}

  Result<AppendResult> Append(const AppendRequest& request, const Projector& projector) override {
    auto meta = LoadMeta(request.partition);
    if (!meta) return std::unexpected(meta.error());
    BatchBuilder batch(*db_, request.partition, projector, clock_->Now(), std::move(*meta));
    for (const InboundEvent& inbound : request.events) {
      const v1::ValueChainEvent& event = inbound.event;
      // The dead letter keeps the record as it arrived when the caller has it, else the event.
      v1::DeadLetter original;
      if (inbound.original) {
        original = *inbound.original;
      } else {
        original.set_key(event.initiative_id());
        original.set_value(internal::SerializeOrEmpty(event));
      }
      if (std::string problem = KeyProblem(event); !problem.empty()) {
        batch.Reject(event.initiative_id(),
                     std::string(base::EnumName(v1::DEAD_LETTER_REASON_INVALID_EVENT)),
                     std::move(problem), inbound.source_topic, inbound.source_offset,
                     std::move(original));
        continue;
      }
      BatchBuilder::Candidate candidate;
      candidate.initiative_id = event.initiative_id();
      candidate.dedupe_source = event.source();
      candidate.dedupe_id = event.id();
      *candidate.event.mutable_value_chain() = event;
      candidate.event.set_source_topic(inbound.source_topic);
      candidate.event.set_source_offset(inbound.source_offset);
      candidate.dead_letter = std::move(original);
      if (auto folded = batch.Fold(std::move(candidate)); !folded) {
        return std::unexpected(folded.error());
      }
    }
    for (const v1::DeadLetter& dead_letter : request.dead_letters) batch.AddDeadLetter(dead_letter);
    for (const auto& [topic, offset] : request.offsets) batch.PutOffset(topic, offset);
    return CommitAndCache(request.partition, batch, "appending to partition ");
  }

  Result<AppendResult> FireDueTimers(std::uint32_t partition,
                                     const google::protobuf::Timestamp& now, std::size_t limit,
                                     const Projector& projector) override {
    auto meta = LoadMeta(partition);
    if (!meta) return std::unexpected(meta.error());
    BatchBuilder batch(*db_, partition, projector, clock_->Now(), std::move(*meta));
    const internal::LiveFloors::Floor floor = floors_.Get(partition);
    auto resume = internal::FireDue(*db_, batch, partition, now, limit, floor.timers);
    if (!resume) return std::unexpected(resume.error());
    // Nothing due (an idle tick): nothing to write, and no fsync.
    if (batch.empty()) {
      floors_.RaiseTimers(partition, std::move(*resume), floor.generation);
      return AppendResult();
    }
    return CommitAndCache(partition, batch, "firing timers of partition ", &*resume,
                          floor.generation);
  }

  Result<std::optional<google::protobuf::Timestamp>> NextDue(std::uint32_t partition) override {
    // From the first live key (floors_), not the partition's start: fired and moved timers leave
    // tombstones there that a seek would walk one by one.
    const internal::LiveFloors::Floor floor = floors_.Get(partition);
    Scan scan(*db_, Cf::kTimers, floor.timers,
              internal::PrefixSuccessor(internal::PartitionPrefix(partition)));
    if (!scan.Valid()) {
      if (auto ok = scan.status(); !ok) return std::unexpected(ok.error());
      if (auto end = internal::PrefixSuccessor(internal::PartitionPrefix(partition))) {
        floors_.RaiseTimers(partition, std::move(*end), floor.generation);
      }
      return std::optional<google::protobuf::Timestamp>();
    }
    auto parts = internal::ParseTimerKey(scan.key());
    if (!parts) {
      return Fail(ErrorCode::kCorruption,
                  "malformed due-time index key " + internal::Printable(scan.key()));
    }
    floors_.RaiseTimers(partition, std::string(scan.key()), floor.generation);
    return std::optional(internal::FromMillis(parts->due_ms));
  }

  Result<std::optional<v1::Initiative>> GetInitiative(std::uint32_t partition,
                                                      const std::string& initiative_id) override {
    if (auto ok = CheckId(initiative_id); !ok) return std::unexpected(ok.error());
    return db_->GetProto<v1::Initiative>(Cf::kProjections,
                                         internal::ProjectionKey(partition, initiative_id));
  }

  Result<std::optional<v1::Initiative>> FindInitiative(const std::string& initiative_id) override {
    auto partitions = Partitions();
    if (!partitions) return std::unexpected(partitions.error());
    for (const std::uint32_t partition : *partitions) {
      auto found = GetInitiative(partition, initiative_id);
      if (!found || found->has_value()) return found;
    }
    return std::optional<v1::Initiative>();
  }

  Result<std::vector<v1::StoredEvent>> History(std::uint32_t partition,
                                               const std::string& initiative_id) override {
    if (auto ok = CheckId(initiative_id); !ok) return std::unexpected(ok.error());
    return internal::ParseAll<v1::StoredEvent>(
        Scan::Prefix(*db_, Cf::kEvents, internal::StreamPrefix(partition, initiative_id)),
        Cf::kEvents);
  }

  Result<std::vector<v1::StoredEvent>> FindHistory(const std::string& initiative_id) override {
    auto partitions = Partitions();
    if (!partitions) return std::unexpected(partitions.error());
    for (std::uint32_t partition : *partitions) {
      auto events = History(partition, initiative_id);
      if (!events || !events->empty()) return events;
    }
    return std::vector<v1::StoredEvent>();
  }

  Result<std::vector<std::uint32_t>> Partitions() override {
    std::vector<std::uint32_t> partitions;
    auto scanned =
        ForEach(*db_, Cf::kMeta, [&](std::string_view key, std::string_view) -> Result<void> {
          if (auto partition = internal::ParsePartition(key)) partitions.push_back(*partition);
          return {};
        });
    if (!scanned) return std::unexpected(scanned.error());
    return partitions;
  }

  Result<std::optional<std::int64_t>> Offset(std::uint32_t partition,
                                             const std::string& topic) override {
    const std::string key = internal::OffsetKey(partition, topic);
    auto raw = db_->Get(Cf::kOffsets, key);
    if (!raw) return std::unexpected(raw.error());
    if (!raw->has_value()) return std::optional<std::int64_t>();
    auto offset = internal::DecodeOffset(**raw);
    if (!offset) {
      return Fail(ErrorCode::kCorruption, "malformed offset at key " + internal::Printable(key));
    }
    return std::optional(*offset);
  }

  Result<std::vector<v1::OutboxRecord>> ReadOutbox(std::uint32_t partition, std::uint64_t after_seq,
                                                   std::size_t limit) override {
    std::vector<v1::OutboxRecord> records;
    if (after_seq == std::numeric_limits<std::uint64_t>::max() || limit == 0) return records;
    // From the first live record at the earliest (floors_): acknowledged ones leave tombstones.
    const std::uint64_t floor = floors_.Get(partition).outbox;
    const std::uint64_t from = std::max(after_seq + 1, floor);
    auto scanned = ForEach(Scan(*db_, Cf::kOutbox, internal::OutboxKey(partition, from),
                                internal::PrefixSuccessor(internal::PartitionPrefix(partition))),
                           [&](std::string_view key, std::string_view value) -> Result<bool> {
                             auto record = Db::Parse<v1::OutboxRecord>(Cf::kOutbox, key, value);
                             if (!record) {
                               // Written by an older version with invalid UTF-8 in a string field:
                               // read it repaired (in memory; `circtl repair` rewrites it). Beyond
                               // repair, it comes back with no kind, which the reader parks instead
                               // of stopping on it.
                               v1::OutboxRecord repaired;
                               auto bytes =
                                   internal::SanitizeUtf8(v1::OutboxRecord::descriptor(), value);
                               if (!bytes || !repaired.ParseFromString(*bytes)) {
                                 repaired.Clear();
                                 repaired.set_seq(internal::ParseOutboxKey(key).value_or(0));
                                 repaired.set_partition(partition);
                               }
                               record = std::move(repaired);
                             }
                             records.push_back(std::move(*record));
                             return records.size() < limit;
                           });
    if (!scanned) return std::unexpected(scanned.error());
    // Begun at the floor, the scan found the first live record.
    if (from == floor && !records.empty() && records.front().seq() >= from) {
      floors_.RaiseOutbox(partition, records.front().seq());
    }
    return records;
  }

  Result<void> AckOutbox(std::uint32_t partition, const std::vector<std::uint64_t>& seqs) override {
    if (seqs.empty()) return {};
    // A run of consecutive seqs (the usual case: delivery reports come in order) is one range
    // deletion, not a delete per record: one key write for the run, and a reader after a restart
    // seeks past the run at once instead of walking a tombstone per record. Seqs are never reused,
    // so a run's range holds exactly the records acknowledged. Short runs stay point deletes: a
    // range tombstone costs every read of the memtable a little until it is flushed.
    constexpr std::size_t kRangeFrom = 4;
    std::vector<std::uint64_t> sorted = seqs;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    rocksdb::WriteBatch batch;
    rocksdb::ColumnFamilyHandle* outbox = db_->cf(Cf::kOutbox);
    for (std::size_t i = 0; i < sorted.size();) {
      std::size_t end = i + 1;
      while (end < sorted.size() && sorted[end] == sorted[end - 1] + 1) ++end;
      rocksdb::Status status;
      if (end - i >= kRangeFrom && sorted[end - 1] < std::numeric_limits<std::uint64_t>::max()) {
        status = batch.DeleteRange(outbox, internal::OutboxKey(partition, sorted[i]),
                                   internal::OutboxKey(partition, sorted[end - 1] + 1));
      } else {
        for (std::size_t k = i; k < end && status.ok(); ++k) {
          status = batch.Delete(outbox, internal::OutboxKey(partition, sorted[k]));
        }
      }
      if (!status.ok()) {
        return std::unexpected(internal::FromStatus(status, "acknowledging outbox records"));
      }
      i = end;
    }
    // Never synced: a lost acknowledgement (power loss) only resends outputs with the ids they
    // had, which consumers dedupe; syncing cost an fsync per produce round.
    auto written =
        db_->Write(batch, /*sync=*/false,
                   "acknowledging outbox records of partition " + std::to_string(partition));
    if (written) floors_.OutboxDeleted(partition, seqs);
    return written;
  }

  Result<void> ParkOutbox(std::uint32_t partition, std::uint64_t seq,
                          const std::string& reason) override {
    auto parked = internal::ParkOutboxEntry(*db_, partition, seq, reason, clock_->Now(), sync_);
    if (parked) floors_.OutboxDeleted(partition, {seq});
    return parked;
  }

  Result<std::vector<v1::ParkedRecord>> Parked() override { return internal::ReadParked(*db_); }

  Result<RepairReport> Repair(const Projector& projector) override {
    auto report = internal::RepairDb(*db_, projector, clock_->Now(), sync_);
    floors_.Reset();
    // Even after a failure part-way: what it rewrote must be counted (best effort then).
    auto recounted = Recount();
    if (report && !recounted) return std::unexpected(recounted.error());
    return report;
  }

  Result<VerifyReport> Verify(const Projector& projector) override {
    return internal::VerifyDb(*db_, projector);
  }

  Result<std::uint64_t> Rebuild(const Projector& projector) override {
    auto differed = internal::RebuildDb(*db_, projector, sync_);
    floors_.Reset();
    auto recounted = Recount();  // after a failure part-way too (best effort then)
    if (differed && !recounted) return std::unexpected(recounted.error());
    return differed;
  }

  Result<Stats> GetStats() override { return internal::ReadStats(*db_); }

  Result<void> ScanInitiatives(const std::vector<std::uint32_t>& partitions,
                               const std::function<bool(const v1::Initiative&)>& visit) override {
    bool more = true;
    for (std::uint32_t partition : partitions) {
      if (!more) break;
      if (auto ok = ScanProjections(partition, "", [&](const v1::Initiative& state) {
            more = visit(state);
            return more;
          });
          !ok) {
        return ok;
      }
    }
    return {};
  }

  Result<void> ScanInitiativesAfter(
      std::uint32_t partition, const std::string& after_id,
      const std::function<bool(const v1::Initiative&)>& visit) override {
    return ScanProjections(partition, after_id, visit);
  }

  Result<std::uint64_t> CountIndexed(const std::vector<std::uint32_t>& partitions,
                                     const IndexTerm& term) override {
    std::uint64_t total = 0;
    for (std::uint32_t partition : partitions) {
      auto count = internal::ReadCount(*db_, internal::IndexCountKey(partition, term));
      if (!count) return std::unexpected(count.error());
      total += *count;
    }
    return total;
  }

  Result<void> ScanIndexed(std::uint32_t partition, const IndexTerm& term,
                           const std::string& after_id,
                           const std::function<bool(const v1::Initiative&)>& visit) override {
    if (auto ok = CheckId(after_id); !ok) return ok;
    const std::string prefix = internal::IndexTermPrefix(partition, term);
    std::string from = prefix + after_id;
    if (!after_id.empty()) from.push_back('\0');  // the first id after it
    return VisitIndexed(partition, std::move(from), prefix,
                        [&](std::string_view key, const v1::Initiative& state) -> bool {
                          // Still there after a concurrent write?
                          const auto entries = internal::IndexEntriesOf(partition, state);
                          if (!std::binary_search(entries.begin(), entries.end(), key)) {
                            return true;
                          }
                          return visit(state);
                        });
  }

  Result<void> ScanSorted(
      std::uint32_t partition, IndexField field, const std::string& after_position,
      const std::string& after_id,
      const std::function<bool(const std::string&, const v1::Initiative&)>& visit) override {
    if (auto ok = CheckId(after_id); !ok) return ok;
    if (field != IndexField::kStep && field != IndexField::kUpdatedAt &&
        field != IndexField::kCreatedAt) {
      return Fail(ErrorCode::kInvalidArgument, "only step, updated_at and created_at sort");
    }
    const std::string prefix = internal::IndexFieldPrefix(partition, field);
    std::string from = prefix;
    if (!after_position.empty() || !after_id.empty()) {
      from += after_position + after_id;
      from.push_back('\0');
    }
    // Seek past the tombstones that moved entries left (floors.h); a scan that starts at the
    // floor finds the first live entry, and raises the floor to it.
    const std::size_t slot = *internal::SortSlot(field);
    const internal::LiveFloors::Floor floor = floors_.Get(partition);
    const std::string& lowest = floor.sorted[slot].empty() ? prefix : floor.sorted[slot];
    const bool from_floor = from <= lowest;
    if (from_floor) from = lowest;
    bool first = true;
    return VisitIndexed(partition, std::move(from), prefix,
                        [&](std::string_view key, const v1::Initiative& state) -> bool {
                          if (first && from_floor) {
                            floors_.RaiseSorted(partition, slot, std::string(key),
                                                floor.sorted_generation);
                          }
                          first = false;
                          auto parts = internal::ParseIndexEntry(key, field);
                          const std::string position = SortPosition(field, state);
                          if (!parts || parts->position != position) return true;  // it moved
                          return visit(position, state);
                        });
  }

  Result<Summary> Summarize(const std::vector<std::uint32_t>& partitions) override {
    Summary summary;
    for (std::uint32_t partition : partitions) {
      auto meta = db_->GetProto<v1::PartitionMeta>(Cf::kMeta, internal::MetaKey(partition));
      if (!meta) return std::unexpected(meta.error());
      if (!meta->has_value()) continue;  // nothing appended to it yet
      if ((*meta)->has_summary()) {
        internal::AddTo(summary, (*meta)->summary());
        continue;
      }
      auto counted = internal::CountPartition(*db_, partition);  // not counted at Open yet
      if (!counted) return std::unexpected(counted.error());
      internal::AddTo(summary, *counted);
    }
    return summary;
  }

  Result<OutboxBacklog> Backlog(std::uint32_t partition) override {
    OutboxBacklog backlog;
    const std::uint64_t floor = floors_.Get(partition).outbox;
    auto scanned = ForEach(Scan(*db_, Cf::kOutbox, internal::OutboxKey(partition, floor),
                                internal::PrefixSuccessor(internal::PartitionPrefix(partition))),
                           [&](std::string_view key, std::string_view value) -> Result<void> {
                             if (backlog.entries++ == 0) {
                               if (auto seq = internal::ParseOutboxKey(key)) {
                                 floors_.RaiseOutbox(partition, *seq);
                               }
                               auto record = Db::Parse<v1::OutboxRecord>(Cf::kOutbox, key, value);
                               if (!record) return std::unexpected(record.error());
                               if (record->has_recorded_at())
                                 backlog.oldest_recorded_at = record->recorded_at();
                             }
                             return {};
                           });
    if (!scanned) return std::unexpected(scanned.error());
    return backlog;
  }

  DbFigures Figures() override { return internal::ReadFigures(*db_); }

  Result<void> Sync() override { return db_->SyncWal("syncing the register's WAL"); }

  WriteHealth Health() const override { return db_->Health(); }
  Result<void> Resume() override { return db_->Resume(); }
  Result<DiskSpace> Space() const override { return DiskSpaceOf(db_->path()); }

 private:
  // The index entries from `from` on that start with `prefix`, each with its projection read,
  // until `visit` returns false. An entry whose initiative id cannot be read, or whose projection
  // is gone (a concurrent Rebuild), is skipped.
  Result<void> VisitIndexed(
      std::uint32_t partition, std::string from, const std::string& prefix,
      const std::function<bool(std::string_view key, const v1::Initiative&)>& visit) {
    Scan scan(*db_, Cf::kIndex, std::move(from), internal::PrefixSuccessor(prefix));
    const auto field = static_cast<IndexField>(static_cast<std::uint8_t>(prefix[4]));
    auto ok = ForEach(std::move(scan), [&](std::string_view key, std::string_view) -> Result<bool> {
      auto parts = internal::ParseIndexEntry(key, field);
      if (!parts) return true;
      auto state = db_->GetProto<v1::Initiative>(
          Cf::kProjections, internal::ProjectionKey(partition, parts->initiative_id));
      if (!state) return std::unexpected(state.error());
      if (!*state) return true;
      return visit(key, **state);
    });
    if (!ok) return std::unexpected(ok.error());
    return {};
  }

  // `partition`'s projections from the first id after `after_id` (all: empty), in id order.
  Result<void> ScanProjections(std::uint32_t partition, const std::string& after_id,
                               const std::function<bool(const v1::Initiative&)>& visit) {
    const std::string prefix = internal::PartitionPrefix(partition);
    // The smallest key after the projection of `after_id`: its key followed by a 0x00.
    std::string from = after_id.empty() ? prefix : internal::ProjectionKey(partition, after_id);
    if (!after_id.empty()) from.push_back('\0');
    Scan scan(*db_, Cf::kProjections, std::move(from), internal::PrefixSuccessor(prefix));
    auto ok = ForEach(std::move(scan),
                      [&](std::string_view key, std::string_view value) -> Result<bool> {
                        auto state = Db::Parse<v1::Initiative>(Cf::kProjections, key, value);
                        if (!state) return std::unexpected(state.error());
                        return visit(*state);
                      });
    if (!ok) return std::unexpected(ok.error());
    return {};
  }

  // After Rebuild or Repair rewrote projections (or metas) outside a batch: every partition's
  // summary counted again, the metas read again from the database, the index built again.
  Result<void> Recount() {
    {
      MutexLock lock(meta_mu_);
      meta_.clear();
    }
    auto counted = internal::RecountSummaries(*db_, sync_, /*only_missing=*/false);
    if (!counted) return std::unexpected(counted.error());
    auto indexed = internal::BuildIndex(*db_, sync_);
    floors_.Reset();  // the index was written outside the batches
    if (!indexed) return std::unexpected(indexed.error());
    return {};
  }

  // The partition's bookkeeping: from memory after the first read (this process is its only
  // writer), else from the database.
  Result<v1::PartitionMeta> LoadMeta(std::uint32_t partition) {
    {
      MutexLock lock(meta_mu_);
      if (auto it = meta_.find(partition); it != meta_.end()) return it->second;
    }
    auto stored = db_->GetProto<v1::PartitionMeta>(Cf::kMeta, internal::MetaKey(partition));
    if (!stored) return std::unexpected(stored.error());
    return stored->value_or(v1::PartitionMeta());
  }

  // `timers_resume` (FireDueTimers): where FireDue's scan stopped, begun at `generation`.
  Result<AppendResult> CommitAndCache(std::uint32_t partition, BatchBuilder& batch,
                                      const std::string& what,
                                      const std::string* timers_resume = nullptr,
                                      std::uint64_t generation = 0) {
    auto result = batch.Commit(sync_, what + std::to_string(partition));
    if (!result) return result;  // the cache keeps the meta as of the last successful write
    // The keys the scan passed are gone now; then the keys the batch put (maybe below them).
    if (timers_resume) floors_.RaiseTimers(partition, *timers_resume, generation);
    if (const auto& lowest = batch.lowest_timer_put()) floors_.TimerPut(partition, *lowest);
    for (std::size_t slot = 0; slot < batch.lowest_sorted_put().size(); ++slot) {
      if (const auto& lowest = batch.lowest_sorted_put()[slot]) {
        floors_.SortedPut(partition, slot, *lowest);
      }
    }
    MutexLock lock(meta_mu_);
    meta_[partition] = batch.meta();
    return result;
  }

  std::unique_ptr<Db> db_;
  const bool sync_;
  const Clock* clock_;
  Mutex meta_mu_;
  std::map<std::uint32_t, v1::PartitionMeta> meta_ GUARDED_BY(meta_mu_);
  internal::LiveFloors floors_;  // where each partition's live outbox and timer keys begin
};

}  // namespace

const Clock& SystemClock() {
  static const SystemClockImpl clock;
  return clock;
}

Result<std::unique_ptr<Register>> Register::Open(const Options& options) {
  auto db = Db::Open(options);
  if (!db) return std::unexpected(db.error());
  // A register written before the partitions' summaries existed: counted once, here.
  auto counted = internal::RecountSummaries(**db, options.sync, /*only_missing=*/true);
  if (!counted) return std::unexpected(counted.error());
  if (*counted > 0) {
    log::Info("partition summaries counted from the projections (a register written before "
              "they existed)",
              {{"path", options.path}, {"partitions", static_cast<std::int64_t>(*counted)}});
  }
  // A register written before the index existed (or whose build did not finish): built once.
  auto built = internal::IndexBuilt(**db);
  if (!built) return std::unexpected(built.error());
  if (!*built) {
    // Synced whatever options.sync says: nothing of it is left for the caller's first Sync.
    std::uint64_t skipped = 0;
    auto indexed = internal::BuildIndex(**db, /*sync=*/true, &skipped);
    if (!indexed) return std::unexpected(indexed.error());
    if (*indexed > 0 || skipped > 0) {
      log::Info("index built from the projections (a register written before it existed)",
                {{"path", options.path},
                 {"initiatives", static_cast<std::int64_t>(*indexed)},
                 {"unparsable_projections_left_out", static_cast<std::int64_t>(skipped)}});
    }
  }
  (*db)->ResetWriteFigures();  // Figures count the writes made through the register
  return std::unique_ptr<Register>(new RocksRegister(std::move(*db), options));
}

}  // namespace cir::storage
