// Integration tests on the standalone mock broker (cir_mock_broker, tests/testing/): the cluster is
// a process of its own that outlives every cird the test starts, kills and restarts, and that the
// test drives with faults. Plus what those tests compare against: `circtl replay` (the real binary)
// of the same input, and a comparison of the output topics with it.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "circtl_runner.h"
#include "harness.h"
#include "mock_broker_process.h"
#include "raw_http.h"

namespace cir::testing {

// Under the sanitizers everything runs several times slower: the tests take fewer initiatives
// (the faults and kills stay the same).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

class StandaloneBrokerTest : public PipelineTest {
 protected:
  std::string StartCluster() override {
    std::string error;
    broker_ = MockBrokerProcess::Start(BrokerOptions(), &error);
    EXPECT_NE(broker_, nullptr) << error;
    return broker_ ? broker_->bootstraps() : "";
  }

  MockBrokerProcess::Options BrokerOptions() const {
    MockBrokerProcess::Options options;
    options.brokers = 3;
    for (const char* topic : {kInput, kTransitions, kAlerts, kDeadLetters}) {
      options.topics.push_back(std::string(topic) + ":4:3");
    }
    options.log_path = (dir_ / "broker.log").string();
    return options;
  }

  // Replaces the broker with a new, empty one (new ports, topics recreated empty): what a
  // cluster whose topics were deleted and recreated looks like to cird. The test's producer is
  // recreated for it; cird processes must be restarted with the new bootstraps_.
  void RestartBroker() {
    producer_.reset();
    broker_.reset();
    bootstraps_ = StartCluster();
    ASSERT_FALSE(bootstraps_.empty());
    auto producer = events::Producer::Create(Settings(), nullptr);
    ASSERT_TRUE(producer.has_value()) << producer.error().message;
    producer_ = std::move(*producer);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::ifstream log(dir_ / "broker.log");
      std::string line;
      int n = 0;
      while (std::getline(log, line) && n++ < 60) {
        if (line.find("\"command\"") != std::string::npos)
          std::cerr << "broker.log: " << line << "\n";
      }
    }
    producer_.reset();
    broker_.reset();
    PipelineTest::TearDown();
  }

  // The real circtl (tests/testing/circtl_runner.h) in the test's directory.
  std::pair<int, std::string> Circtl(const std::string& args) { return Runner().Run(args); }
  // `circtl replay` of `events` into a register of its own: every output, by id.
  std::map<std::string, v1::Output> Replay(const std::vector<v1::ValueChainEvent>& events) {
    return Runner().Replay(events);
  }
  // `circtl verify` of cird's register (cird stopped): true when it says "register OK"; `report`
  // gets its output.
  bool Verify(std::string* report = nullptr) {
    return Runner().Verify(dir_ / "register", report);
  }
  CirctlRunner Runner() const { return CirctlRunner(CIR_CIRCTL_BINARY, dir_); }

  // cird's /metrics, summed per family name over labels: {"cir_transitions_total": 1600, …}.
  // Empty when it did not answer.
  static std::map<std::string, double> Metrics(int port) {
    std::map<std::string, double> sums;
    const RawReply reply = Exchange(port, Request("GET", "/metrics"));
    if (reply.status != 200) return sums;
    std::istringstream lines(reply.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line[0] == '#') continue;
      const auto name_end = line.find_first_of("{ ");
      const auto value_at = line.rfind(' ');
      if (name_end == std::string::npos || value_at == std::string::npos) continue;
      sums[line.substr(0, name_end)] += std::atof(line.c_str() + value_at + 1);
    }
    return sums;
  }

  std::unique_ptr<MockBrokerProcess> broker_;
};

// The output topics compared with the replay, by ce_id.
struct Comparison {
  std::size_t records = 0;      // output records read
  std::size_t missing = 0;      // replay outputs not on the topics
  std::size_t conflicting = 0;  // same id, different content (from the replay or an earlier copy)
  std::size_t spurious = 0;     // ids the replay does not have
  std::size_t duplicates = 0;   // byte-identical extra copies (key, value, headers)
  std::vector<std::string> missing_ids;
  std::vector<std::string> problems;  // the conflicting and spurious ids, explained
};

inline std::string RecordBytes(const events::Record& r) {
  std::string bytes = r.key.value_or("<null>") + '\0' + r.value.value_or("<null>");
  for (const auto& [k, v] : r.headers) bytes += '\0' + k + '=' + v;
  return bytes;
}

inline Comparison CompareWithReplay(const std::vector<events::Record>& records,
                                    const std::map<std::string, v1::Output>& replay) {
  Comparison c;
  std::map<std::string, std::string> seen;  // id → bytes of its first copy
  for (const auto& record : records) {
    ++c.records;
    const std::string id(record.Header("ce_id").value_or(""));
    const std::string bytes = RecordBytes(record);
    if (auto it = seen.find(id); it != seen.end()) {
      if (it->second == bytes) {
        ++c.duplicates;
      } else {
        ++c.conflicting;
        c.problems.push_back(id + ": a second copy with different bytes");
      }
      continue;
    }
    seen.emplace(id, bytes);
    auto want = replay.find(id);
    if (want == replay.end()) {
      ++c.spurious;
      c.problems.push_back(id + ": not an output of the replay");
      continue;
    }
    auto got = events::DecodeOutput(record);
    if (!got || !google::protobuf::util::MessageDifferencer::Equals(*got, want->second)) {
      ++c.conflicting;
      c.problems.push_back(id + ": differs from the replay");
    }
  }
  for (const auto& [id, output] : replay) {
    if (!seen.count(id)) {
      ++c.missing;
      c.missing_ids.push_back(id);
    }
  }
  return c;
}

inline std::ostream& operator<<(std::ostream& out, const Comparison& c) {
  out << c.records << " records: " << c.missing << " missing, " << c.conflicting << " conflicting, "
      << c.spurious << " spurious, " << c.duplicates << " duplicates";
  for (std::size_t i = 0; i < c.problems.size() && i < 10; ++i) out << "\n  " << c.problems[i];
  for (std::size_t i = 0; i < c.missing_ids.size() && i < 10; ++i) {
    out << "\n  missing " << c.missing_ids[i];
  }
  return out;
}

}  // namespace cir::testing
