// The partitions' summaries (storage/src/summary.h): Register::Summarize reads them instead of
// scanning, so after every kind of write they must be exactly what a scan of the projections
// adds up to; a register written before they existed is counted when it is opened; Verify reports
// one out of step and Rebuild recounts it. The real model's projector, so that steps, outcomes,
// alerts and step times all move.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "lives.h"
#include "raw_db.h"
#include "test_util.h"

namespace cir::storage {
namespace {

using internal::Cf;
using testing::Inbound;
using testing::Value;

constexpr std::uint32_t kPartitions = 3;

// What the old Summarize computed: a scan of every projection.
Summary Scanned(Register& reg) {
  Summary s;
  std::vector<std::uint32_t> all;
  for (std::uint32_t p = 0; p < kPartitions; ++p) all.push_back(p);
  testing::Ok(reg.ScanInitiatives(all, [&](const v1::Initiative& state) {
    ++s.initiatives;
    ++s.by_step[state.step()];
    if (state.step() == v1::STEP_CLOSED) ++s.by_outcome[state.outcome()];
    for (const auto& alert : state.firing_alerts()) ++s.firing[alert.kind()];
    if (state.iteration() > 1) s.iterations_beyond_first += state.iteration() - 1;
    for (const auto& t : state.step_times()) {
      s.step_seconds[t.step()] += t.seconds();
      s.step_visits[t.step()] += t.visits();
    }
    return true;
  }));
  // The summaries hold no zero entries.
  std::erase_if(s.step_seconds, [](const auto& e) { return e.second == 0; });
  std::erase_if(s.step_visits, [](const auto& e) { return e.second == 0; });
  return s;
}

Summary Summarized(Register& reg) {
  return Value(reg.Summarize({0, 1, 2}));
}

void ExpectSame(const Summary& got, const Summary& want, const std::string& after) {
  EXPECT_EQ(got.initiatives, want.initiatives) << after;
  EXPECT_EQ(got.by_step, want.by_step) << after;
  EXPECT_EQ(got.by_outcome, want.by_outcome) << after;
  EXPECT_EQ(got.firing, want.firing) << after;
  EXPECT_EQ(got.iterations_beyond_first, want.iterations_beyond_first) << after;
  EXPECT_EQ(got.step_seconds, want.step_seconds) << after;
  EXPECT_EQ(got.step_visits, want.step_visits) << after;
}

class SummaryTest : public ::testing::Test {
 protected:
  Options Opts() const {
    return testing::TestOptions(dir_, clock_, /*sync=*/false, /*small=*/true);
  }
  std::unique_ptr<Register> Open() { return Value(Register::Open(Opts())); }

  // Initiative i lives in partition i % 3; its events are appended `batch` at a time, so that a
  // batch holds several events of one initiative and of several.
  void AppendLives(Register& reg, int initiatives, int stop_after, std::size_t batch) {
    std::vector<std::vector<InboundEvent>> per_partition(kPartitions);
    for (int i = 0; i < initiatives; ++i) {
      auto life = cir::testing::Life("S" + std::to_string(i), i);
      life.resize(std::min<std::size_t>(life.size(), static_cast<std::size_t>(stop_after)));
      auto& events = per_partition[static_cast<std::size_t>(i) % kPartitions];
      for (auto& e : life) events.push_back(Inbound(std::move(e), offset_++));
    }
    for (std::uint32_t p = 0; p < kPartitions; ++p) {
      const auto& events = per_partition[p];
      for (std::size_t at = 0; at < events.size(); at += batch) {
        AppendRequest request;
        request.partition = p;
        for (std::size_t k = at; k < std::min(events.size(), at + batch); ++k) {
          request.events.push_back(events[k]);
        }
        (void)Value(reg.Append(request, *projector_));
      }
    }
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{cir::testing::kDayZeroSeconds};
  std::unique_ptr<Projector> projector_ = model::MakeProjector(model::Config{});
  std::int64_t offset_ = 0;
};

TEST_F(SummaryTest, EveryKindOfWriteLeavesItWhatAScanAddsUp) {
  auto reg = Open();
  ExpectSame(Summarized(*reg), Scanned(*reg), "an empty register");
  // Part of each life (up to the plan), in batches of several sizes.
  AppendLives(*reg, 12, 4, 5);
  ExpectSame(Summarized(*reg), Scanned(*reg), "lives up to their plan");
  EXPECT_EQ(Summarized(*reg).initiatives, 12u);
  // Timers: a year later every one of them has stalled in PLAN.
  for (std::uint32_t p = 0; p < kPartitions; ++p) {
    (void)Value(reg->FireDueTimers(p, testing::Ts(cir::testing::kDayZeroSeconds + 400 * 86400),
                                   1000, *projector_));
  }
  const Summary stalled = Summarized(*reg);
  ExpectSame(stalled, Scanned(*reg), "the stall timers fired");
  EXPECT_EQ(stalled.firing.at(v1::ALERT_KIND_STALLED), 12u);
  // The rest of each life (one event at a time): alerts resolve, every initiative closes.
  AppendLives(*reg, 12, 9, 1);
  const Summary closed = Summarized(*reg);
  ExpectSame(closed, Scanned(*reg), "every life closed");
  EXPECT_EQ(closed.by_outcome.at(v1::OUTCOME_SUCCESSFUL), 12u);
  EXPECT_FALSE(closed.step_visits.empty());
  // Duplicates change nothing.
  AppendLives(*reg, 12, 9, 7);
  ExpectSame(Summarized(*reg), closed, "the same events again");
  // And it all survives a reopen.
  reg.reset();
  reg = Open();
  ExpectSame(Summarized(*reg), closed, "reopened");
  EXPECT_TRUE(Value(reg->Verify(*projector_)).problems.empty());
}

TEST_F(SummaryTest, ARegisterWrittenBeforeSummariesIsCountedWhenOpened) {
  {
    auto reg = Open();
    AppendLives(*reg, 9, 6, 4);
  }
  Summary before;
  {
    // Strip every meta of its summary, as a register written before they existed.
    auto db = testing::OpenRaw(Opts());
    for (std::uint32_t p = 0; p < kPartitions; ++p) {
      auto meta = Value(db->GetProto<v1::PartitionMeta>(Cf::kMeta, internal::MetaKey(p)));
      ASSERT_TRUE(meta.has_value());
      ASSERT_TRUE(meta->has_summary());
      meta->clear_summary();
      ASSERT_TRUE(db->raw()
                      ->Put(rocksdb::WriteOptions(), db->cf(Cf::kMeta), internal::MetaKey(p),
                            meta->SerializeAsString())
                      .ok());
    }
  }
  auto reg = Open();
  ExpectSame(Summarized(*reg), Scanned(*reg), "opened after the strip");
  EXPECT_EQ(Summarized(*reg).initiatives, 9u);
  reg.reset();
  auto db = testing::OpenRaw(Opts());
  for (std::uint32_t p = 0; p < kPartitions; ++p) {
    auto meta = Value(db->GetProto<v1::PartitionMeta>(Cf::kMeta, internal::MetaKey(p)));
    ASSERT_TRUE(meta.has_value());
    EXPECT_TRUE(meta->has_summary()) << "partition " << p << " was counted and written at open";
    EXPECT_EQ(meta->summary().initiatives(), 3u) << "partition " << p;
  }
}

TEST_F(SummaryTest, OneOutOfStepIsReportedByVerifyAndRecountedByRebuild) {
  {
    auto reg = Open();
    AppendLives(*reg, 6, 9, 3);
  }
  {
    auto db = testing::OpenRaw(Opts());
    auto meta = Value(db->GetProto<v1::PartitionMeta>(Cf::kMeta, internal::MetaKey(1)));
    ASSERT_TRUE(meta.has_value());
    meta->mutable_summary()->set_initiatives(meta->summary().initiatives() + 5);
    ASSERT_TRUE(db->raw()
                    ->Put(rocksdb::WriteOptions(), db->cf(Cf::kMeta), internal::MetaKey(1),
                          meta->SerializeAsString())
                    .ok());
  }
  auto reg = Open();
  const auto problems = Value(reg->Verify(*projector_)).problems;
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems.front().find("partition 1: the meta's summary (7 initiatives)"),
            std::string::npos)
      << problems.front();
  EXPECT_EQ(Summarized(*reg).initiatives, 11u);  // what the summaries say, wrong as they are
  EXPECT_EQ(Value(reg->Rebuild(*projector_)), 0u);  // the projections were fine
  EXPECT_TRUE(Value(reg->Verify(*projector_)).problems.empty());
  ExpectSame(Summarized(*reg), Scanned(*reg), "rebuilt");
  EXPECT_EQ(Summarized(*reg).initiatives, 6u);
}

}  // namespace
}  // namespace cir::storage
