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
#include "circtl_runner.h"
#include "event_builders.h"
#include "harness.h"
#include "http_client.h"
#include "lives.h"
#include "cir/storage/stream_time.h"

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

// Compares two output sets id by id, field by field.
void ExpectSameOutputs(const std::map<std::string, v1::Output>& got,
                       const std::map<std::string, v1::Output>& want) {
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [id, output] : want) {
    auto it = got.find(id);
    if (it == got.end()) {
      ADD_FAILURE() << "missing output " << id;
      continue;
    }
    std::string diff;
    pb::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(it->second, output)) << id << ": " << diff;
  }
  for (const auto& [id, output] : got) {
    if (!want.count(id)) ADD_FAILURE() << "unexpected output " << id;
  }
}

// Opens the register cird left behind (cird must have stopped).
std::unique_ptr<storage::Register> OpenRegister(const fs::path& dir) {
  storage::Options options;
  options.path = dir.string();
  options.create_if_missing = false;
  auto reg = storage::Register::Open(options);
  EXPECT_TRUE(reg.has_value()) << reg.error().message;
  return reg ? std::move(*reg) : nullptr;
}

// Value-chain events (not timer firings) of an initiative, by id, counting copies.
std::map<std::string, int> AppendedIds(storage::Register& reg, const std::string& initiative) {
  std::map<std::string, int> ids;
  auto partitions = reg.Partitions();
  EXPECT_TRUE(partitions.has_value());
  for (std::uint32_t p : *partitions) {
    auto history = reg.History(p, initiative);
    EXPECT_TRUE(history.has_value());
    for (const auto& e : *history) {
      if (e.has_value_chain()) ++ids[e.value_chain().source() + "|" + e.value_chain().id()];
    }
  }
  return ids;
}

// Initiatives `prefix`0 … `prefix`(count - 1) each hold the nine events of a Life(), every one
// appended once.
void ExpectEveryLifeOnce(storage::Register& reg, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) {
    const auto ids = AppendedIds(reg, prefix + std::to_string(i));
    ASSERT_EQ(ids.size(), 9u) << prefix << i;
    for (const auto& [id, copies] : ids) ASSERT_EQ(copies, 1) << id;
  }
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
  no_id.value = R"({"source":"//test/pipeline","initiativeId":"DLQ-1","activity":"ACTIVITY_IMPROVE","eventTime":"2026-01-02T00:00:00Z","baselineMeasured":{"kpi":"k","value":1,"method":"MEASUREMENT_METHOD_AUDIT"}})";
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

// ---- a full disk ---------------------------------------------------------------------------------

// The data directory on a small tmpfs (mount(2): root only; skipped otherwise), unmounted after
// the test whatever happened.
class DiskFullTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    if (HasFatalFailure()) return;
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs for the data directory needs root";
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
  cird_ = std::make_unique<CirdProcess>(mock_->Bootstraps(), data_ / "register",
                                        dir_ / "cird.log",
                                        std::vector<std::string>{"--write-buffer-mb", "1",
                                                                 "--stats-interval", "200ms"});
  const int port = HttpPort();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(WaitFor([&] { return !Read(kTransitions, 1, milliseconds(1000)).empty(); },
                      milliseconds(30000)));

  // The disk fills while the other two thirds arrive.
  Fill();
  publish_upto(all.size());
  ASSERT_TRUE(StallsFor(port, "no_space", milliseconds(30000))) << Get(port, "/readyz").body;
  EXPECT_EQ(Metric(port, "cir_register_write_stalled{reason=\"no_space\"}"), 1);
  EXPECT_TRUE(WaitFor([&] {
    const double free_bytes = Metric(port, "cir_data_dir_free_bytes");
    return free_bytes >= 0 && free_bytes < 1 << 20;
  }, milliseconds(5000)));
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
    cird_ = std::make_unique<CirdProcess>(mock_->Bootstraps(), data_ / "register",
                                          dir_ / "cird.log",
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
    const int fd = ::open((data_ / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                          0644);
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
  ASSERT_TRUE(WaitFor([&] {
    const auto space = storage::DiskSpaceOf(data_.string());
    return space && space->free_bytes == 0;
  }, milliseconds(10000)));

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
            << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() -
                                                        stopping).count()
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

// ---- a read-only disk ----------------------------------------------------------------------------

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
    image_ = data_ / "ext4.img";
    ext_ = dir_ / "ext4";
    fs::create_directory(ext_);
    if (Shell("truncate -s 48M " + image_.string() + " && mkfs.ext4 -q -F " + image_.string()) !=
        0) {
      GTEST_SKIP() << "mkfs.ext4 is missing or failed: an ext4 image needs e2fsprogs";
    }
    if (!MountExt4()) GTEST_SKIP() << "cannot loop-mount an ext4 image (no loop devices?)";
    std::ifstream mounts("/proc/mounts");
    for (std::string source, target, rest;
         mounts >> source >> target && std::getline(mounts, rest);) {
      if (target == ext_.string()) {
        trigger_ = fs::path("/sys/fs/ext4") / fs::path(source).filename() / "trigger_fs_error";
      }
    }
    if (trigger_.empty() || !fs::exists(trigger_)) {
      GTEST_SKIP() << "no ext4 trigger_fs_error for " << ext_ << " in /sys/fs/ext4";
    }
  }
  void TearDown() override {
    cird_.reset();
    if (ext_mounted_) ::umount2(ext_.c_str(), 0);  // the loop device goes with it (autoclear)
    DiskFullTest::TearDown();
  }

  static int Shell(const std::string& command) {
    const int status = std::system((command + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  bool MountExt4() {
    ext_mounted_ = Shell("mount -o loop,errors=remount-ro " + image_.string() + " " +
                         ext_.string()) == 0;
    return ext_mounted_;
  }
  // What a disk error does: ext4 remounts itself read-only (the "emergency_ro" mount option).
  void FailTheDisk() {
    std::ofstream trigger(trigger_);
    ASSERT_TRUE(trigger << "cir ReadOnlyDiskTest" << std::flush) << "cannot write " << trigger_;
  }
  // The repair an operator does: unmount, check, mount again (read-write).
  void RepairTheDisk() {
    ASSERT_EQ(::umount2(ext_.c_str(), 0), 0) << std::strerror(errno);
    ext_mounted_ = false;
    const int fsck = Shell("e2fsck -fy " + image_.string());
    ASSERT_TRUE(fsck == 0 || fsck == 1) << "e2fsck exited " << fsck;  // 1: errors corrected
    ASSERT_TRUE(MountExt4());
  }

  fs::path image_;
  fs::path ext_;
  fs::path trigger_;  // the mounted image's /sys/fs/ext4/<loop device>/trigger_fs_error
  bool ext_mounted_ = false;
};

TEST_F(ReadOnlyDiskTest, ADiskTurningReadOnlyPausesCirdLiveAndItCarriesOnOnceRepaired) {
  constexpr int kInitiatives = 60;
  const auto expected = Lives("R-", kInitiatives);
  const CirctlRunner circtl(CIR_CIRCTL_BINARY, dir_);
  const fs::path register_dir = ext_ / "register";

  PublishLives(1, 3);
  int port = StartOn(register_dir, true);
  ASSERT_GT(port, 0);

  // The disk fails while the rest arrives: a pause, not an exit.
  ASSERT_NO_FATAL_FAILURE(FailTheDisk());
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
  ASSERT_NO_FATAL_FAILURE(RepairTheDisk());
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
