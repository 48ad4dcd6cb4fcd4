// cird on the standalone mock broker under broker faults (issue 16): brokers down and up one at a
// time, leaders moved, Produce/Fetch/Heartbeat errors and 150 ms of latency while events flow;
// then every output on the topics compared with `circtl replay` of the same input. And offset gaps
// (issue 9): a stored offset above the log end or below the log start pauses the partition until
// --accept-offset-gap.
#include <random>

#include "broker_harness.h"
#include "lives.h"

namespace cir::testing {
namespace {

constexpr int kInitiatives = kSanitized ? 120 : 250;  // 9 events and 8 transitions each

// The records of `topic` by ce_id, counting copies.
std::map<std::string, int> CopiesById(const std::vector<events::Record>& records) {
  std::map<std::string, int> copies;
  for (const auto& r : records) ++copies[std::string(r.Header("ce_id").value_or(""))];
  return copies;
}

// The events on the input topic, partition by partition in offset order, each id once: what cird
// can have consumed, and so what its outputs must equal the replay of.
std::vector<v1::ValueChainEvent> InputAsStored(const std::vector<events::Record>& records) {
  std::map<std::int32_t, std::map<std::int64_t, const events::Record*>> by_partition;
  for (const auto& r : records) by_partition[r.partition][r.offset] = &r;
  std::vector<v1::ValueChainEvent> events;
  std::set<std::string> seen;
  for (const auto& [partition, log] : by_partition) {
    for (const auto& [offset, record] : log) {
      auto event = events::DecodeRecord(*record, events::Limits{});
      EXPECT_TRUE(event.has_value()) << partition << "/" << offset;
      if (event && seen.insert(event->source() + "|" + event->id()).second) {
        events.push_back(*event);
      }
    }
  }
  return events;
}

TEST_F(StandaloneBrokerTest, OutputsUnderBrokerFaultsAreTheReplaysOutputs) {
  const auto all = Lives(kInitiatives, "F-");
  auto cird = StartCird({"--stats-interval", "1s"});
  const int port = HttpPort();
  ASSERT_GT(port, 0);

  // One fault at a time, each held while a slice of the input is published (the publisher is the
  // test's own idempotent producer, under the same faults: the bare producer that tells the mock's
  // losses and duplicates from cird's).
  const std::vector<std::vector<std::string>> faults = {
      {"rtt -1 150"},
      {"rtt -1 0", "broker-down 1"},
      {"broker-up 1", "leader cir.value-chain 0 2", "leader cir.transitions 1 3"},
      {"request-errors Produce NOT_LEADER_FOR_PARTITION NOT_LEADER_FOR_PARTITION _TRANSPORT"},
      {"broker-down 2"},
      {"broker-up 2",
       "request-errors Fetch NOT_LEADER_FOR_PARTITION _TRANSPORT "
       "NOT_LEADER_FOR_PARTITION"},
      {"request-errors Heartbeat NOT_COORDINATOR REBALANCE_IN_PROGRESS"},
      {"broker-down 3"},
      {"broker-up 3", "leader cir.value-chain 2 1", "leader cir.alerts 0 2",
       "leader cir.transitions 3 1"},
      {"broker-request-errors 1 Produce REQUEST_TIMED_OUT:200 NO_ERROR:300 NOT_ENOUGH_REPLICAS:0",
       "rtt 2 150"},
      {"rtt 2 0", "leader cir.value-chain 1 3", "leader cir.transitions 0 2"},
  };
  const std::size_t slice = all.size() / faults.size() + 1;
  std::size_t published = 0;
  for (const auto& step : faults) {
    for (const auto& command : step) ASSERT_EQ(broker_->Command(command), "ok") << command;
    for (std::size_t n = 0; n < slice && published < all.size(); ++n, ++published) {
      Publish(events::EncodeEvent(all[published], events::DataFormat::kProtobuf));
    }
    // The fault is held for this long while the slice goes out and cird works on it.
    std::this_thread::sleep_for(milliseconds(2500));
  }
  for (const char* api : {"Produce", "Fetch", "Heartbeat"}) {
    ASSERT_EQ(broker_->Command(std::string("clear-request-errors ") + api), "ok");
  }
  ASSERT_EQ(broker_->Command("broker-up -1"), "ok");
  ASSERT_EQ(broker_->Command("rtt -1 0"), "ok");
  ASSERT_TRUE(producer_->Flush(milliseconds(60000)).has_value());
  ASSERT_EQ(published, all.size());

  // The bare producer's record of the mock: every acknowledged input record, how many copies.
  const auto input = Read(kInput, all.size(), milliseconds(20000));
  const auto input_copies = CopiesById(input);
  std::size_t input_lost = 0, input_extra = 0;
  for (const auto& e : all) {
    const auto it = input_copies.find(e.id());
    if (it == input_copies.end()) {
      ++input_lost;
    } else {
      input_extra += static_cast<std::size_t>(it->second - 1);
    }
  }
  std::cerr << "idempotent publisher under the faults: " << all.size() << " acknowledged, "
            << input_lost << " missing from the topic, " << input_extra << " extra copies\n";

  // What cird can have seen is what the topic holds: the replay of exactly that.
  const auto replay = Replay(InputAsStored(input));
  ASSERT_FALSE(replay.empty());

  // cird's own account: every replay output acknowledged by Kafka exactly once (its delivery
  // reports count them), and nothing left in its outbox.
  std::map<std::string, double> metrics;
  const bool settled = WaitFor(
      [&] {
        metrics = Metrics(port);
        return metrics["cir_transitions_total"] + metrics["cir_alerts_total"] >=
                   static_cast<double>(replay.size()) &&
               metrics["cir_outbox_backlog_records"] == 0;
      },
      milliseconds(90000));
  EXPECT_TRUE(settled) << "delivered " << metrics["cir_transitions_total"] << " + "
                       << metrics["cir_alerts_total"] << " of " << replay.size() << ", backlog "
                       << metrics["cir_outbox_backlog_records"];
  EXPECT_EQ(metrics["cir_transitions_total"] + metrics["cir_alerts_total"],
            static_cast<double>(replay.size()));
  EXPECT_EQ(metrics["cir_outbox_parked_total"], 0);
  EXPECT_TRUE(WaitFor([&] { return Exchange(port, Request("GET", "/readyz")).status == 200; },
                      milliseconds(30000)))
      << Exchange(port, Request("GET", "/readyz")).body;
  EXPECT_EQ(cird->Terminate(), 0);

  // The topics: every output the replay has, the same bytes, extra copies only byte-identical.
  std::vector<events::Record> outputs = Read(kTransitions, replay.size(), milliseconds(30000));
  for (auto& r : Read(kAlerts, 0, milliseconds(5000))) outputs.push_back(std::move(r));
  const Comparison c = CompareWithReplay(outputs, replay);
  std::cerr << "outputs on the topics against the replay: " << c << "\n";
  EXPECT_EQ(c.conflicting, 0u) << c;
  EXPECT_EQ(c.spurious, 0u) << c;
  // An output cird had acknowledged (above) that is not on the topic was lost by the mock after
  // its acknowledgement: allowed only in a run where the bare producer saw the mock lose or
  // duplicate acknowledged records too (services/cird/README.md, Delivery guarantees).
  if (input_lost == 0 && input_extra == 0) {
    EXPECT_EQ(c.missing, 0u) << c;
  } else {
    EXPECT_LE(c.missing, replay.size() / 50) << c;
  }

  std::string report;
  EXPECT_TRUE(Verify(&report)) << report;
  EXPECT_NE(report.find("outbox 0,"), std::string::npos) << report;
}

// Reads /readyz and /metrics until `done` holds (deadline 30 s); returns the last /readyz body.
std::string ReadyzWhen(int port, const std::function<bool(int, const std::string&)>& done) {
  std::string body;
  WaitFor(
      [&] {
        const RawReply reply = Exchange(port, Request("GET", "/readyz"));
        body = reply.body;
        return done(reply.status, body);
      },
      milliseconds(30000));
  return body;
}

// The first line of cird's /metrics that starts with `prefix` ("" if none).
std::string MetricLine(int port, const std::string& prefix) {
  const RawReply reply = Exchange(port, Request("GET", "/metrics"));
  std::istringstream lines(reply.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

// The value of cird's cir_partition_offset_gap for the input topic's `partition` ("" if absent).
std::string GapGauge(int port, std::int32_t partition) {
  const std::string series = "cir_partition_offset_gap{partition=\"" + std::to_string(partition) +
                             "\",topic=\"" + kInput + "\"} ";
  const std::string line = MetricLine(port, series);
  return line.empty() ? "" : line.substr(series.size());
}

TEST_F(StandaloneBrokerTest, StoredOffsetAboveTheLogEndPausesUntilTheGapIsAccepted) {
  const auto first = Lives(8, "G-");
  for (const auto& e : first) Publish(events::EncodeEvent(e, events::DataFormat::kProtobuf));
  FlushProducer();
  auto cird = StartCird();
  ASSERT_EQ(Outputs(8u * 8).size(), 64u);
  ASSERT_EQ(cird->Terminate(), 0);
  std::set<std::int32_t> used;
  for (const auto& r : Read(kInput, first.size())) used.insert(r.partition);
  ASSERT_FALSE(used.empty());

  // The topics are recreated empty (a new cluster) while cird is down: every stored offset of a
  // partition that had records is now above its log end.
  RestartBroker();
  fs::remove(dir_ / "cird.log");
  cird = StartCird();
  int port = HttpPort();
  ASSERT_GT(port, 0);
  std::string body = ReadyzWhen(port, [&](int status, const std::string& b) {
    if (status != 503) return false;
    for (std::int32_t p : used) {
      if (b.find(std::string(kInput) + "/" + std::to_string(p)) == std::string::npos) return false;
    }
    return true;
  });
  for (std::int32_t p : used) {
    EXPECT_NE(body.find(std::string(kInput) + "/" + std::to_string(p)), std::string::npos) << body;
    EXPECT_EQ(GapGauge(port, p), "1");
  }
  EXPECT_NE(body.find("\"offset_gaps\":{\"ok\":false"), std::string::npos) << body;
  ASSERT_EQ(cird->Terminate(), 0);
  {
    std::ifstream log(dir_ / "cird.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("offset gap: the partition's stored offset is outside its log"),
              std::string::npos);
  }

  // The operator accepts: the partitions resume at their log start, the gaps counted.
  fs::remove(dir_ / "cird.log");
  cird = StartCird({"--accept-offset-gap", "all"});
  port = HttpPort();
  ASSERT_GT(port, 0);
  body = ReadyzWhen(port, [](int status, const std::string&) { return status == 200; });
  EXPECT_NE(body.find("\"status\":\"ready\""), std::string::npos) << body;
  // Ready can come before every partition's first fetch has found its gap (the lag is known from
  // the first fetch responses): the count reaches them all soon after.
  const std::string accepted = "cir_offset_gaps_accepted_total " + std::to_string(used.size());
  WaitFor([&] { return MetricLine(port, "cir_offset_gaps_accepted_total") == accepted; },
          milliseconds(10000));
  EXPECT_EQ(MetricLine(port, "cir_offset_gaps_accepted_total"), accepted);
  // New events, the partitions with a gap included, are consumed from the log start: every H-
  // initiative's eight transitions arrive. (Published only now: while the recreated log is still
  // shorter than the stored offset the gap is visible; once it has grown past it, a fetch at the
  // stored offset succeeds and the records before it are never read — see the README.)
  const auto later = Lives(8, "H-");
  for (const auto& e : later) Publish(events::EncodeEvent(e, events::DataFormat::kProtobuf));
  FlushProducer();
  EXPECT_EQ(Outputs(8u * 8).size(), 64u);
  ASSERT_EQ(cird->Terminate(), 0);
}

TEST_F(StandaloneBrokerTest, StoredOffsetBelowTheLogStartPausesUntilTheGapIsAccepted) {
  const auto life = Life("LOW-1", 0);
  Publish(events::EncodeEvent(life[0], events::DataFormat::kProtobuf));
  FlushProducer();
  auto cird = StartCird();
  ASSERT_EQ(Outputs(1).size(), 1u);
  ASSERT_EQ(cird->Terminate(), 0);
  const auto stored = Read(kInput, 1);
  ASSERT_EQ(stored.size(), 1u);
  const std::int32_t partition = stored[0].partition;

  // While cird is down, more than the mock keeps (5 MiB a partition) arrives in its partition
  // under the same key: the log start moves past cird's stored offset (retention, in effect).
  // Random bytes, so that lz4 cannot shrink them.
  std::mt19937 rng(16);
  std::string blob(60 * 1024, '\0');
  for (int i = 0; i < 100; ++i) {
    for (auto& ch : blob) ch = static_cast<char>(rng());
    events::Record r;
    r.key = "LOW-1";
    r.value = blob;
    Publish(r);
  }
  FlushProducer();
  fs::remove(dir_ / "cird.log");
  cird = StartCird();
  int port = HttpPort();
  ASSERT_GT(port, 0);
  const std::string name = std::string(kInput) + "/" + std::to_string(partition);
  std::string body = ReadyzWhen(port, [&](int status, const std::string& b) {
    return status == 503 && b.find(name) != std::string::npos;
  });
  EXPECT_NE(body.find(name), std::string::npos) << body;
  EXPECT_NE(body.find("\"offset_gaps\":{\"ok\":false"), std::string::npos) << body;
  EXPECT_EQ(GapGauge(port, partition), "1");
  ASSERT_EQ(cird->Terminate(), 0);

  fs::remove(dir_ / "cird.log");
  cird = StartCird({"--accept-offset-gap", std::string(kInput) + ":" + std::to_string(partition)});
  port = HttpPort();
  ASSERT_GT(port, 0);
  body = ReadyzWhen(port, [](int status, const std::string&) { return status == 200; });
  EXPECT_NE(body.find("\"status\":\"ready\""), std::string::npos) << body;
  EXPECT_EQ(MetricLine(port, "cir_offset_gaps_accepted_total"), "cir_offset_gaps_accepted_total 1");
  EXPECT_EQ(GapGauge(port, partition), "0");
  // Resumed at the log start: what is left of the partition is consumed (the blobs are not events:
  // dead letters), and the next event of the initiative is appended.
  Publish(events::EncodeEvent(life[1], events::DataFormat::kProtobuf));
  FlushProducer();
  EXPECT_EQ(Outputs(2).size(), 2u);
  ASSERT_EQ(cird->Terminate(), 0);
}

}  // namespace
}  // namespace cir::testing
