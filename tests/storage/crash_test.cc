// Crash test: a child process appends to a register and is SIGKILLed at a random moment, again and
// again; after each kill the register must hold every batch below its stored offset entirely, no
// batch at or above it, no event twice, and pass Verify (projections equal a rebuild from the
// streams, the due-time index and the dedupe index consistent, outbox seqs below the next seq).
//
// The child is a separate executable started with fork + exec, not a forked copy of this process:
// RocksDB's background threads do not survive fork(). CIR_CRASH_SEED and CIR_CRASH_ROUNDS
// override the seed (printed) and the number of rounds.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "crash_batches.h"
#include "raw_db.h"
#include "test_projector.h"
#include "test_util.h"

#ifndef CIR_CRASH_CHILD
#error "CIR_CRASH_CHILD must name the crash_child executable"
#endif

namespace cir::storage {
namespace {

using testing::Value;

std::uint64_t EnvOr(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;
};

Child Spawn(const std::string& dir, bool redeliver) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    const char* argv[] = {CIR_CRASH_CHILD, dir.c_str(), redeliver ? "1" : "0", nullptr};
    ::execv(CIR_CRASH_CHILD, const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(fds[1]);
  return Child{pid, fds[0]};
}

// Waits (with a deadline) for the child to say it has opened the register.
bool WaitReady(const Child& child, std::chrono::milliseconds deadline) {
  pollfd pfd{child.stdout_fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(deadline.count())) != 1) return false;
  char buf[16];
  return ::read(child.stdout_fd, buf, sizeof buf) > 0;
}

// What one scan of the raw database found.
struct Contents {
  std::map<std::string, int> copies;  // value-chain event id -> copies in all streams
  std::uint64_t timer_events = 0;
};

Contents ScanEvents(const Options& options) {
  Contents contents;
  auto db = testing::OpenRaw(options);
  for (internal::Scan scan(*db, internal::Cf::kEvents, std::string(), std::nullopt); scan.Valid();
       scan.Next()) {
    v1::StoredEvent event;
    EXPECT_TRUE(event.ParseFromArray(scan.value().data(), static_cast<int>(scan.value().size())));
    if (event.has_timer()) {
      ++contents.timer_events;
    } else {
      ++contents.copies[event.value_chain().id()];
    }
  }
  return contents;
}

TEST(CrashTest, EveryBatchIsAllOrNothingAcrossSigkills) {
  const std::uint64_t seed = EnvOr("CIR_CRASH_SEED", std::random_device{}());
  const std::uint64_t rounds = EnvOr("CIR_CRASH_ROUNDS", 60);
  std::printf("crash test: seed %llu (CIR_CRASH_SEED=%llu reproduces it), %llu rounds\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(rounds));
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
  std::uniform_int_distribution<int> delay_ms(5, 60);

  testing::TempDir dir;
  Options options;
  options.path = dir.Sub("db");
  const testing::TestProjector projector;

  std::int64_t last = 0;
  std::uint64_t advanced = 0;
  for (std::uint64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // One round in four kills the child without waiting for it to open the register, so that
    // crashes during recovery are covered too; the others time the kill from "ready".
    const bool from_spawn = round % 4 == 0;
    const Child child = Spawn(options.path, /*redeliver=*/round % 2 == 1);
    if (!from_spawn) {
      ASSERT_TRUE(WaitReady(child, std::chrono::seconds(30))) << "the child did not start";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(child.pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
    ::close(child.stdout_fd);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended by itself (status " << status << "); see its stderr";

    // The stored offset: the next batch the child would have sent.
    std::int64_t next = 0;
    {
      auto reg = Value(Register::Open(options));
      next = Value(reg->Offset(0, "crash")).value_or(0);
    }
    ASSERT_GE(next, last) << "the stored offset went backwards";
    if (next > last) ++advanced;
    last = next;

    // Batches below it are there entirely, once; nothing of a later batch is.
    const Contents contents = ScanEvents(options);
    for (const auto& [id, copies] : contents.copies) {
      ASSERT_EQ(copies, 1) << id << " is stored " << copies << " times";
      const std::int64_t batch = std::stoll(id.substr(1, id.find('-') - 1));
      ASSERT_LT(batch, next) << id << " is stored but its batch is at or after offset " << next;
    }
    std::size_t expected = 0;
    for (std::int64_t b = 0; b < next; ++b) {
      for (int i = 0; i < testing::kCrashBatchSize; ++i) {
        if (!testing::CrashAppended(i)) continue;
        ++expected;
        ASSERT_TRUE(contents.copies.contains(testing::CrashEventId(b, i)))
            << testing::CrashEventId(b, i) << " of batch " << b << " < " << next << " is missing";
      }
    }
    ASSERT_EQ(contents.copies.size(), expected);

    // And the whole register is sound.
    auto reg = Value(Register::Open(options));
    const VerifyReport report = Value(reg->Verify(projector));
    ASSERT_TRUE(report.problems.empty())
        << report.problems.size() << " problems, the first: " << report.problems.front();
    ASSERT_EQ(report.events, contents.copies.size() + contents.timer_events);
    const Stats stats = Value(reg->GetStats());
    ASSERT_EQ(stats.events_appended, contents.copies.size());
    ASSERT_EQ(stats.timers_fired, contents.timer_events);
    std::uint64_t previous = 0;
    for (const v1::OutboxRecord& record : Value(reg->ReadOutbox(0, 0, 1'000'000))) {
      ASSERT_GT(record.seq(), previous);
      previous = record.seq();
    }
  }
  std::printf("crash test: %llu of %llu rounds advanced; %lld batches stored\n",
              static_cast<unsigned long long>(advanced), static_cast<unsigned long long>(rounds),
              static_cast<long long>(last));
  // Not vacuous: the child got work done between kills, and timers fired.
  EXPECT_GE(advanced, rounds / 4);
  EXPECT_GT(last, 0);
  EXPECT_GT(ScanEvents(options).timer_events, 0u);
}

}  // namespace
}  // namespace cir::storage
