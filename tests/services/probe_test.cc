// cird's probe: the series it exposes, read back from its own text exposition (the bytes a
// Prometheus scrape gets): label values, the RocksDB split, the first transition's `from`.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "probe.h"

namespace cir::cird {
namespace {

// "name{labels} value" lines of a scrape, keyed by "name{labels}".
std::map<std::string, double> Samples(const std::string& scrape) {
  std::map<std::string, double> samples;
  static const std::regex kLine(R"(^([a-z_]+(?:\{[^}]*\})?) (\S+)$)");
  std::size_t start = 0;
  while (start < scrape.size()) {
    const std::size_t end = scrape.find('\n', start);
    const std::string line = scrape.substr(start, end - start);
    std::smatch m;
    if (std::regex_match(line, m, kLine)) samples[m[1]] = std::stod(m[2]);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return samples;
}

TEST(Probe, ReasonLabelsAreLowerSnakeCaseFromTheStart) {
  Probe probe("test");
  probe.DeadLetter(v1::DEAD_LETTER_REASON_DECODE_ERROR);
  probe.DeadLetter(v1::DEAD_LETTER_REASON_DECODE_ERROR);
  probe.EventIgnored(v1::IGNORE_REASON_UNKNOWN_KPI);
  const auto samples = Samples(probe.Scrape());
  EXPECT_EQ(samples.at(R"(cir_dead_letters_total{reason="decode_error"})"), 2);
  EXPECT_EQ(samples.at(R"(cir_dead_letters_total{reason="oversized"})"), 0);  // pre-created
  EXPECT_EQ(samples.at(R"(cir_events_ignored_total{reason="unknown_kpi"})"), 1);
  EXPECT_EQ(samples.at(R"(cir_events_ignored_total{reason="stale_timer"})"), 0);
  for (const auto& [series, value] : samples) {
    if (series.find("reason=") == std::string::npos) continue;
    EXPECT_TRUE(std::regex_search(series, std::regex(R"(reason="[a-z_]+")"))) << series;
  }
}

TEST(Probe, EveryReasonAndRebalanceEventHasItsSeriesFromTheStart) {
  Probe probe("test");
  probe.Rebalance(RebalanceEvent::kLost, 3);
  const auto samples = Samples(probe.Scrape());
  for (const char* reason :
       {"oversized", "null_value", "missing_attribute", "bad_attribute", "unsupported_content_type",
        "decode_error", "attribute_mismatch", "invalid_event", "id_conflict", "unknown_initiative",
        "already_proposed", "no_payload"}) {
    EXPECT_EQ(samples.at(std::string("cir_dead_letters_total{reason=\"") + reason + "\"}"), 0)
        << reason;
  }
  for (const char* reason : {"unknown_kpi", "initiative_closed", "stale_timer"}) {
    EXPECT_EQ(samples.at(std::string("cir_events_ignored_total{reason=\"") + reason + "\"}"), 0)
        << reason;
  }
  EXPECT_EQ(samples.at(R"(cir_rebalance_events_total{event="assigned"})"), 0);
  EXPECT_EQ(samples.at(R"(cir_rebalance_events_total{event="revoked"})"), 0);
  EXPECT_EQ(samples.at(R"(cir_rebalance_events_total{event="lost"})"), 3);
}

TEST(Probe, FirstTransitionComesFromNone) {
  Probe probe("test");
  v1::Output first;
  first.mutable_transition()->set_to_step(v1::STEP_VISION);  // from_step unset: the proposal
  probe.Output(first);
  v1::Output next;
  next.mutable_transition()->set_from_step(v1::STEP_VISION);
  next.mutable_transition()->set_to_step(v1::STEP_CURRENT_STATE);
  probe.Output(next);
  const auto samples = Samples(probe.Scrape());
  EXPECT_EQ(samples.at(R"(cir_transitions_total{from="none",to="vision"})"), 1);
  EXPECT_EQ(samples.at(R"(cir_transitions_total{from="vision",to="current_state"})"), 1);
  for (const auto& [series, value] : samples)
    EXPECT_EQ(series.find("unspecified"), std::string::npos) << series;
}

TEST(Probe, RocksDbCapacityUsageAndDiskAreSeparateSeries) {
  Probe probe("test");
  storage::DbFigures figures;
  figures.memtable_bytes = 1000;
  figures.block_cache_usage_bytes = 300;
  figures.block_cache_capacity_bytes = 64 << 20;
  figures.sst_files_bytes = 5000;
  figures.live_data_bytes = 4000;
  figures.pending_compaction_bytes = 700;
  probe.SetDbFigures(figures);
  const auto samples = Samples(probe.Scrape());
  double memory = 0;
  for (const auto& [series, value] : samples) {
    if (series.rfind("cir_rocksdb_memory_bytes{", 0) == 0) memory += value;
    EXPECT_NE(series.rfind("cir_rocksdb_bytes", 0), 0u) << series;
  }
  EXPECT_EQ(memory, 1300);  // memtable + block cache: the sum means RocksDB's memory
  EXPECT_EQ(samples.at(R"(cir_rocksdb_memory_bytes{kind="block_cache"})"), 300);
  EXPECT_EQ(samples.at("cir_rocksdb_block_cache_capacity_bytes"), 64 << 20);
  EXPECT_EQ(samples.at("cir_rocksdb_sst_files_bytes"), 5000);
  EXPECT_EQ(samples.at("cir_rocksdb_live_data_bytes"), 4000);
  EXPECT_EQ(samples.at("cir_rocksdb_pending_compaction_bytes"), 700);
}

TEST(Probe, StalledWritesMakeItNotReadyNamingTheCauseUntilTheyResume) {
  Probe probe("test");
  probe.GroupJoined();  // no partitions: the lag is known (nothing to be behind on)
  ASSERT_TRUE(probe.Ready().ready) << probe.Ready().body;
  auto samples = Samples(probe.Scrape());
  for (const char* reason : {"no_space", "read_only", "io_error", "unavailable"}) {
    EXPECT_EQ(samples.at(std::string("cir_register_write_stalled{reason=\"") + reason + "\"}"), 0)
        << reason;
  }

  probe.WriteStalled(v1::WRITE_STALL_REASON_NO_SPACE,
                     "appending: IO error: No space left on device: \"x\"");
  const auto stalled = probe.Ready();
  EXPECT_FALSE(stalled.ready);
  EXPECT_NE(stalled.body.find(R"("register":{"ok":false,"detail":"writes stalled (no_space): )"
                              R"(appending: IO error: No space left on device: \"x\")"),
            std::string::npos)
      << stalled.body;
  probe.WriteStalled(v1::WRITE_STALL_REASON_NO_SPACE, "again");  // the same stall: counted once
  samples = Samples(probe.Scrape());
  EXPECT_EQ(samples.at(R"(cir_register_write_stalled{reason="no_space"})"), 1);
  EXPECT_EQ(samples.at(R"(cir_register_write_stalled{reason="read_only"})"), 0);
  EXPECT_EQ(samples.at("cir_register_write_stalls_total"), 1);
  EXPECT_EQ(samples.at("cir_ready"), 0);

  probe.WriteResumed();
  EXPECT_TRUE(probe.Ready().ready) << probe.Ready().body;
  samples = Samples(probe.Scrape());
  EXPECT_EQ(samples.at(R"(cir_register_write_stalled{reason="no_space"})"), 0);
  EXPECT_EQ(samples.at("cir_register_write_stalls_total"), 1);

  probe.SetDataDirSpace({.size_bytes = 64 << 20, .free_bytes = 1 << 20});
  samples = Samples(probe.Scrape());
  EXPECT_EQ(samples.at("cir_data_dir_size_bytes"), 64 << 20);
  EXPECT_EQ(samples.at("cir_data_dir_free_bytes"), 1 << 20);
}

TEST(Probe, EventLagBucketsReachAYear) {
  Probe probe("test");
  probe.EventAppended(v1::ACTIVITY_IMPROVE, 200.0 * 86400);  // a backfill: 200 days old
  const auto samples = Samples(probe.Scrape());
  EXPECT_EQ(samples.at(R"(cir_event_append_lag_seconds_bucket{le="2592000"})"), 0);
  EXPECT_EQ(samples.at(R"(cir_event_append_lag_seconds_bucket{le="31536000"})"), 1);
}

}  // namespace
}  // namespace cir::cird
