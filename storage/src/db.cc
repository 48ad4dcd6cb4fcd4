// Opening RocksDB for the register: the options, and why each is set (storage/README.md repeats
// the reasoning for operators).
#include "db.h"

#include <algorithm>
#include <set>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

namespace cir::storage::internal {
namespace {

ErrorCode CodeOf(const rocksdb::Status& status) {
  switch (status.code()) {
    case rocksdb::Status::kNotFound: return ErrorCode::kNotFound;
    case rocksdb::Status::kCorruption: return ErrorCode::kCorruption;
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported: return ErrorCode::kInvalidArgument;
    case rocksdb::Status::kIOError: return ErrorCode::kIo;
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kIncomplete: return ErrorCode::kUnavailable;
    default: return ErrorCode::kInternal;
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

Result<std::unique_ptr<Db>> Db::Open(const Options& options) {
  if (options.path.empty()) return Fail(ErrorCode::kInvalidArgument, "register path is empty");
  const std::string context = "opening register at " + options.path;

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
  db_options.keep_log_file_num = 5;
  // Smooth writeback instead of multi-second fsync stalls at flush/compaction end.
  db_options.bytes_per_sync = 1u << 20;
  db_options.wal_bytes_per_sync = 1u << 20;

  // Half of the cache is reserved for index and filter blocks (high priority), so a scan of cold
  // data blocks cannot evict the blocks every lookup needs.
  rocksdb::LRUCacheOptions cache_options;
  cache_options.capacity = options.block_cache_bytes;
  cache_options.high_pri_pool_ratio = 0.5;
  auto cache = rocksdb::NewLRUCache(cache_options);

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

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw);
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

Result<void> Db::Write(rocksdb::WriteBatch& batch, bool sync, std::string_view what) const {
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  write_options.disableWAL = false;
  const rocksdb::Status status = db_->Write(write_options, &batch);
  if (!status.ok()) {
    return std::unexpected(FromStatus(status, std::string(what) + " in " + path_));
  }
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
