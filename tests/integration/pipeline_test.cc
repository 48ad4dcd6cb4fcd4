// cird against librdkafka's mock cluster (3 brokers): the real binary, real Kafka protocol, and
// assertions on what reaches the topics and what the register holds afterwards.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <sys/mount.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "cir/storage/stream_time.h"
#include "circtl_runner.h"
#include "event_builders.h"
#include "harness.h"
#include "http_client.h"
#include "lives.h"
#include "register_checks.h"

namespace cir::testing {
namespace {

namespace pb = google::protobuf;

std::vector<v1::ValueChainEvent> LoadScenario(const std::string& path) {
  std::vector<v1::ValueChainEvent> events;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto event = events::DecodeJson(line, events::Limits{});
    EXPECT_TRUE(event.has_value()) << line;
    if (event) events.push_back(*event);
  }
  return events;
}

std::map<std::string, v1::Output> LoadExpected(const std::string& path) {
  std::map<std::string, v1::Output> expected;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    v1::Output output;
    EXPECT_TRUE(pb::util::JsonStringToMessage(line, &output).ok()) << line;
    expected[output.has_transition() ? output.transition().id() : output.alert().id()] = output;
  }
  return expected;
}

std::int64_t StoredOffsets(storage::Register& reg) {
  std::int64_t total = 0;
  for (std::uint32_t p = 0; p < 4; ++p) {
    auto offset = reg.Offset(p, kInput);
    EXPECT_TRUE(offset.has_value());
    if (*offset) total += **offset;
  }
  return total;
}

// The oracle: the same events folded offline, in one partition, with the model cird uses.
std::map<std::string, v1::Output> Oracle(const std::vector<v1::ValueChainEvent>& events,
                                         const fs::path& dir) {
  storage::Options options;
  options.path = dir.string();
  options.sync = false;
  auto reg = storage::Register::Open(options);
  EXPECT_TRUE(reg.has_value());
  auto projector = model::MakeProjector(model::Config{});
  pb::Timestamp latest;
  for (const auto& e : events) {
    EXPECT_TRUE(storage::FireDueUntil(**reg, 0, e.event_time(), *projector).has_value());
    storage::AppendRequest request;
    request.events.push_back({e, "oracle", 0, std::nullopt});
    EXPECT_TRUE((*reg)->Append(request, *projector).has_value());
    if (e.event_time().seconds() > latest.seconds()) latest = e.event_time();
  }
  EXPECT_TRUE(storage::FireDueUntil(**reg, 0, latest, *projector).has_value());
  std::map<std::string, v1::Output> outputs;
  auto records = (*reg)->ReadOutbox(0, 0, 1000000);
  EXPECT_TRUE(records.has_value());
  for (const auto& r : *records) {
    const auto& o = r.output();
    outputs[o.has_transition() ? o.transition().id() : o.alert().id()] = o;
  }
  return outputs;
}

TEST_F(PipelineTest, SampleScenarioInExpectedTransitionsAndAlertsOut) {
  const auto scenario = LoadScenario(CIR_SAMPLE_SCENARIO);
  ASSERT_EQ(scenario.size(), 60u);
  for (const auto& e : scenario) Publish(events::EncodeEvent(e, events::DataFormat::kJson));
  FlushProducer();
  auto cird = StartCird();
  const auto expected = LoadExpected(CIR_SAMPLE_EXPECTED);
  const auto got = Outputs(expected.size());
  ExpectSameOutputs(got, expected);
  EXPECT_EQ(cird->Terminate(), 0);
  // Every output record is keyed by its initiative and carries the CloudEvents attributes.
  for (const auto& record : Read(kTransitions, 1)) {
    auto output = events::DecodeOutput(record);
    ASSERT_TRUE(output.has_value());
    EXPECT_EQ(record.key.value_or(""), output->transition().initiative_id());
    EXPECT_EQ(record.Header("ce_specversion").value_or(""), "1.0");
    EXPECT_EQ(record.Header("ce_source").value_or(""), "//cird/cird");
    EXPECT_EQ(record.Header("ce_type").value_or(""), "dev.cir.v1.StepTransition");
    EXPECT_EQ(record.Header("content-type").value_or(""), "application/protobuf");
  }
}

TEST_F(PipelineTest, BadRecordsGoToTheDeadLetterTopicWithTheirReason) {
  // All keyed by one initiative, so they share a partition and its order.
  const auto proposed = events::EncodeEvent(Proposed("DLQ-1", "p", 0), events::DataFormat::kJson);
  Publish(proposed);
  events::Record malformed = proposed;
  malformed.value = "{not json";
  Publish(malformed);
  events::Record no_id = events::EncodeEvent(Baseline("DLQ-1", "b0", 1), events::DataFormat::kJson);
  std::erase_if(no_id.headers, [](const auto& h) { return h.first == "ce_id"; });
  no_id.value =
      R"({"source":"//test/pipeline","initiativeId":"DLQ-1","activity":"ACTIVITY_IMPROVE","eventTime":"2026-01-02T00:00:00Z","baselineMeasured":{"kpi":"k","value":1,"method":"MEASUREMENT_METHOD_AUDIT"}})";
  Publish(no_id);
  events::Record oversized =
      events::EncodeEvent(Baseline("DLQ-1", "b1", 1), events::DataFormat::kProtobuf);
  oversized.value = std::string(70 * 1024, 'x');
  Publish(oversized);
  Publish(events::EncodeEvent(Baseline("DLQ-1", "b2", 2), events::DataFormat::kProtobuf));
  // Valid on the wire, but for an initiative never proposed: the model rejects it.
  const auto orphan = events::EncodeEvent(Baseline("DLQ-1", "b3", 3), events::DataFormat::kJson);
  events::Record orphan_record = orphan;
  orphan_record.key = "NOBODY";
  orphan_record.value = std::string(*orphan.value);
  for (auto& [k, v] : orphan_record.headers) {
    if (k == "ce_subject") v = "NOBODY";
  }
  orphan_record.value->replace(orphan_record.value->find("DLQ-1"), 5, "NOBODY");
  Publish(orphan_record);
  FlushProducer();

  auto cird = StartCird();
  auto dead = Read(kDeadLetters, 4);
  ASSERT_EQ(dead.size(), 4u);
  // The model's rejection keeps the record as it arrived: original key, value and headers.
  auto it = std::find_if(dead.begin(), dead.end(), [](const events::Record& r) {
    return r.Header("cir_dlq_reason_code").value_or("") == "UNKNOWN_INITIATIVE";
  });
  ASSERT_NE(it, dead.end());
  EXPECT_EQ(it->key.value_or(""), "NOBODY");
  EXPECT_EQ(it->value, orphan_record.value);
  EXPECT_EQ(it->Header("ce_id").value_or(""), "b3");
  dead.erase(it);
  const std::vector<std::string> want_codes = {"DECODE_ERROR", "MISSING_ATTRIBUTE", "OVERSIZED"};
  for (std::size_t i = 0; i < dead.size(); ++i) {
    const auto& d = dead[i];
    EXPECT_EQ(d.Header("cir_dlq_reason_code").value_or(""), want_codes[i]);
    EXPECT_FALSE(d.Header("cir_dlq_reason").value_or("").empty());
    EXPECT_EQ(d.Header("cir_dlq_source_topic").value_or(""), kInput);
    EXPECT_EQ(d.Header("cir_dlq_source_offset").value_or(""), std::to_string(i + 1));
    EXPECT_EQ(d.key.value_or(""), "DLQ-1");
  }
  EXPECT_EQ(dead[0].value.value_or(""), "{not json");
  // An oversized record keeps its first 64 KiB (it must fit the dead-letter topic) and says so.
  // Oversized for the input limit, but within --max-dead-letter-bytes: kept whole, nothing cut.
  EXPECT_EQ(dead[2].value->size(), 70u * 1024);
  EXPECT_FALSE(dead[2].Header("cir_dlq_truncated").has_value());
  EXPECT_EQ(dead[1].Header("ce_source").value_or(""), "//test/pipeline");  // original headers kept

  // The valid records around them were appended: VISION, then CURRENT_STATE.
  const auto outputs = Outputs(2);
  EXPECT_EQ(outputs.size(), 2u);
  EXPECT_TRUE(outputs.count("DLQ-1/t/1"));
  EXPECT_TRUE(outputs.count("DLQ-1/t/2"));
  EXPECT_EQ(cird->Terminate(), 0);
  auto reg = OpenRegister(dir_ / "register");
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ(AppendedIds(*reg, "DLQ-1").size(), 2u);
  EXPECT_EQ(StoredOffsets(*reg), 6);  // every record consumed, none blocking the partition
}

TEST_F(PipelineTest, SameEventPublishedTwiceIsAppendedOnce) {
  const auto proposed = events::EncodeEvent(Proposed("DUP-1", "p", 0), events::DataFormat::kJson);
  Publish(proposed);
  Publish(proposed);
  Publish(events::EncodeEvent(Baseline("DUP-1", "b", 1), events::DataFormat::kProtobuf));
  Publish(proposed);
  FlushProducer();
  auto cird = StartCird();
  EXPECT_EQ(Outputs(2).size(), 2u);
  EXPECT_EQ(cird->Terminate(), 0);
  auto reg = OpenRegister(dir_ / "register");
  ASSERT_NE(reg, nullptr);
  const auto ids = AppendedIds(*reg, "DUP-1");
  EXPECT_EQ(ids.size(), 2u);
  for (const auto& [id, copies] : ids) EXPECT_EQ(copies, 1) << id;
  auto stats = reg->GetStats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->duplicates_skipped, 2u);
  EXPECT_EQ(stats->events_appended, 2u);
}

TEST_F(PipelineTest, StoppedWithSigtermAndStartedAgainResumesExactly) {
  const auto scenario = LoadScenario(CIR_SAMPLE_SCENARIO);
  const std::size_t half = scenario.size() / 2;
  for (std::size_t i = 0; i < half; ++i) {
    Publish(events::EncodeEvent(scenario[i], events::DataFormat::kJson));
  }
  FlushProducer();
  auto cird = StartCird();
  // Let it take in the first half: wait until its outputs stop growing, then stop it.
  std::size_t last = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::size_t now = Read(kTransitions, 1, milliseconds(2000)).size() +
                                Read(kAlerts, 0, milliseconds(1000)).size();
        const bool settled = now > 0 && now == last;
        last = now;
        return settled;
      },
      milliseconds(60000)));
  ASSERT_EQ(cird->Terminate(), 0);
  {
    auto reg = OpenRegister(dir_ / "register");
    ASSERT_NE(reg, nullptr);
    EXPECT_EQ(StoredOffsets(*reg), static_cast<std::int64_t>(half));
  }
  for (std::size_t i = half; i < scenario.size(); ++i) {
    Publish(events::EncodeEvent(scenario[i], events::DataFormat::kJson));
  }
  FlushProducer();
  cird = StartCird();
  const auto expected = LoadExpected(CIR_SAMPLE_EXPECTED);
  ExpectSameOutputs(Outputs(expected.size()), expected);
  ASSERT_EQ(cird->Terminate(), 0);
  auto reg = OpenRegister(dir_ / "register");
  ASSERT_NE(reg, nullptr);
  auto stats = reg->GetStats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->events_appended, scenario.size());
  EXPECT_EQ(stats->duplicates_skipped, 0u);  // resumed at the stored offsets: nothing re-read
  EXPECT_EQ(StoredOffsets(*reg), static_cast<std::int64_t>(scenario.size()));
}

TEST_F(PipelineTest, KilledMidStreamLosesNothingAndAppendsNothingTwice) {
  constexpr int kInitiatives = 300;
  std::vector<v1::ValueChainEvent> all;
  for (int i = 0; i < kInitiatives; ++i) {
    // One timeline for all (days 0..8): in event-time mode a tick fires timers up to the newest
    // event time of any partition, so lives on different timelines could see stalls the oracle,
    // which only moves time event by event, never sees (services/cird/README.md, Time).
    for (auto& e : Life("K-" + std::to_string(i), 0)) all.push_back(std::move(e));
  }
  const auto expected = Oracle(all, dir_ / "oracle");
  ASSERT_EQ(expected.size(), 8u * kInitiatives);  // eight transitions each, no alerts

  // A third up front; the rest arrives while cird works, and cird is killed in the middle of it.
  std::size_t published = 0;
  auto publish_upto = [&](std::size_t n) { PublishUpTo(all, n, published); };
  publish_upto(all.size() / 3);
  auto cird = StartCird();
  ASSERT_TRUE(WaitFor([&] { return !Read(kTransitions, 1, milliseconds(1000)).empty(); },
                      milliseconds(60000)));
  for (int chunk = 0; chunk < 6; ++chunk) {
    publish_upto(published + 100);
    std::this_thread::sleep_for(milliseconds(30));
  }
  cird->Kill();  // SIGKILL, mid-stream
  {
    auto reg = OpenRegister(dir_ / "register");
    ASSERT_NE(reg, nullptr);
    const auto consumed = StoredOffsets(*reg);
    EXPECT_GT(consumed, 0);
    EXPECT_LE(consumed, static_cast<std::int64_t>(published));
    std::cerr << "killed after " << consumed << " of " << published << " published records\n";
  }
  publish_upto(all.size());
  cird = StartCird();
  const auto got = Outputs(expected.size(), milliseconds(120000));
  ExpectSameOutputs(got, expected);
  ASSERT_EQ(cird->Terminate(), 0);

  auto reg = OpenRegister(dir_ / "register");
  ASSERT_NE(reg, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectEveryLifeOnce(*reg, "K-", kInitiatives));
  auto stats = reg->GetStats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->events_appended, all.size());
  auto verify = reg->Verify(*model::MakeProjector(model::Config{}));
  ASSERT_TRUE(verify.has_value());
  EXPECT_TRUE(verify->problems.empty()) << verify->problems.front();
}

TEST_F(PipelineTest, MissingTopicStopsStartUpNamingIt) {
  auto cird = StartCird({"--alerts-topic", "no-such-topic"});
  int status = 0;
  ASSERT_TRUE(WaitFor([&] { return waitpid(cird->pid(), &status, WNOHANG) == cird->pid(); },
                      milliseconds(20000)));
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream log(dir_ / "cird.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("missing Kafka topics: no-such-topic"), std::string::npos) << text;
  cird->Reaped();
}

}  // namespace
}  // namespace cir::testing
