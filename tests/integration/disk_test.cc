// cird on a data directory that fills up or turns read-only, against librdkafka's mock cluster:
// it pauses (live, not ready, nothing lost) and carries on once the disk is writable again;
// every output compared with `circtl replay` of the same input (issue 16).
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <sys/mount.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "cir/storage/stream_time.h"
#include "circtl_runner.h"
#include "event_builders.h"
#include "ext4_image.h"
#include "harness.h"
#include "http_client.h"
#include "lives.h"
#include "register_checks.h"

namespace cir::testing {
namespace {

// ---- a full disk
// ---------------------------------------------------------------------------------

// The data directory on a small tmpfs (mount(2): root only; skipped otherwise), unmounted after
// the test whatever happened.
class DiskFullTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    if (HasFatalFailure()) return;
    if (::geteuid() != 0)
      GTEST_SKIP() << "mounting a small tmpfs for the data directory needs root";
    data_ = dir_ / "mnt";
    fs::create_directory(data_);
    if (::mount("tmpfs", data_.c_str(), "tmpfs", 0, "size=64m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs for the data directory: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    cird_.reset();  // killed if still running: nothing may hold the mount
    if (mounted_) ::umount2(data_.c_str(), MNT_DETACH);
    PipelineTest::TearDown();
  }

  services::HttpReply Get(int port, const std::string& path) {
    auto reply = services::HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + path, "",
                                    {}, milliseconds(5000));
    return reply ? *reply : services::HttpReply{-1, reply.error().message};
  }
  // The value of the sample `series` (name and labels, as exposed) in /metrics; -1 when absent.
  double Metric(int port, const std::string& series) {
    const std::string text = Get(port, "/metrics").body;
    const auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::atof(text.c_str() + at + series.size() + 2);
  }
  // Takes every free byte of the filesystem with a file, until the kernel refuses one more.
  void Fill() {
    std::ofstream filler(data_ / "filler", std::ios::binary);
    const std::string chunk(4096, 'x');
    while (filler.write(chunk.data(), static_cast<std::streamsize>(chunk.size())) &&
           filler.flush()) {
    }
  }
  // The log lines whose message starts with `msg` (also shown on stderr).
  int LogLines(const std::string& msg) {
    std::ifstream log(dir_ / "cird.log");
    int n = 0;
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"msg\":\"" + msg) == std::string::npos) continue;
      ++n;
      std::cerr << line.substr(0, 400) << "\n";
    }
    return n;
  }

  // Starts cird on the register in `dir` with 1 MiB memtables, waits for its first output when
  // `first_output` (the input has some), and returns its HTTP port (0: it logged none).
  int StartOn(const fs::path& dir, bool first_output) {
    fs::remove(dir_ / "cird.log");  // HttpPort reads the port from the log
    cird_ = std::make_unique<CirdProcess>(mock_->Bootstraps(), dir, dir_ / "cird.log",
                                          std::vector<std::string>{"--write-buffer-mb", "1"});
    const int port = HttpPort();
    if (first_output && port > 0) {
      EXPECT_TRUE(WaitFor([&] { return !Read(kTransitions, 1, milliseconds(1000)).empty(); },
                          milliseconds(30000)));
    }
    return port;
  }
  // The input: the Life() of initiatives `prefix`0 … `prefix`(count - 1), none published yet;
  // returns what `circtl replay` emits for it (eight outputs a life).
  std::map<std::string, v1::Output> Lives(const std::string& prefix, int count) {
    lives_.clear();
    published_ = 0;
    for (int i = 0; i < count; ++i) {
      for (auto& e : Life(prefix + std::to_string(i), 0)) lives_.push_back(std::move(e));
    }
    auto expected = CirctlRunner(CIR_CIRCTL_BINARY, dir_).Replay(lives_);
    EXPECT_EQ(expected.size(), 8u * count);
    return expected;
  }
  // Publishes the input up to its first `numerator`/`denominator`.
  void PublishLives(std::size_t numerator, std::size_t denominator) {
    PublishUpTo(lives_, lives_.size() * numerator / denominator, published_);
  }
  // Whether /readyz turns 503 naming a write stall for `reason` within `timeout`.
  bool StallsFor(int port, const std::string& reason, milliseconds timeout) {
    return WaitFor(
        [&] {
          const auto ready = Get(port, "/readyz");
          return ready.status == 503 &&
                 ready.body.find("writes stalled (" + reason + ")") != std::string::npos;
        },
        timeout);
  }
  // Paused, not dead: cird runs, live and not ready, for `how_long` on end.
  void StaysPaused(int port, milliseconds how_long) {
    const auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until) {
      ASSERT_EQ(waitpid(cird_->pid(), nullptr, WNOHANG), 0) << "cird exited on a stalled disk";
      ASSERT_EQ(Get(port, "/livez").status, 200);
      ASSERT_EQ(Get(port, "/readyz").status, 503);
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  // The register cird left in `dir` (stopped): `circtl verify` clean, every life appended once.
  void ExpectEveryLifeOnceIn(const fs::path& dir, const CirctlRunner& circtl,
                             const std::string& prefix, int count) {
    std::string report;
    EXPECT_TRUE(circtl.Verify(dir, &report)) << report;
    auto reg = OpenRegister(dir);
    ASSERT_NE(reg, nullptr);
    ASSERT_NO_FATAL_FAILURE(ExpectEveryLifeOnce(*reg, prefix, count));
    EXPECT_EQ(reg->GetStats().value().events_appended, 9u * count);
  }

  fs::path data_;
  bool mounted_ = false;
  std::unique_ptr<CirdProcess> cird_;
  std::vector<v1::ValueChainEvent> lives_;  // the input of Lives()
  std::size_t published_ = 0;               // how much of it is published
};

TEST_F(DiskFullTest, AFullDiskPausesCirdAndItResumesByItselfOnceSpaceReturns) {
  constexpr int kInitiatives = 100;
  std::vector<v1::ValueChainEvent> all;
  for (int i = 0; i < kInitiatives; ++i) {
    for (auto& e : Life("D-" + std::to_string(i), 0)) {
      // 12 KB of text (the most each field takes), in every projection rewrite: the WAL
      // outgrows what RocksDB preallocated (a few MB) soon after the disk fills.
      if (e.has_initiative_proposed()) {
        auto& proposed = *e.mutable_initiative_proposed();
        proposed.set_title(std::string(4000, 't'));
        proposed.set_vision(std::string(4000, 'v'));
        proposed.set_organisational_goal(std::string(4000, 'g'));
      }
      all.push_back(std::move(e));
    }
  }
  // What cird must emit: `circtl replay` of the same input (issue 16: "every output of the
  // replay arrives").
  const CirctlRunner circtl(CIR_CIRCTL_BINARY, dir_);
  const auto expected = circtl.Replay(all);
  ASSERT_EQ(expected.size(), 8u * kInitiatives);
  std::size_t published = 0;
  auto publish_upto = [&](std::size_t n) { PublishUpTo(all, n, published); };
  publish_upto(all.size() / 3);
  // 1 MiB memtables: RocksDB resumes once that much is free again (a memtable's worth).
  cird_ = std::make_unique<CirdProcess>(
      mock_->Bootstraps(), data_ / "register", dir_ / "cird.log",
      std::vector<std::string>{"--write-buffer-mb", "1", "--stats-interval", "200ms"});
  const int port = HttpPort();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(WaitFor([&] { return !Read(kTransitions, 1, milliseconds(1000)).empty(); },
                      milliseconds(30000)));

  // The disk fills while the other two thirds arrive.
  Fill();
  publish_upto(all.size());
  ASSERT_TRUE(StallsFor(port, "no_space", milliseconds(30000))) << Get(port, "/readyz").body;
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"no_space\"}"), 1);
  EXPECT_TRUE(WaitFor(
      [&] {
        const double free_bytes = Metric(port, "cir_data_dir_free_bytes");
        return free_bytes >= 0 && free_bytes < 1 << 20;
      },
      milliseconds(5000)));
  EXPECT_EQ(Metric(port, "cir_data_dir_size_bytes"), 64 << 20);
  ASSERT_NO_FATAL_FAILURE(StaysPaused(port, milliseconds(2000)));
  EXPECT_EQ(LogLines("register writes stalled"), 1) << "logged per retry, not per state change";

  // Space returns: cird resumes by itself, every output arrives, none twice.
  std::filesystem::remove(data_ / "filler");
  const auto got = Outputs(expected.size(), milliseconds(60000));
  ExpectSameOutputs(got, expected);
  EXPECT_EQ(Read(kTransitions, expected.size(), milliseconds(5000)).size(), expected.size())
      << "outputs re-emitted";
  EXPECT_TRUE(WaitFor([&] { return Get(port, "/readyz").status == 200; }, milliseconds(30000)))
      << Get(port, "/readyz").body;
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"no_space\"}"), 0);
  const double stalls = Metric(port, "cir_register_write_stalls_total");
  EXPECT_GE(stalls, 1);
  EXPECT_EQ(LogLines("register writes possible again"), static_cast<int>(stalls));
  ASSERT_EQ(cird_->Terminate(), 0);
  ExpectEveryLifeOnceIn(data_ / "register", circtl, "D-", kInitiatives);
}

TEST_F(DiskFullTest, StartingOnAFullDiskWaitsLiveButNotReadyAndOpensOnceSpaceReturns) {
  auto start = [&] {
    std::filesystem::remove(dir_ / "cird.log");  // HttpPort reads the port from the log
    cird_ =
        std::make_unique<CirdProcess>(mock_->Bootstraps(), data_ / "register", dir_ / "cird.log",
                                      std::vector<std::string>{"--write-buffer-mb", "1"});
  };
  auto waiting = [&](int port) { return StallsFor(port, "no_space", milliseconds(20000)); };

  // A register exists (cird ran once), then its disk fills while cird is down.
  start();
  int port = HttpPort();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/readyz").status == 200; }, milliseconds(30000)));
  ASSERT_EQ(cird_->Terminate(), 0);
  // The filler keeps taking what a failed open frees again (RocksDB deletes the files it could
  // not finish, and older ones), so that the disk stays full until the test frees it.
  std::atomic<bool> keep_full{true};
  // O_CLOEXEC: the cird started meanwhile must not inherit the file (and keep it allocated).
  std::thread keeper([&] {
    const int fd =
        ::open((data_ / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const std::string chunk(4096, 'x');
    while (fd >= 0 && keep_full.load()) {
      if (::write(fd, chunk.data(), chunk.size()) <= 0) {
        std::this_thread::sleep_for(milliseconds(2));
      }
    }
    if (fd >= 0) ::close(fd);
  });
  struct Join {
    std::atomic<bool>& flag;
    std::thread& thread;
    ~Join() {
      flag = false;
      if (thread.joinable()) thread.join();
    }
  } join{keep_full, keeper};
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto space = storage::DiskSpaceOf(data_.string());
        return space && space->free_bytes == 0;
      },
      milliseconds(10000)));

  // Waiting for the disk: live, not ready, and a SIGTERM still stops it at once.
  start();
  port = HttpPort();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(waiting(port)) << Get(port, "/readyz").body;
  EXPECT_EQ(Get(port, "/livez").status, 200);
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"no_space\"}"), 1);
  EXPECT_EQ(waitpid(cird_->pid(), nullptr, WNOHANG), 0) << "cird exited on a full disk";
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(cird_->Terminate(milliseconds(5000)), 0);
  std::cerr << "stopped while waiting for the disk in "
            << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - stopping)
                   .count()
            << " ms\n";
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, milliseconds(3000));

  // Again, and this time space returns: it opens the register by itself and turns ready.
  start();
  port = HttpPort();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(waiting(port)) << Get(port, "/readyz").body;
  keep_full = false;
  keeper.join();
  std::filesystem::remove(data_ / "filler");
  EXPECT_TRUE(WaitFor([&] { return Get(port, "/readyz").status == 200; }, milliseconds(30000)))
      << Get(port, "/readyz").body;
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"no_space\"}"), 0);
  EXPECT_EQ(LogLines("cannot open the register for now"), 1);
  EXPECT_EQ(LogLines("register opened: the disk has room again"), 1);
  EXPECT_EQ(cird_->Terminate(), 0);
}

// ---- a read-only disk
// ----------------------------------------------------------------------------

// `mount -o remount,ro` is refused (EBUSY) while cird holds its WAL open for writing, so a data
// directory turns read-only under a running cird only when the kernel forces it: a filesystem
// error on a disk mounted errors=remount-ro. Here an ext4 image (on the fixture's tmpfs) is
// loop-mounted that way and ext4's trigger_fs_error raises such an error; the filesystem then
// stays read-only until it is unmounted and checked (e2fsck), as after a real disk error.
class ReadOnlyDiskTest : public DiskFullTest {
 protected:
  void SetUp() override {
    DiskFullTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    ext4_.emplace(data_ / "ext4.img", dir_ / "ext4");
    if (auto why_not = ext4_->Make()) GTEST_SKIP() << *why_not;
  }
  void TearDown() override {
    cird_.reset();
    ext4_.reset();
    DiskFullTest::TearDown();
  }

  std::optional<cir::testing::Ext4Image> ext4_;
};

TEST_F(ReadOnlyDiskTest, ADiskTurningReadOnlyPausesCirdLiveAndItCarriesOnOnceRepaired) {
  constexpr int kInitiatives = 60;
  const auto expected = Lives("R-", kInitiatives);
  const CirctlRunner circtl(CIR_CIRCTL_BINARY, dir_);
  const fs::path register_dir = ext4_->mount_point() / "register";

  PublishLives(1, 3);
  int port = StartOn(register_dir, true);
  ASSERT_GT(port, 0);

  // The disk fails while the rest arrives: a pause, not an exit.
  ASSERT_TRUE(ext4_->Fail()) << "cannot write ext4's trigger_fs_error";
  PublishLives(1, 1);
  ASSERT_TRUE(StallsFor(port, "read_only", milliseconds(30000))) << Get(port, "/readyz").body;
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"read_only\"}"), 1);
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"no_space\"}"), 0);
  ASSERT_NO_FATAL_FAILURE(StaysPaused(port, milliseconds(2000)));
  EXPECT_EQ(LogLines("register writes stalled"), 1) << "logged per retry, not per state change";
  // Stopping it for the repair is a clean stop: nothing it could not append is committed.
  EXPECT_EQ(cird_->Terminate(), 0);

  // Repaired (unmounted, checked, mounted again): started again, it carries on from what the
  // register holds, and every output of the replay arrives, none with other content.
  const auto repair_failed = ext4_->Repair();
  ASSERT_FALSE(repair_failed) << *repair_failed;
  port = StartOn(register_dir, false);
  ASSERT_GT(port, 0);
  ExpectSameOutputs(Outputs(expected.size(), milliseconds(60000)), expected);
  EXPECT_TRUE(WaitFor([&] { return Get(port, "/readyz").status == 200; }, milliseconds(30000)))
      << Get(port, "/readyz").body;
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"read_only\"}"), 0);
  ASSERT_EQ(cird_->Terminate(), 0);
  ExpectEveryLifeOnceIn(register_dir, circtl, "R-", kInitiatives);
}

// A data directory that is read-only when cird starts (here the tmpfs remounted read-only while
// cird is down): it waits, live and not ready, and opens the register by itself once the
// filesystem is writable again (remounted read-write), without a restart.
TEST_F(DiskFullTest, StartingOnAReadOnlyDiskWaitsAndOpensOnceItIsWritable) {
  constexpr int kInitiatives = 40;
  const auto expected = Lives("W-", kInitiatives);
  const CirctlRunner circtl(CIR_CIRCTL_BINARY, dir_);
  PublishLives(1, 2);
  int port = StartOn(data_ / "register", true);
  ASSERT_GT(port, 0);
  ASSERT_EQ(cird_->Terminate(), 0);
  ASSERT_EQ(::mount(nullptr, data_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  PublishLives(1, 1);

  port = StartOn(data_ / "register", false);
  ASSERT_GT(port, 0);
  ASSERT_TRUE(StallsFor(port, "read_only", milliseconds(20000))) << Get(port, "/readyz").body;
  EXPECT_EQ(Get(port, "/livez").status, 200);
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"read_only\"}"), 1);
  EXPECT_EQ(waitpid(cird_->pid(), nullptr, WNOHANG), 0) << "cird exited on a read-only disk";

  ASSERT_EQ(::mount(nullptr, data_.c_str(), nullptr, MS_REMOUNT, nullptr), 0)
      << std::strerror(errno);
  ExpectSameOutputs(Outputs(expected.size(), milliseconds(60000)), expected);
  EXPECT_TRUE(WaitFor([&] { return Get(port, "/readyz").status == 200; }, milliseconds(30000)))
      << Get(port, "/readyz").body;
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"read_only\"}"), 0);
  EXPECT_EQ(LogLines("cannot open the register for now"), 1);
  EXPECT_EQ(LogLines("register opened: the disk is writable again"), 1);
  ASSERT_EQ(cird_->Terminate(), 0);
  ExpectEveryLifeOnceIn(data_ / "register", circtl, "W-", kInitiatives);
}

}  // namespace
}  // namespace cir::testing
