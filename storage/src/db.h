// The RocksDB handle behind the register: opening with the chosen options, one handle per column
// family, and the conversion of rocksdb::Status and protobuf parse failures into cir::Error.
//
// Internal to cir::storage. Tests include it to open the raw database (for instance to corrupt a
// key on purpose); nothing outside storage/ and tests/storage may.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "cir/base/error.h"
#include "cir/base/thread_annotations.h"
#include "cir/storage/register.h"
#include "keys.h"

namespace cir::storage::internal {

// "<context>: <rocksdb message>" with the matching ErrorCode; a full or read-only disk is
// kUnavailable (the write may succeed later), see IsDiskStall.
[[nodiscard]] Error FromStatus(const rocksdb::Status& status, std::string_view context);

// Follows RocksDB's background-error state through its EventListener callbacks (health.h).
// Thread-safety: any thread.
class HealthTracker;

class Db {
 public:
  // Opens (creating when allowed) the database and every column family of keys.h. Column families
  // the database has but keys.h does not know (a newer version's) are opened and left alone.
  [[nodiscard]] static Result<std::unique_ptr<Db>> Open(const Options& options);

  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  // Flushes nothing on purpose (the WAL holds every write); closes the handles and the database.
  ~Db();

  [[nodiscard]] rocksdb::DB* raw() const { return db_; }
  [[nodiscard]] rocksdb::ColumnFamilyHandle* cf(Cf cf) const {
    return handles_[static_cast<std::size_t>(cf)];
  }
  [[nodiscard]] const std::string& path() const { return path_; }

  // The value at `key`, nullopt when absent.
  [[nodiscard]] Result<std::optional<std::string>> Get(Cf cf, std::string_view key) const;

  // The message at `key`, nullopt when absent; kCorruption naming the key when it does not parse.
  template <class M>
  [[nodiscard]] Result<std::optional<M>> GetProto(Cf cf, std::string_view key) const {
    auto raw = Get(cf, key);
    if (!raw) return std::unexpected(raw.error());
    if (!raw->has_value()) return std::optional<M>();
    auto parsed = Parse<M>(cf, key, **raw);
    if (!parsed) return std::unexpected(parsed.error());
    return std::optional<M>(std::move(*parsed));
  }

  template <class M>
  [[nodiscard]] static Result<M> Parse(Cf cf, std::string_view key, std::string_view bytes) {
    M message;
    if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return Fail(ErrorCode::kCorruption, std::string("unparsable ") + M::descriptor()->name() +
                                              " in column family " + std::string(CfName(cf)) +
                                              " at key " + Printable(key));
    }
    return message;
  }

  // Applies `batch` atomically. WAL always on; `sync` fsyncs it before returning. A failure for
  // lack of space or a read-only disk is kUnavailable and marks the register stalled (Health).
  [[nodiscard]] Result<void> Write(rocksdb::WriteBatch& batch, bool sync,
                                   std::string_view what) const;
  // fsyncs the WAL: every Write before it is durable once it returns. Nothing to do (and no
  // fsync) when every Write since the last sync was synced already. Failures as Write's.
  [[nodiscard]] Result<void> SyncWal(std::string_view what) const;
  // Successful Write calls since Open, and the WAL fsyncs (synced Writes and SyncWal calls).
  [[nodiscard]] std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t synced_writes() const {
    return synced_writes_.load(std::memory_order_relaxed);
  }
  // What the successful Writes carried: key writes (puts, deletes, range deletes) per column
  // family, and the bytes of their WAL records (WriteBatch::GetDataSize, before RocksDB's framing).
  [[nodiscard]] std::array<std::uint64_t, static_cast<std::size_t>(Cf::kCount)> key_writes() const;
  // Zeroes the write figures above (Register::Open, after the writes opening made).
  void ResetWriteFigures();
  [[nodiscard]] std::uint64_t wal_bytes() const {
    return wal_bytes_.load(std::memory_order_relaxed);
  }

  // See Register::Health and Register::Resume.
  [[nodiscard]] WriteHealth Health() const;
  [[nodiscard]] Result<void> Resume() const;

 private:
  Db() = default;

  std::string path_;
  rocksdb::DB* db_ = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, static_cast<std::size_t>(Cf::kCount)> handles_{};
  std::vector<rocksdb::ColumnFamilyHandle*> foreign_handles_;  // CFs keys.h does not know
  std::shared_ptr<HealthTracker> health_;  // also in the DB's listeners
  mutable std::atomic<std::uint64_t> writes_{0};
  mutable std::atomic<std::uint64_t> synced_writes_{0};
  mutable std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Cf::kCount)>
      key_writes_{};
  mutable std::atomic<std::uint64_t> wal_bytes_{0};
  mutable std::atomic<bool> unsynced_{false};  // a Write without `sync` since the last fsync
  // One SyncWal at a time: a second caller must not return before the first one's fsync.
  mutable Mutex sync_mu_;
};

// Iterates the keys of one column family in [lower, upper) (upper nullopt: to the end).
class Scan {
 public:
  Scan(const Db& db, Cf cf, std::string lower, std::optional<std::string> upper);
  // All keys that start with `prefix`.
  static Scan Prefix(const Db& db, Cf cf, std::string prefix);

  [[nodiscard]] bool Valid() const { return it_->Valid(); }
  void Next() { it_->Next(); }
  [[nodiscard]] std::string_view key() const {
    return {it_->key().data(), it_->key().size()};
  }
  [[nodiscard]] std::string_view value() const {
    return {it_->value().data(), it_->value().size()};
  }
  // Call when Valid() turns false: an I/O error ended the scan early.
  [[nodiscard]] Result<void> status() const;

 private:
  Cf cf_;
  std::unique_ptr<std::string> upper_;  // stable address: ReadOptions keeps a Slice of it
  std::unique_ptr<rocksdb::Slice> upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// The one scan loop of the register: calls `fn(key, value)` for each key of `scan` in order.
// `fn` returns Result<void> (an error stops the walk) or Result<bool> (false also stops it, with
// success). Returns fn's first error, else the scan's status (an I/O error ending it early).
template <class Fn>
[[nodiscard]] Result<void> ForEach(Scan scan, Fn&& fn) {
  for (; scan.Valid(); scan.Next()) {
    auto ok = fn(scan.key(), scan.value());
    if (!ok) return std::unexpected(ok.error());
    if constexpr (std::is_same_v<decltype(ok), Result<bool>>) {
      if (!*ok) return {};
    }
  }
  return scan.status();
}

// ForEach over a whole column family.
template <class Fn>
[[nodiscard]] Result<void> ForEach(const Db& db, Cf cf, Fn&& fn) {
  return ForEach(Scan(db, cf, std::string(), std::nullopt), std::forward<Fn>(fn));
}

// Every value of `scan`, parsed as M (kCorruption naming the first key that does not parse).
template <class M>
[[nodiscard]] Result<std::vector<M>> ParseAll(Scan scan, Cf cf) {
  std::vector<M> out;
  auto ok = ForEach(std::move(scan), [&](std::string_view key, std::string_view value) {
    auto message = Db::Parse<M>(cf, key, value);
    if (!message) return Result<void>(std::unexpected(message.error()));
    out.push_back(std::move(*message));
    return Result<void>();
  });
  if (!ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace cir::storage::internal
