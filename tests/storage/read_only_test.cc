// The register on a disk that turns read-only after a disk error: an ext4 image mounted
// errors=remount-ro and failed through ext4's trigger_fs_error (cir::testing::Ext4Image). Whatever
// errno the failed write saw (EIO for the calls in flight, EROFS after), the failure is the typed
// "read_only" pause, not a hard I/O error. Needs root and loop devices; skips otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

#include "cir/base/enum_name.h"
#include "cir/storage/register.h"
#include "ext4_image.h"
#include "health.h"  // storage/src: internal
#include "test_projector.h"
#include "test_util.h"

namespace cir::storage {
namespace {

using testing::Batch;

// What RocksDB returns when fdatasync fails with EIO.
const rocksdb::Status kFdatasyncEio =
    rocksdb::Status::IOError("While fdatasync: /x/000004.log", "Input/output error");

class ReadOnlyFilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "loop-mounting an ext4 image needs root";
    ext4_.emplace(dir_.Sub("ext4.img"), dir_.Sub("ext4"));
    if (auto why_not = ext4_->Make()) GTEST_SKIP() << *why_not;
    path_ = (ext4_->mount_point() / "register").string();
  }
  void TearDown() override {
    reg_.reset();
    ext4_.reset();
  }

  testing::TempDir dir_;
  std::optional<cir::testing::Ext4Image> ext4_;
  std::string path_;
  testing::FakeClock clock_;
  testing::TestProjector projector_;
  std::unique_ptr<Register> reg_;
};

TEST_F(ReadOnlyFilesystemTest, AnIoErrorIsReadOnlyOnlyOnceTheFilesystemIs) {
  std::filesystem::create_directories(path_);
  // Writable: an I/O error stays one (a failing disk is not a pause), and is known at once.
  const auto start = std::chrono::steady_clock::now();
  const rocksdb::Status writable = internal::OnReadOnlyFilesystem(kFdatasyncEio, path_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(writable.ToString(), kFdatasyncEio.ToString());
  EXPECT_FALSE(internal::DiskStall(writable));
  EXPECT_EQ(base::EnumLabel(internal::StallReason(writable)), "io_error");

  // After the disk error statvfs still says read-write (Linux >= 6.6: "emergency_ro"), yet the
  // same EIO is now the read-only pause, with the original error kept in its text.
  ASSERT_TRUE(ext4_->Fail());
  const rocksdb::Status read_only = internal::OnReadOnlyFilesystem(kFdatasyncEio, path_);
  EXPECT_TRUE(internal::DiskStall(read_only)) << read_only.ToString();
  EXPECT_EQ(base::EnumLabel(internal::StallReason(read_only)), "read_only");
  EXPECT_NE(read_only.ToString().find("Input/output error"), std::string::npos);
  // A full disk stays a full disk, whatever the filesystem's state.
  const rocksdb::Status full = internal::OnReadOnlyFilesystem(rocksdb::Status::NoSpace(), path_);
  EXPECT_EQ(base::EnumLabel(internal::StallReason(full)), "no_space");
  // Anything but an I/O error is not touched.
  const rocksdb::Status corruption = rocksdb::Status::Corruption("bad block");
  EXPECT_EQ(internal::OnReadOnlyFilesystem(corruption, path_).ToString(), corruption.ToString());
}

TEST_F(ReadOnlyFilesystemTest, AWriteAfterADiskErrorIsATypedPauseAndChangesNothing) {
  Options options;
  options.path = path_;
  options.clock = &clock_;
  // The WAL preallocates about a memtable's worth, which a crashed WAL keeps: keep it small on
  // a 48 MiB image.
  options.write_buffer_bytes = 1u << 20;
  auto opened = Register::Open(options);
  ASSERT_TRUE(opened) << opened.error().ToString();
  reg_ = std::move(*opened);
  ASSERT_TRUE(reg_->Append(Batch(0, 10), projector_));

  ASSERT_TRUE(ext4_->Fail());
  auto failed = reg_->Append(Batch(10, 10), projector_);
  ASSERT_FALSE(failed);
  EXPECT_TRUE(IsDiskStall(failed.error())) << failed.error().ToString();
  EXPECT_EQ(base::EnumLabel(DiskStallReason(failed.error())), "read_only")
      << failed.error().ToString();
  const WriteHealth health = reg_->Health();
  EXPECT_TRUE(health.stalled);
  EXPECT_EQ(base::EnumLabel(health.reason), "read_only") << health.detail;
  EXPECT_FALSE(reg_->Resume()) << "resumed on a read-only disk";
  EXPECT_EQ(reg_->Offset(0, "value-chain").value(), std::optional<std::int64_t>(10));

  // Repaired and reopened: the first ten are there, the failed ten append as if never tried.
  reg_.reset();
  const auto repair_failed = ext4_->Repair();
  ASSERT_FALSE(repair_failed) << *repair_failed;
  opened = Register::Open(options);
  ASSERT_TRUE(opened) << opened.error().ToString();
  reg_ = std::move(*opened);
  auto appended = reg_->Append(Batch(10, 10), projector_);
  ASSERT_TRUE(appended) << appended.error().ToString();
  EXPECT_EQ(appended->appended, 10u);
  auto history = reg_->History(0, "init-1");
  ASSERT_TRUE(history);
  EXPECT_EQ(history->size(), 20u);
  auto report = reg_->Verify(projector_);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->problems.empty()) << report->problems.front();
}

}  // namespace
}  // namespace cir::storage
