// The due-time index: timers indexed from projections, fired in due order up to now, re-indexed.
#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include "cir/storage/register.h"
#include "raw_db.h"
#include "test_projector.h"
#include "test_util.h"

namespace cir::storage {
namespace {

using testing::Event;
using testing::Inbound;
using testing::TestProjector;
using testing::Ts;
using testing::Value;
using Status = EventOutcome::Status;

constexpr std::int64_t kHour = 3600;

class TimersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_ = Value(
        Register::Open(testing::TestOptions(dir_, clock_, /*sync=*/false, /*small=*/false)));
  }
  // One event per initiative, at the given times: timers due one hour later.
  void Touch(const std::vector<std::pair<std::string, std::int64_t>>& at,
             const Projector& projector) {
    AppendRequest request;
    for (const auto& [id, seconds] : at) {
      request.events.push_back(
          Inbound(Event(id + "@" + std::to_string(seconds), id, seconds), next_offset_++));
    }
    (void)Value(reg_->Append(request, projector));
  }
  std::optional<std::int64_t> NextDueSeconds() {
    auto due = Value(reg_->NextDue(0));
    if (!due) return std::nullopt;
    return due->seconds();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  TestProjector projector_;
  std::unique_ptr<Register> reg_;
  std::int64_t next_offset_ = 0;
};

TEST_F(TimersTest, FireInDueOrderUpToNowAndOnlyThose) {
  Touch({{"c", 3000}, {"a", 1000}, {"b", 2000}}, projector_);
  EXPECT_EQ(NextDueSeconds(), 1000 + kHour);

  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(1000 + kHour - 1), 100, projector_)).events.empty());
  const AppendResult fired = Value(reg_->FireDueTimers(0, Ts(2000 + kHour), 100, projector_));
  ASSERT_EQ(fired.events.size(), 2u);  // due exactly at now fires; c (later) does not
  EXPECT_EQ(fired.events[0].initiative_id, "a");
  EXPECT_EQ(fired.events[1].initiative_id, "b");
  EXPECT_EQ(fired.events[0].status, Status::kAppended);
  EXPECT_EQ(fired.events[0].revision, 2u);
  ASSERT_EQ(fired.outbox.size(), 2u);
  EXPECT_EQ(fired.outbox[0].output().alert().initiative_id(), "a");
  EXPECT_EQ(fired.outbox[0].output().alert().state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(NextDueSeconds(), 3000 + kHour);

  const auto history = Value(reg_->History(0, "a"));
  ASSERT_EQ(history.size(), 2u);
  ASSERT_TRUE(history[1].has_timer());
  EXPECT_EQ(history[1].timer().kind(), v1::ALERT_KIND_STALLED);
  EXPECT_EQ(history[1].timer().due_at().seconds(), 1000 + kHour);
  EXPECT_EQ(history[1].timer().fired_at().seconds(), 2000 + kHour);
  EXPECT_EQ(history[1].source_topic(), "cir/timer");
  EXPECT_EQ(Value(reg_->GetInitiative(0, "a"))->timers_size(), 0);
  EXPECT_EQ(Value(reg_->GetStats()).timers_fired, 2u);

  // Firing again at the same time finds nothing: the index no longer holds them.
  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(2000 + kHour), 100, projector_)).events.empty());
  const AppendResult last = Value(reg_->FireDueTimers(0, Ts(1'000'000), 100, projector_));
  ASSERT_EQ(last.events.size(), 1u);
  EXPECT_EQ(last.events[0].initiative_id, "c");
  EXPECT_EQ(NextDueSeconds(), std::nullopt);
  EXPECT_TRUE(Value(reg_->Verify(projector_)).problems.empty());
}

TEST_F(TimersTest, FireHonoursTheLimitAndThePartition) {
  Touch({{"a", 1000}, {"b", 1001}, {"c", 1002}}, projector_);
  AppendRequest other;
  other.partition = 1;
  other.events = {Inbound(Event("x", "x", 10), 0)};
  (void)Value(reg_->Append(other, projector_));

  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(100'000), 0, projector_)).events.empty());
  const AppendResult one = Value(reg_->FireDueTimers(0, Ts(100'000), 1, projector_));
  ASSERT_EQ(one.events.size(), 1u);
  EXPECT_EQ(one.events[0].initiative_id, "a");
  const AppendResult rest = Value(reg_->FireDueTimers(0, Ts(100'000), 10, projector_));
  ASSERT_EQ(rest.events.size(), 2u);
  EXPECT_EQ(rest.events[1].initiative_id, "c");
  // Partition 1's timer was never touched.
  auto due1 = Value(reg_->NextDue(1));
  ASSERT_TRUE(due1.has_value());
  EXPECT_EQ(due1->seconds(), 10 + kHour);
}

TEST_F(TimersTest, ANewEventMovesTheTimerAndTheOldKeyGoes) {
  Touch({{"a", 1000}}, projector_);
  Touch({{"a", 5000}}, projector_);
  EXPECT_EQ(NextDueSeconds(), 5000 + kHour);
  // Several events of one initiative in one batch: only the last timer is indexed.
  Touch({{"a", 6000}, {"a", 7000}, {"a", 8000}}, projector_);
  EXPECT_EQ(NextDueSeconds(), 8000 + kHour);
  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(8000 + kHour - 1), 10, projector_)).events.empty());
  const VerifyReport report = Value(reg_->Verify(projector_));
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.timers, 1u);
}

TEST_F(TimersTest, SubMillisecondDueTimesNeverFireEarly) {
  AppendRequest request;
  v1::ValueChainEvent e = Event("e", "a", 1000);
  e.mutable_event_time()->set_nanos(500'000);  // due at 4600.0005 s
  request.events = {Inbound(e, 0)};
  (void)Value(reg_->Append(request, projector_));
  // Millisecond resolution: due-times round up, "now" rounds down; never early, at most 1 ms late.
  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(1000 + kHour, 400'000), 10, projector_)).events.empty());
  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(1000 + kHour, 999'999), 10, projector_)).events.empty());
  EXPECT_EQ(Value(reg_->FireDueTimers(0, Ts(1000 + kHour, 1'000'000), 10, projector_)).events.size(), 1u);
}

TEST_F(TimersTest, AFiredTimerThatTheProjectorKeepsCannotLoop) {
  const TestProjector sticky(3, /*clear_fired_timers=*/false);
  Touch({{"a", 1000}}, sticky);
  const AppendResult fired = Value(reg_->FireDueTimers(0, Ts(100'000), 10, sticky));
  ASSERT_EQ(fired.events.size(), 1u);
  EXPECT_EQ(fired.events[0].status, Status::kAppended);
  EXPECT_EQ(fired.events[0].reason_code, "TIMER_NOT_CLEARED");
  // The key is gone although the projection still lists the timer; nothing fires again.
  EXPECT_EQ(NextDueSeconds(), std::nullopt);
  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(100'000), 10, sticky)).events.empty());
  EXPECT_EQ(Value(reg_->GetInitiative(0, "a"))->timers_size(), 1);
  // Verify sees the disagreement; Rebuild puts the key back. The timer is then armed anew (at a
  // later revision), so it fires once more — and its key is dropped again: still no loop.
  EXPECT_EQ(Value(reg_->Verify(sticky)).problems.size(), 1u);
  EXPECT_EQ(Value(reg_->Rebuild(sticky)), 0u);
  EXPECT_EQ(NextDueSeconds(), 1000 + kHour);
  const AppendResult again = Value(reg_->FireDueTimers(0, Ts(100'000), 10, sticky));
  ASSERT_EQ(again.events.size(), 1u);
  EXPECT_EQ(again.events[0].status, Status::kAppended);
  EXPECT_EQ(again.events[0].revision, 3u);
  EXPECT_EQ(again.events[0].reason_code, "TIMER_NOT_CLEARED");
  EXPECT_EQ(NextDueSeconds(), std::nullopt);
  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(100'000), 10, sticky)).events.empty());
  EXPECT_EQ(Value(reg_->History(0, "a")).size(), 3u);
}

TEST_F(TimersTest, AStaleIndexKeyIsDroppedWithoutFiring) {
  Touch({{"a", 1000}}, projector_);
  Options options;
  options.path = dir_.Sub("db");
  reg_.reset();
  testing::RawPut(options, internal::Cf::kTimers,
                  internal::TimerKey(0, 2'000'000, "a", v1::ALERT_KIND_TARGET_OVERDUE, "nps"), "");
  testing::RawPut(options, internal::Cf::kTimers,
                  internal::TimerKey(0, 2'000'001, "ghost", v1::ALERT_KIND_STALLED, ""), "");
  SetUp();
  const AppendResult fired = Value(reg_->FireDueTimers(0, Ts(3000), 10, projector_));
  ASSERT_EQ(fired.events.size(), 0u);
  EXPECT_EQ(NextDueSeconds(), 1000 + kHour);
  EXPECT_EQ(Value(reg_->History(0, "a")).size(), 1u);
  EXPECT_TRUE(Value(reg_->Verify(projector_)).problems.empty());
}

// Fired and moved timers leave deleted keys (tombstones) in the index until a compaction drops
// them; NextDue and a tick seek past them instead of walking them one by one (RocksDB's perf
// context counts the deleted keys an iterator skipped). A timer put below them is still found.
TEST_F(TimersTest, TicksDoNotWalkTheKeysOfFiredOrMovedTimers) {
  constexpr int kInitiatives = 300;
  for (int round = 0; round < 3; ++round) {  // every timer moved twice: 600 deleted keys
    std::vector<std::pair<std::string, std::int64_t>> at;
    for (int i = 0; i < kInitiatives; ++i) at.emplace_back("i" + std::to_string(i), 1000 * (round + 1) + i);
    Touch(at, projector_);
  }
  const AppendResult fired = Value(reg_->FireDueTimers(0, Ts(4000 + kHour), 1000, projector_));
  ASSERT_EQ(fired.events.size(), static_cast<std::size_t>(kInitiatives));  // 300 more deleted
  Touch({{"late", 100'000}}, projector_);

  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  EXPECT_EQ(NextDueSeconds(), 100'000 + kHour);
  EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(100'000), 1000, projector_)).events.empty());
  EXPECT_EQ(NextDueSeconds(), 100'000 + kHour);
  const std::uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(skipped, 0u);

  // Below everything deleted so far: found, and fired first.
  Touch({{"early", 10}}, projector_);
  EXPECT_EQ(NextDueSeconds(), 10 + kHour);
  const AppendResult early = Value(reg_->FireDueTimers(0, Ts(10 + kHour), 1000, projector_));
  ASSERT_EQ(early.events.size(), 1u);
  EXPECT_EQ(early.events[0].initiative_id, "early");
  EXPECT_EQ(NextDueSeconds(), 100'000 + kHour);
  // A reopened register starts at the partition's start again and finds the same.
  reg_.reset();
  SetUp();
  EXPECT_EQ(NextDueSeconds(), 100'000 + kHour);
  const VerifyReport report = Value(reg_->Verify(projector_));
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.timers, 1u);
}

// A tick with nothing due writes nothing: no batch, so no fsync (an idle cird does no I/O), and
// no bookkeeping for a partition that has no data.
TEST_F(TimersTest, ATickWithNothingDueWritesNothing) {
  Touch({{"a", 1000}}, projector_);
  const DbFigures before = reg_->Figures();
  EXPECT_GT(before.writes, 0u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(Value(reg_->FireDueTimers(0, Ts(1000 + i), 100, projector_)).events.empty());
    EXPECT_TRUE(Value(reg_->FireDueTimers(7, Ts(1000 + i), 100, projector_)).events.empty());
  }
  EXPECT_EQ(reg_->Figures().writes, before.writes);
  EXPECT_EQ(Value(reg_->Partitions()), std::vector<std::uint32_t>{0});
  // Due: written.
  EXPECT_EQ(Value(reg_->FireDueTimers(0, Ts(1000 + kHour), 100, projector_)).events.size(), 1u);
  EXPECT_EQ(reg_->Figures().writes, before.writes + 1);
}

}  // namespace
}  // namespace cir::storage
