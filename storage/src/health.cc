// A full or read-only disk (health.h), and the public DiskSpaceOf / IsDiskStall / DiskStallReason.
#include "health.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

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

std::string DiskStallReason(const Error& error) {
  // The message ends in rocksdb::Status::ToString() (see internal::FromStatus).
  if (error.message.find("No space left on device") != std::string::npos ||
      error.message.find("NoSpace") != std::string::npos ||
      error.message.find("Max allowed space") != std::string::npos) {
    return "no_space";
  }
  if (error.message.find("Read-only file system") != std::string::npos) return "read_only";
  return "unavailable";
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

rocksdb::Status OnReadOnlyFilesystem(const rocksdb::Status& status, const std::string& path) {
  struct statvfs st {};
  if (!status.IsIOError() || ReadOnly(status) || statvfs(path.c_str(), &st) != 0 ||
      (st.f_flag & ST_RDONLY) == 0) {
    return status;
  }
  return rocksdb::Status::IOError("Read-only file system", status.ToString());
}

std::string StallReason(const rocksdb::Status& status) {
  if (status.IsNoSpace() ||
      (status.IsIOError() && status.subcode() == rocksdb::Status::kSpaceLimit))
    return "no_space";
  if (ReadOnly(status)) return "read_only";
  return "io_error";
}

}  // namespace cir::storage::internal
