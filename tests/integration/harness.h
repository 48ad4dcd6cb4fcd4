// Integration-test harness: librdkafka's mock cluster (3 brokers) in the test process (or the
// standalone broker: broker_harness.h), the real cird binary as a child process pointed at it,
// and helpers to publish, read topics and wait.
#pragma once

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cir/events/cloudevents.h"
#include "cir/events/kafka.h"
#include "../testing/child_process.h"

namespace cir::testing {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

inline constexpr const char* kInput = "cir.value-chain";
inline constexpr const char* kTransitions = "cir.transitions";
inline constexpr const char* kAlerts = "cir.alerts";
inline constexpr const char* kDeadLetters = "cir.dead-letters";

// Waits for `done` with a deadline; true when it held in time. Polls every 50 ms.
inline bool WaitFor(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return done();
}

// A cird child process. Its stderr (structured logs) goes to a file in the test's directory.
class CirdProcess {
 public:
  CirdProcess(const std::string& brokers, const fs::path& data_dir, const fs::path& log,
              std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {CIR_CIRD_BINARY,
                                     "--brokers", brokers,
                                     "--data-dir", data_dir.string(),
                                     "--time", "event",
                                     "--shutdown-grace", "5s",
                                     "--http-address", "127.0.0.1",
                                     "--http-port", "0",
                                     // Keep rebalances short on the mock (DESIGN.md §5).
                                     "--kafka-property", "session.timeout.ms=6000",
                                     "--kafka-property", "heartbeat.interval.ms=500"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = Spawn(std::move(args), log.string());
  }
  ~CirdProcess() {
    if (pid_ > 0) Kill();
  }

  pid_t pid() const { return pid_; }
  // The caller reaped the process itself.
  void Reaped() { pid_ = -1; }

  // SIGTERM, then waits (bounded); returns the exit code, or -1 when it had to be killed.
  int Terminate(milliseconds timeout = milliseconds(20000)) {
    if (pid_ <= 0) return -1;  // never started (kill(-1) would signal every process)
    ::kill(pid_, SIGTERM);
    int status = 0;
    const bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!exited) {
      Kill();
      return -1;
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cir-integration-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    bootstraps_ = StartCluster();
    ASSERT_FALSE(bootstraps_.empty());
    auto producer = events::Producer::Create(Settings(), nullptr);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);
  }

  // The cluster the test runs on, with cird's four topics (4 partitions each); returns its
  // bootstrap servers ("" on failure). Here librdkafka's mock in this process; tests on the
  // standalone broker (broker_harness.h) override it.
  virtual std::string StartCluster() {
    auto mock = events::MockCluster::Start(3);
    EXPECT_TRUE(mock.has_value()) << mock.error().message;
    if (!mock) return "";
    mock_ = std::move(*mock);
    for (const char* topic : {kInput, kTransitions, kAlerts, kDeadLetters}) {
      if (!mock_->CreateTopic(topic, 4, 3)) return "";
    }
    return mock_->Bootstraps();
  }

  void TearDown() override {
    if (HasFailure()) {  // the last 200 lines of cird's log
      std::ifstream log(dir_ / "cird.log");
      std::deque<std::string> lines;
      for (std::string line; std::getline(log, line);) {
        lines.push_back(std::move(line));
        if (lines.size() > 200) lines.pop_front();
      }
      for (const auto& line : lines) std::cerr << "cird.log: " << line << "\n";
    }
    producer_.reset();
    mock_.reset();
    fs::remove_all(dir_);
  }

  events::KafkaSettings Settings() const { return {bootstraps_, {}}; }

  // The HTTP port the running cird logged ("http listening"), waiting for it up to 20 s.
  int HttpPort() {
    int port = 0;
    WaitFor(
        [&] {
          std::ifstream log(dir_ / "cird.log");
          for (std::string line; std::getline(log, line);) {
            const auto at = line.find("\"msg\":\"http listening\"");
            const auto p = line.find("\"port\":");
            if (at != std::string::npos && p != std::string::npos) {
              port = std::atoi(line.c_str() + p + 7);
            }
          }
          return port > 0;
        },
        milliseconds(20000));
    return port;
  }

  std::unique_ptr<CirdProcess> StartCird(std::vector<std::string> extra = {}) {
    return std::make_unique<CirdProcess>(bootstraps_, dir_ / "register", dir_ / "cird.log",
                                         std::move(extra));
  }

  void Publish(const events::Record& record) {
    ASSERT_TRUE(producer_->Produce(kInput, record, 0).has_value());
  }
  void FlushProducer() { ASSERT_TRUE(producer_->Flush(milliseconds(10000)).has_value()); }
  // Publishes `all[published, n)` (protobuf, capped at all's end), flushes, advances `published`.
  void PublishUpTo(const std::vector<v1::ValueChainEvent>& all, std::size_t n,
                   std::size_t& published) {
    for (; published < n && published < all.size(); ++published) {
      Publish(events::EncodeEvent(all[published], events::DataFormat::kProtobuf));
    }
    FlushProducer();
  }

  // The records of `topic`, from the beginning: waits for at least `count` (until `timeout`),
  // then reads on until nothing more arrives for half a second.
  std::vector<events::Record> Read(const std::string& topic, std::size_t count,
                                   milliseconds timeout = milliseconds(30000)) {
    auto reader = events::TopicReader::Create(Settings(), {topic}, milliseconds(10000));
    EXPECT_TRUE(reader.has_value()) << reader.error().message;
    std::vector<events::Record> records;
    if (reader) ReadOn(**reader, records, count, timeout);
    return records;
  }
  // Appends what `reader` polls to `records` until there are at least `count` (until `timeout`),
  // then reads on until nothing more arrives for half a second.
  static void ReadOn(events::TopicReader& reader, std::vector<events::Record>& records,
                     std::size_t count, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto last = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto record = reader.Poll(milliseconds(50))) {
        records.push_back(std::move(*record));
        last = std::chrono::steady_clock::now();
      } else if (records.size() >= count &&
                 std::chrono::steady_clock::now() - last > milliseconds(500)) {
        break;
      }
    }
  }

  // Transitions and alerts, decoded, by ce_id. Fails the test on a duplicate id whose content
  // differs from the first copy.
  std::map<std::string, v1::Output> Outputs(std::size_t count,
                                           milliseconds timeout = milliseconds(30000)) {
    std::map<std::string, v1::Output> outputs;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (outputs.size() < count && std::chrono::steady_clock::now() < deadline) {
      outputs.clear();
      for (const char* topic : {kTransitions, kAlerts}) {
        for (const auto& record : Read(topic, 0, milliseconds(5000))) {
          auto output = events::DecodeOutput(record);
          EXPECT_TRUE(output.has_value()) << output.error().message;
          if (!output) continue;
          const std::string id = std::string(record.Header("ce_id").value_or(""));
          auto [it, inserted] = outputs.emplace(id, *output);
          if (!inserted) {
            EXPECT_EQ(it->second.SerializeAsString(), output->SerializeAsString())
                << "two different outputs with id " << id;
          }
        }
      }
    }
    return outputs;
  }

  fs::path dir_;
  std::string bootstraps_;
  std::unique_ptr<events::MockCluster> mock_;  // when the cluster is in this process
  std::unique_ptr<events::Producer> producer_;
};

// A PipelineTest with a cird whose API takes writes (CIRD_API_TOKEN = kToken): StartApi starts it
// and learns its HTTP port; TearDown stops it, expecting a clean exit.
class ApiPipelineTest : public PipelineTest {
 protected:
  static constexpr const char* kToken = "test-token-0123456789";

  void StartApi(std::vector<std::string> extra = {}) {
    setenv("CIRD_API_TOKEN", kToken, 1);
    cird_ = StartCird(std::move(extra));
    port_ = HttpPort();
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (cird_) {
      EXPECT_EQ(cird_->Terminate(), 0);
    }
    unsetenv("CIRD_API_TOKEN");
    PipelineTest::TearDown();
  }

  std::unique_ptr<CirdProcess> cird_;
  int port_ = 0;
};

}  // namespace cir::testing
