// The register on a full disk: a write that fails for lack of space is a typed, retryable error
// that changes nothing; once space returns RocksDB resumes by itself (or on Resume) and the same
// request appends as if nothing had happened. The data directory is a small tmpfs, so these tests
// need root (mount(2)); they skip otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cir/base/enum_name.h"
#include "cir/storage/register.h"
#include "test_projector.h"
#include "test_util.h"

namespace cir::storage {
namespace {

using testing::Batch;
using testing::FakeClock;
using testing::TempDir;
using testing::TestProjector;

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs for the data directory needs root";
    mount_ = dir_.Sub("mnt");
    std::filesystem::create_directory(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=8m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << ")";
    }
    mounted_ = true;
    options_.path = mount_ + "/register";
    options_.clock = &clock_;
    // The SstFileManager resumes once a memtable's worth is free: keep that small.
    options_.write_buffer_bytes = 256u << 10;
    options_.block_cache_bytes = 1u << 20;
  }
  void TearDown() override {
    reg_.reset();
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
  }

  // Fills the filesystem with a file until the kernel refuses another byte.
  void Fill() {
    std::ofstream filler(mount_ + "/filler", std::ios::binary);
    const std::string chunk(4096, 'x');
    while (filler.write(chunk.data(), static_cast<std::streamsize>(chunk.size())) &&
           filler.flush()) {
    }
  }
  void Unfill() { std::filesystem::remove(mount_ + "/filler"); }

  // Appends batches of 10 from offset `next` until one fails (RocksDB first uses up the space
  // it preallocated for the WAL); returns that error, with `next` at the batch that failed.
  Error AppendUntilFull(std::int64_t& next) {
    for (int i = 0; i < 100000; ++i) {
      auto appended = reg_->Append(Batch(next, 10), projector_);
      if (!appended) return appended.error();
      next += 10;
    }
    ADD_FAILURE() << "the disk never filled";
    return Error{ErrorCode::kInternal, "never full"};
  }

  TempDir dir_;
  std::string mount_;
  bool mounted_ = false;
  FakeClock clock_;
  // Opens (or reopens) the register in options_ into reg_; fails the test when it cannot.
  void OpenReg() {
    reg_.reset();
    auto opened = Register::Open(options_);
    ASSERT_TRUE(opened) << opened.error().ToString();
    reg_ = std::move(*opened);
  }
  // reg_'s Verify finds nothing wrong.
  void ExpectSound() {
    auto report = reg_->Verify(projector_);
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->problems.empty()) << report->problems.front();
  }

  Options options_;
  TestProjector projector_;
  std::unique_ptr<Register> reg_;
};

TEST_F(DiskFullTest, AFailedWriteIsTypedChangesNothingAndSucceedsOnceSpaceReturns) {
  ASSERT_NO_FATAL_FAILURE(OpenReg());
  ASSERT_TRUE(reg_->Append(Batch(0, 10), projector_));
  EXPECT_FALSE(reg_->Health().stalled);

  Fill();
  std::int64_t next = 10;
  const Error failed = AppendUntilFull(next);
  EXPECT_TRUE(IsDiskStall(failed)) << failed.ToString();
  const AppendRequest second = Batch(next, 10);
  const WriteHealth stalled = reg_->Health();
  EXPECT_TRUE(stalled.stalled);
  EXPECT_EQ(base::EnumLabel(stalled.reason), "no_space") << stalled.detail;
  EXPECT_EQ(stalled.stalls, 1u);
  // Still stalled: writes fail at once, the register still reads what it held.
  EXPECT_FALSE(reg_->Append(second, projector_));
  auto state = reg_->GetInitiative(0, "init-1");
  ASSERT_TRUE(state && state->has_value());
  EXPECT_EQ((*state)->revision(), static_cast<std::uint64_t>(next));
  EXPECT_EQ(reg_->Offset(0, "value-chain").value(), std::optional<std::int64_t>(next));
  auto space = reg_->Space();
  ASSERT_TRUE(space);
  EXPECT_EQ(space->size_bytes, 8u << 20);
  EXPECT_LT(space->free_bytes, 64u << 10);

  // Space returns: RocksDB's SstFileManager notices (it polls every 5 s) and resumes by itself.
  Unfill();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (reg_->Health().stalled && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const WriteHealth recovered = reg_->Health();
  ASSERT_FALSE(recovered.stalled) << "RocksDB did not resume within 20 s: " << recovered.detail;
  EXPECT_EQ(recovered.recoveries, 1u);
  ASSERT_TRUE(reg_->Resume());  // nothing left to resume: ok
  auto appended = reg_->Append(second, projector_);
  ASSERT_TRUE(appended) << appended.error().ToString();
  EXPECT_EQ(appended->appended, 10u);
  EXPECT_EQ(appended->duplicates, 0u);

  // Everything is there after a reopen, and the register is sound.
  ASSERT_NO_FATAL_FAILURE(OpenReg());
  auto history = reg_->History(0, "init-1");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), static_cast<std::size_t>(next + 10));
  for (std::size_t i = 0; i < history->size(); ++i) {
    EXPECT_EQ((*history)[i].revision(), i + 1);
    EXPECT_EQ((*history)[i].value_chain().id(), "e" + std::to_string(i));
  }
  EXPECT_EQ(reg_->Offset(0, "value-chain").value(), std::optional<std::int64_t>(next + 10));
  ExpectSound();
}

TEST_F(DiskFullTest, ResumeAfterTheFilesystemGrowsAndWritesContinueAfterIt) {
  ASSERT_NO_FATAL_FAILURE(OpenReg());
  ASSERT_TRUE(reg_->Append(Batch(0, 5), projector_));
  Fill();
  std::int64_t next = 5;
  (void)AppendUntilFull(next);
  ASSERT_TRUE(reg_->Health().stalled);
  auto still = reg_->Resume();
  ASSERT_FALSE(still) << "resumed on a full disk";
  EXPECT_TRUE(IsDiskStall(still.error())) << still.error().ToString();

  ASSERT_EQ(::mount("tmpfs", mount_.c_str(), "tmpfs", MS_REMOUNT, "size=32m"), 0)
      << std::strerror(errno);
  // Resume is the manual way (RocksDB's own recovery may get there first: then it is a no-op).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  Result<void> resumed = reg_->Resume();
  while (!resumed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resumed = reg_->Resume();
  }
  ASSERT_TRUE(resumed) << resumed.error().ToString();
  EXPECT_FALSE(reg_->Health().stalled);
  for (int i = 0; i < 3; ++i) {
    auto appended = reg_->Append(Batch(next, 10), projector_);
    ASSERT_TRUE(appended) << appended.error().ToString();
    EXPECT_EQ(appended->appended, 10u);
    next += 10;
  }
  ASSERT_NO_FATAL_FAILURE(OpenReg());
  EXPECT_EQ(reg_->History(0, "init-1").value().size(), static_cast<std::size_t>(next));
  ExpectSound();
}

TEST_F(DiskFullTest, OpeningOnAFullDiskIsATypedRetryableError) {
  {
    auto created = Register::Open(options_);
    ASSERT_TRUE(created) << created.error().ToString();
    ASSERT_TRUE((*created)->Append(Batch(0, 3), projector_));
  }
  Fill();
  auto opened = Register::Open(options_);
  ASSERT_FALSE(opened) << "opened a new register on a full disk";
  EXPECT_TRUE(IsDiskStall(opened.error())) << opened.error().ToString();
  EXPECT_EQ(base::EnumLabel(DiskStallReason(opened.error())), "no_space")
      << opened.error().ToString();
  Unfill();
  auto retried = Register::Open(options_);
  ASSERT_TRUE(retried) << retried.error().ToString();
  reg_ = std::move(*retried);
  EXPECT_TRUE(reg_->Append(Batch(3, 3), projector_));
  EXPECT_EQ(reg_->History(0, "init-1").value().size(), 6u);
}

}  // namespace
}  // namespace cir::storage
