// A full or read-only disk (health.h), and the public DiskSpaceOf / IsDiskStall / DiskStallReason.
#include "health.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "db.h"

namespace cir::storage {

Result<DiskSpace> DiskSpaceOf(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) {
    return Fail(ErrorCode::kIo, "statvfs " + path + ": " + std::strerror(errno));
  }
  DiskSpace space;
  space.size_bytes = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
  space.free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  return space;
}

bool IsDiskStall(const Error& error) { return error.code == ErrorCode::kUnavailable; }

v1::WriteStallReason DiskStallReason(const Error& error) {
  // The message ends in rocksdb::Status::ToString() (see internal::FromStatus).
  if (error.message.find("No space left on device") != std::string::npos ||
      error.message.find("NoSpace") != std::string::npos ||
      error.message.find("Max allowed space") != std::string::npos) {
    return v1::WRITE_STALL_REASON_NO_SPACE;
  }
  if (error.message.find("Read-only file system") != std::string::npos) {
    return v1::WRITE_STALL_REASON_READ_ONLY;
  }
  return v1::WRITE_STALL_REASON_UNAVAILABLE;
}

}  // namespace cir::storage

namespace cir::storage::internal {
namespace {

bool ReadOnly(const rocksdb::Status& status) {
  return status.IsIOError() && status.ToString().find("Read-only file system") != std::string::npos;
}

}  // namespace

bool DiskStall(const rocksdb::Status& status) {
  return status.IsNoSpace() ||
         (status.IsIOError() && status.subcode() == rocksdb::Status::kSpaceLimit) ||
         ReadOnly(status);
}

namespace {

enum class Writability { kWritable, kReadOnly, kUnknown };

// Whether a file can be made in `dir` now. statvfs alone is not enough: since Linux 6.6 ext4 with
// errors=remount-ro marks itself "emergency_ro" after a disk error without setting SB_RDONLY, so
// statvfs still says read-write while every new write fails with EROFS.
Writability WritabilityOf(const std::string& dir) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0) {
    return Writability::kReadOnly;
  }
  const std::string probe = dir + "/.cir-write-probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
    return Writability::kWritable;
  }
  return errno == EROFS ? Writability::kReadOnly : Writability::kUnknown;
}

}  // namespace

rocksdb::Status OnReadOnlyFilesystem(const rocksdb::Status& status, const std::string& path) {
  if (!status.IsIOError() || DiskStall(status)) return status;
  // The calls in flight when ext4 aborts its journal fail with EIO; it turns read-only a few
  // milliseconds later. Only a failed write waits here, for at most kSettle.
  constexpr auto kSettle = std::chrono::milliseconds(500);
  constexpr auto kPoll = std::chrono::milliseconds(10);
  const auto deadline = std::chrono::steady_clock::now() + kSettle;
  for (;;) {
    switch (WritabilityOf(path)) {
      case Writability::kReadOnly:
        return rocksdb::Status::IOError("Read-only file system", status.ToString());
      case Writability::kWritable:
        return status;
      case Writability::kUnknown:
        break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return status;
    std::this_thread::sleep_for(kPoll);
  }
}

v1::WriteStallReason StallReason(const rocksdb::Status& status) {
  if (status.IsNoSpace() ||
      (status.IsIOError() && status.subcode() == rocksdb::Status::kSpaceLimit))
    return v1::WRITE_STALL_REASON_NO_SPACE;
  if (ReadOnly(status)) return v1::WRITE_STALL_REASON_READ_ONLY;
  return v1::WRITE_STALL_REASON_IO_ERROR;
}

}  // namespace cir::storage::internal
