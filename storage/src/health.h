// A full or read-only disk, as RocksDB reports it: the statuses that are a pause rather than a
// failure, and the tracker that follows RocksDB's background-error state (Db::Health).
//
// Internal to cir::storage.
#pragma once

#include <atomic>
#include <string>

#include <rocksdb/listener.h>
#include <rocksdb/status.h>

#include "cir/base/thread_annotations.h"
#include "cir/storage/register.h"

namespace cir::storage::internal {

// NO_SPACE, READ_ONLY or IO_ERROR: the WriteHealth::reason of a failed write's status.
[[nodiscard]] v1::WriteStallReason StallReason(const rocksdb::Status& status);

// No space (ENOSPC, or the SstFileManager's limit) or a read-only filesystem: the write may
// succeed later.
[[nodiscard]] bool DiskStall(const rocksdb::Status& status);

// An I/O error on a filesystem that is read-only now is that read-only state, whatever errno
// the failed call saw: after a disk error, ext4 with errors=remount-ro fails the calls in flight
// with EIO and only the later ones with EROFS, and since Linux 6.6 statvfs does not show it
// ("emergency_ro"), so `path` (the register's directory) is probed by creating a file in it,
// for up to 500 ms while that fails with another errno. A full disk, or an I/O error on a
// writable filesystem, is returned as it is.
[[nodiscard]] rocksdb::Status OnReadOnlyFilesystem(const rocksdb::Status& status,
                                                   const std::string& path);

// Follows RocksDB's background-error state for Db::Health(). RocksDB calls these from its own
// threads (a flush, the SstFileManager's recovery thread) or from the writer's, without its DB
// mutex held.
class HealthTracker final : public rocksdb::EventListener {
 public:
  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                         rocksdb::Status* error) override {
    // A soft error (a compaction out of space) leaves writes possible: not a stall.
    if (error != nullptr && !error->ok() &&
        error->severity() >= rocksdb::Status::Severity::kHardError) {
      Stall(*error);
    }
  }
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) Clear();
  }

  void Stall(const rocksdb::Status& status) {
    MutexLock lock(mu_);
    if (!health_.stalled) ++health_.stalls;
    health_.stalled = true;
    health_.reason = StallReason(status);
    health_.detail = status.ToString();
    stalled_hint_.store(true, std::memory_order_relaxed);
  }
  void Clear() {
    MutexLock lock(mu_);
    if (health_.stalled) ++health_.recoveries;
    health_.stalled = false;
    health_.reason = v1::WRITE_STALL_REASON_UNSPECIFIED;
    health_.detail.clear();
    stalled_hint_.store(false, std::memory_order_relaxed);
  }
  [[nodiscard]] bool stalled() const { return stalled_hint_.load(std::memory_order_relaxed); }
  [[nodiscard]] WriteHealth Get() const {
    MutexLock lock(mu_);
    return health_;
  }

 private:
  mutable Mutex mu_;
  WriteHealth health_ GUARDED_BY(mu_);
  std::atomic<bool> stalled_hint_{false};  // health_.stalled, read without the lock
};

}  // namespace cir::storage::internal
