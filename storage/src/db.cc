// Opening RocksDB for the register: the options, and why each is set (storage/README.md repeats
// the reasoning for operators).
#include "db.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <set>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>

#include "cir/base/log.h"
#include "health.h"

namespace cir::storage::internal {
namespace {

// RocksDB's info log, sent to cird's log (debug level) instead of a LOG file in the data
// directory: RocksDB 7.8's file logger aborts the process (an assertion in WritableFileWriter)
// when it writes again after a failed write, which on a full disk it does within milliseconds,
// and a LOG would compete for the very space the register needs.
class ForwardingLogger final : public rocksdb::Logger {
 public:
  ForwardingLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || log::Level::kDebug < log::MinLevel()) return;
    char buffer[1024];
    const int n = std::vsnprintf(buffer, sizeof buffer, format, ap);
    if (n < 0) return;
    static constexpr const char* kNames[] = {"debug", "info", "warn", "error", "fatal", "header"};
    const auto index = static_cast<std::size_t>(level);
    log::Debug("rocksdb",
               {{"rocksdb_level", index < std::size(kNames) ? kNames[index] : "?"},
                {"text", std::string_view(buffer, std::min<std::size_t>(static_cast<std::size_t>(n),
                                                                        sizeof buffer - 1))}});
  }
};

ErrorCode CodeOf(const rocksdb::Status& status) {
  if (DiskStall(status)) return ErrorCode::kUnavailable;
  switch (status.code()) {
    case rocksdb::Status::kNotFound:
      return ErrorCode::kNotFound;
    case rocksdb::Status::kCorruption:
      return ErrorCode::kCorruption;
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return ErrorCode::kInvalidArgument;
    case rocksdb::Status::kIOError:
      return ErrorCode::kIo;
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kIncomplete:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

bool Supported(rocksdb::CompressionType type) {
  const auto all = rocksdb::GetSupportedCompressions();
  return std::find(all.begin(), all.end(), type) != all.end();
}

// LZ4 on the upper levels: cheap enough to keep compaction off the critical path while it still
// halves protobuf-heavy blocks. ZSTD on the bottommost level, where ~90% of the data ends up and is
// rarely rewritten, for the better ratio. Debian's librocksdb 7.8.3 is built with both; a build
// without them falls back to Snappy, then to none, rather than refusing to open.
void SetCompression(rocksdb::ColumnFamilyOptions& cf) {
  if (Supported(rocksdb::kLZ4Compression)) {
    cf.compression = rocksdb::kLZ4Compression;
  } else if (Supported(rocksdb::kSnappyCompression)) {
    cf.compression = rocksdb::kSnappyCompression;
  } else {
    cf.compression = rocksdb::kNoCompression;
  }
  cf.bottommost_compression =
      Supported(rocksdb::kZSTD) ? rocksdb::kZSTD : rocksdb::kDisableCompressionOption;
}

rocksdb::ColumnFamilyOptions CfOptions(Cf cf, const Options& options,
                                       const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cfo;
  SetCompression(cfo);
  rocksdb::BlockBasedTableOptions table;
  // One bounded LRU cache for every column family, so block_cache_bytes is the whole read cache;
  // index and filter blocks live in it too (instead of unbounded heap) and are charged to it.
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned index and filters: an SST's index and filter are split into ~4 KiB blocks under a
  // small pinned top level. A whole filter of a large SST (1.2 MB per million keys) is bigger than
  // a shard of the block cache, so it was read from disk and checksummed on every lookup; the
  // bench spent a third of its time there before this.
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.format_version = 5;
  // Bloom filters (10 bits/key, ~1% false positives) where the hot path does point lookups of keys
  // that are often absent: a dedupe check of a new event, the projection of a new initiative.
  // Events, outbox and timers are read by range scans, where whole-key filters do not help.
  if (cf == Cf::kProjections || cf == Cf::kDedupe) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
    table.whole_key_filtering = true;
  }
  // A dedupe lookup almost always misses (the event is new); a bloom filter over the memtable
  // answers that without walking the skiplist (~2% of the memtable size).
  if (cf == Cf::kDedupe) {
    cfo.memtable_whole_key_filtering = true;
    cfo.memtable_prefix_bloom_size_ratio = 0.02;
  }
  cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The large column families get the configured memtable; the bookkeeping ones (a key or a few
  // per partition) a small one. db_write_buffer_size below bounds the sum.
  const bool small = cf == Cf::kDefault || cf == Cf::kOffsets || cf == Cf::kMeta;
  cfo.write_buffer_size = small ? std::min<std::size_t>(options.write_buffer_bytes, 4u << 20)
                                : options.write_buffer_bytes;
  cfo.max_write_buffer_number = 3;
  return cfo;
}

}  // namespace

Error FromStatus(const rocksdb::Status& status, std::string_view context) {
  return Error{CodeOf(status), std::string(context) + ": " + status.ToString()};
}

namespace {

// The database-wide options: durability, resources, and the full-disk pause (`health` follows it).
Result<rocksdb::DBOptions> MakeDbOptions(const Options& options,
                                         const std::shared_ptr<HealthTracker>& health,
                                         const std::string& context) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  // The WAL is always on (WriteOptions::disableWAL is never set): it is what makes a batch survive
  // a process crash. Recover up to the last intact record: a torn tail after a crash is expected,
  // anything corrupt before it fails the open instead of silently dropping data.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Bounded file handles: a register lives for years and its SST count grows with it.
  db_options.max_open_files = 1024;
  // Two cores is the design target; flushes and compactions share them.
  db_options.max_background_jobs = 2;
  // All memtables together; beyond this the largest one is flushed.
  db_options.db_write_buffer_size = options.write_buffer_bytes * 4;
  // Old WAL files pin memory of rarely written column families; cap them so those get flushed.
  db_options.max_total_wal_size = options.write_buffer_bytes * 8;
  // Smooth writeback instead of multi-second fsync stalls at flush/compaction end.
  db_options.bytes_per_sync = 1u << 20;
  db_options.wal_bytes_per_sync = 1u << 20;
  // A full disk is a pause: a write that fails with ENOSPC stops RocksDB's writes (a "hard"
  // background error) and the SstFileManager polls the free space every 5 s; once there is a
  // memtable's worth (write_buffer_bytes) it resumes the database by itself (flushes the
  // memtables, starts a new WAL). The tracker follows that state for Health(), and
  // Register::Resume is the manual way out. A write that failed with EIO (a disk error, before
  // the filesystem turned read-only) is a fatal error to RocksDB that Resume does not clear:
  // only a reopen does (cird exits on it once the probe finds the disk writable again).
  db_options.info_log = std::make_shared<ForwardingLogger>();
  db_options.listeners.push_back(health);
  {
    rocksdb::Status sfm_status;
    std::shared_ptr<rocksdb::SstFileManager> sfm(
        rocksdb::NewSstFileManager(rocksdb::Env::Default(), nullptr, "", 0, true, &sfm_status));
    if (!sfm_status.ok()) return std::unexpected(FromStatus(sfm_status, context));
    db_options.sst_file_manager = std::move(sfm);
  }

  return db_options;
}

// One descriptor per column family the register knows, plus any other the directory has (RocksDB
// refuses to open without them all).
std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(
    const Options& options, const std::shared_ptr<rocksdb::Cache>& cache) {
  std::vector<std::string> existing;
  {
    const rocksdb::Status listed =
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), options.path, &existing);
    if (!listed.ok()) existing.clear();  // a new database, or Open below reports the real error
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < kCfNames.size(); ++i) {
    descriptors.emplace_back(std::string(kCfNames[i]),
                             CfOptions(static_cast<Cf>(i), options, cache));
  }
  const std::set<std::string, std::less<>> known(kCfNames.begin(), kCfNames.end());
  for (const auto& name : existing) {
    if (!known.contains(name)) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }

  return descriptors;
}

}  // namespace

Result<std::unique_ptr<Db>> Db::Open(const Options& options) {
  if (options.path.empty()) return Fail(ErrorCode::kInvalidArgument, "register path is empty");
  const std::string context = "opening register at " + options.path;

  auto health = std::make_shared<HealthTracker>();
  auto db_options = MakeDbOptions(options, health, context);
  if (!db_options) return std::unexpected(db_options.error());
  // Half of the cache is reserved for index and filter blocks (high priority), so a scan of cold
  // data blocks cannot evict the blocks every lookup needs.
  rocksdb::LRUCacheOptions cache_options;
  cache_options.capacity = options.block_cache_bytes;
  cache_options.high_pri_pool_ratio = 0.5;
  auto cache = rocksdb::NewLRUCache(cache_options);

  const auto descriptors = Descriptors(options, cache);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(*db_options, options.path, descriptors, &handles, &raw);
  if (!status.ok()) {
    Error error = FromStatus(status, context);
    // RocksDB says InvalidArgument for "does not exist" and IOError for a bad path alike.
    if (error.code == ErrorCode::kInvalidArgument && !options.create_if_missing) {
      error.code = ErrorCode::kNotFound;
    }
    return std::unexpected(std::move(error));
  }
  std::unique_ptr<Db> db(new Db());
  db->path_ = options.path;
  db->db_ = raw;
  db->health_ = std::move(health);
  for (std::size_t i = 0; i < handles.size(); ++i) {
    if (i < db->handles_.size()) {
      db->handles_[i] = handles[i];
    } else {
      db->foreign_handles_.push_back(handles[i]);
    }
  }
  return db;
}

Db::~Db() {
  if (db_ == nullptr) return;
  for (auto* handle : handles_) {
    if (handle != nullptr) (void)db_->DestroyColumnFamilyHandle(handle);
  }
  for (auto* handle : foreign_handles_) (void)db_->DestroyColumnFamilyHandle(handle);
  (void)db_->Close();
  delete db_;
}

Result<std::optional<std::string>> Db::Get(Cf cf, std::string_view key) const {
  std::string value;
  const rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), handles_[static_cast<std::size_t>(cf)],
               rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) {
    return std::unexpected(FromStatus(
        status, "reading " + std::string(CfName(cf)) + " key " + Printable(key) + " in " + path_));
  }
  return std::optional<std::string>(std::move(value));
}

namespace {

// Counts a batch's key writes per column family (Db::key_writes). Walking a batch's records costs
// about what copying it does, next to nothing beside the memtable inserts.
class KeyWriteCounter : public rocksdb::WriteBatch::Handler {
 public:
  using Counts = std::array<std::uint64_t, static_cast<std::size_t>(Cf::kCount)>;
  KeyWriteCounter(
      const std::array<rocksdb::ColumnFamilyHandle*, static_cast<std::size_t>(Cf::kCount)>& handles,
      Counts& counts)
      : handles_(handles), counts_(counts) {}

  rocksdb::Status PutCF(std::uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Count(id);
  }
  rocksdb::Status DeleteCF(std::uint32_t id, const rocksdb::Slice&) override { return Count(id); }
  rocksdb::Status SingleDeleteCF(std::uint32_t id, const rocksdb::Slice&) override {
    return Count(id);
  }
  rocksdb::Status DeleteRangeCF(std::uint32_t id, const rocksdb::Slice&,
                                const rocksdb::Slice&) override {
    return Count(id);
  }
  rocksdb::Status MergeCF(std::uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Count(id);
  }

 private:
  rocksdb::Status Count(std::uint32_t id) {
    for (std::size_t i = 0; i < handles_.size(); ++i) {
      if (handles_[i] != nullptr && handles_[i]->GetID() == id) {
        ++counts_[i];
        break;
      }
    }
    return rocksdb::Status::OK();
  }
  const std::array<rocksdb::ColumnFamilyHandle*, static_cast<std::size_t>(Cf::kCount)>& handles_;
  Counts& counts_;
};

}  // namespace

std::array<std::uint64_t, static_cast<std::size_t>(Cf::kCount)> Db::key_writes() const {
  std::array<std::uint64_t, static_cast<std::size_t>(Cf::kCount)> counts{};
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] = key_writes_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

void Db::ResetWriteFigures() {
  writes_.store(0, std::memory_order_relaxed);
  synced_writes_.store(0, std::memory_order_relaxed);
  wal_bytes_.store(0, std::memory_order_relaxed);
  for (auto& count : key_writes_) count.store(0, std::memory_order_relaxed);
}

Result<void> Db::Write(rocksdb::WriteBatch& batch, bool sync, std::string_view what) const {
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  write_options.disableWAL = false;
  const rocksdb::Status status = OnReadOnlyFilesystem(db_->Write(write_options, &batch), path_);
  if (!status.ok()) {
    // The listener hears of it too (as a background error), unless RocksDB was stopped already;
    // marking it here as well keeps Health() true to the write the caller just saw fail.
    if (DiskStall(status)) health_->Stall(status);
    return std::unexpected(FromStatus(status, std::string(what) + " in " + path_));
  }
  if (health_->stalled()) health_->Clear();  // a write went through: writable again
  writes_.fetch_add(1, std::memory_order_relaxed);
  wal_bytes_.fetch_add(batch.GetDataSize(), std::memory_order_relaxed);
  KeyWriteCounter::Counts counts{};
  KeyWriteCounter counter(handles_, counts);
  if (batch.Iterate(&counter).ok()) {
    for (std::size_t i = 0; i < counts.size(); ++i) {
      if (counts[i] != 0) key_writes_[i].fetch_add(counts[i], std::memory_order_relaxed);
    }
  }
  if (sync) {
    synced_writes_.fetch_add(1, std::memory_order_relaxed);
  } else {
    unsynced_.store(true, std::memory_order_release);
  }
  return {};
}

Result<void> Db::SyncWal(std::string_view what) const {
  // A sync=true Write syncs every record the WAL holds before it too; this flag may then be
  // stale (true), which costs one needless fsync, never a missed one.
  // After a failed write RocksDB 7.8's WAL writer asserts on a sync (WritableFileWriter's
  // AssertFalseAndGetStatusForPrevError): none until writes are possible again.
  if (const WriteHealth health = health_->Get(); health.stalled) {
    return Fail(ErrorCode::kUnavailable,
                std::string(what) + " in " + path_ + ": writes stalled: " + health.detail);
  }
  MutexLock lock(sync_mu_);
  if (!unsynced_.exchange(false, std::memory_order_acq_rel)) return {};
  const rocksdb::Status status = OnReadOnlyFilesystem(db_->SyncWAL(), path_);
  if (!status.ok()) {
    unsynced_.store(true, std::memory_order_release);
    if (DiskStall(status)) health_->Stall(status);
    return std::unexpected(FromStatus(status, std::string(what) + " in " + path_));
  }
  synced_writes_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

WriteHealth Db::Health() const { return health_->Get(); }

Result<void> Db::Resume() const {
  if (!health_->stalled()) return {};
  // Ok at once when RocksDB has no background error (it recovered by itself meanwhile); Busy
  // while its own recovery is under way; otherwise it flushes the memtables, which fails again
  // while the disk is still full.
  const rocksdb::Status status = OnReadOnlyFilesystem(db_->Resume(), path_);
  if (!status.ok()) {
    Error error = FromStatus(status, "resuming writes to the register in " + path_);
    if (status.IsBusy()) error.code = ErrorCode::kUnavailable;
    return std::unexpected(std::move(error));
  }
  health_->Clear();
  return {};
}

Scan::Scan(const Db& db, Cf cf, std::string lower, std::optional<std::string> upper) : cf_(cf) {
  rocksdb::ReadOptions read_options;
  if (upper) {
    upper_ = std::make_unique<std::string>(std::move(*upper));
    upper_slice_ = std::make_unique<rocksdb::Slice>(*upper_);
    read_options.iterate_upper_bound = upper_slice_.get();
  }
  it_.reset(db.raw()->NewIterator(read_options, db.cf(cf)));
  it_->Seek(lower);
}

Scan Scan::Prefix(const Db& db, Cf cf, std::string prefix) {
  auto upper = PrefixSuccessor(prefix);
  return Scan(db, cf, std::move(prefix), std::move(upper));
}

Result<void> Scan::status() const {
  if (!it_->status().ok()) {
    return std::unexpected(FromStatus(it_->status(), "scanning " + std::string(CfName(cf_))));
  }
  return {};
}

}  // namespace cir::storage::internal
