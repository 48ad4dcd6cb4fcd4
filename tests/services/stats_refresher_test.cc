// cird's StatsRefresher with a scripted register source: a read that fails is counted
// (cir_stats_refresh_errors_total) and the gauges of the reads that worked are still set; the
// thread refreshes every interval and stops promptly.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "probe.h"
#include "stats_refresher.h"

namespace cir::testing {
namespace {

using std::chrono::milliseconds;

class FixedClock final : public storage::Clock {
 public:
  google::protobuf::Timestamp Now() const override {
    google::protobuf::Timestamp t;
    t.set_seconds(1'000'000);
    return t;
  }
};

// The sample line of `name` (no labels) in a scrape, or "".
std::string Sample(const std::string& scrape, const std::string& name) {
  const auto at = scrape.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  const auto end = scrape.find('\n', at + 1);
  return scrape.substr(at + 1, end - at - 1);
}

TEST(StatsRefresher, FailedReadsAreCountedAndTheOthersStillSet) {
  cird::Probe probe("test");
  FixedClock clock;
  cird::StatsSource source;
  source.summarize = [](const std::vector<std::uint32_t>&) -> Result<storage::Summary> {
    return Fail(ErrorCode::kIo, "disk gone (test)");
  };
  source.backlog = [](std::uint32_t partition) -> Result<storage::OutboxBacklog> {
    if (partition == 1) return Fail(ErrorCode::kIo, "disk gone (test)");
    storage::OutboxBacklog b;
    b.entries = 3;
    b.oldest_recorded_at.emplace();
    b.oldest_recorded_at->set_seconds(1'000'000 - 40);
    return b;
  };
  source.figures = [] { return storage::DbFigures{}; };
  cird::StatsRefresher refresher(source, probe, clock,
                                 [] { return std::vector<std::uint32_t>{0, 1}; },
                                 milliseconds(1000));
  EXPECT_EQ(refresher.RefreshOnce(), 2u);
  const std::string scrape = probe.Scrape();
  EXPECT_EQ(Sample(scrape, "cir_stats_refresh_errors_total"), "cir_stats_refresh_errors_total 2")
      << scrape;
  EXPECT_EQ(Sample(scrape, "cir_outbox_backlog_records"), "cir_outbox_backlog_records 3");
  EXPECT_EQ(Sample(scrape, "cir_outbox_oldest_age_seconds"), "cir_outbox_oldest_age_seconds 40");
}

TEST(StatsRefresher, RefreshesEveryIntervalAndStopsPromptly) {
  cird::Probe probe("test");
  FixedClock clock;
  std::atomic<int> reads{0};
  cird::StatsSource source;
  source.summarize = [&](const std::vector<std::uint32_t>&) -> Result<storage::Summary> {
    ++reads;
    return storage::Summary{};
  };
  source.backlog = [](std::uint32_t) -> Result<storage::OutboxBacklog> {
    return storage::OutboxBacklog{};
  };
  source.figures = [] { return storage::DbFigures{}; };
  cird::StatsRefresher refresher(source, probe, clock, [] { return std::vector<std::uint32_t>{}; },
                                 milliseconds(10));
  refresher.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));  // polling with a deadline
  }
  EXPECT_GE(reads.load(), 3);
  const auto stopping = std::chrono::steady_clock::now();
  refresher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(1));
  const int after = reads.load();
  refresher.Stop();  // idempotent
  EXPECT_EQ(reads.load(), after);
  EXPECT_EQ(Sample(probe.Scrape(), "cir_stats_refresh_errors_total"),
            "cir_stats_refresh_errors_total 0");
}

}  // namespace
}  // namespace cir::testing
