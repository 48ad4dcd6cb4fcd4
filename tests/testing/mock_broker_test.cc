// cir_mock_broker, the standalone mock broker: every command answered, a real producer and reader
// through it, its faults felt by clients, and every way it exits.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "cir/events/kafka.h"
#include "mock_broker_process.h"

namespace cir::testing {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<MockBrokerProcess> StartBroker(MockBrokerProcess::Options options = {}) {
  if (options.topics.empty()) options.topics = {"t:2:3"};
  std::string error;
  auto broker = MockBrokerProcess::Start(options, &error);
  EXPECT_NE(broker, nullptr) << error;
  return broker;
}

events::Record Rec(const std::string& key, const std::string& value) {
  events::Record r;
  r.key = key;
  r.value = value;
  r.headers = {{"h", "v-" + key}};
  return r;
}

// A producer whose delivery reports are collected by tag.
struct Reports {
  std::mutex mu;
  std::map<std::uint64_t, std::optional<Error>> by_tag;
  std::size_t Count() {
    std::lock_guard lock(mu);
    return by_tag.size();
  }
};

std::unique_ptr<events::Producer> MakeProducer(const std::string& brokers, Reports& reports,
                                               const std::string& message_timeout_ms = "30000") {
  events::KafkaSettings settings{brokers, {{"message.timeout.ms", message_timeout_ms}}};
  auto producer = events::Producer::Create(settings, [&](std::uint64_t tag, auto error) {
    std::lock_guard lock(reports.mu);
    reports.by_tag[tag] = std::move(error);
  });
  EXPECT_TRUE(producer.has_value()) << producer.error().message;
  return producer ? std::move(*producer) : nullptr;
}

bool PollUntil(events::Producer& producer, Reports& reports, std::size_t n, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (reports.Count() < n && std::chrono::steady_clock::now() < deadline) {
    producer.Poll(milliseconds(50));
  }
  return reports.Count() >= n;
}

TEST(MockBrokerTest, EveryCommandIsAnsweredOkOrWithTheReason) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  EXPECT_NE(broker->bootstraps().find("127.0.0.1:"), std::string::npos) << broker->bootstraps();
  EXPECT_EQ(broker->Command("ping"), "ok");
  EXPECT_EQ(broker->Command("bootstraps"), "ok " + broker->bootstraps());
  EXPECT_EQ(broker->Command("create-topic u 4 3"), "ok");
  EXPECT_EQ(broker->Command("broker-down 2"), "ok");
  EXPECT_EQ(broker->Command("broker-up 2"), "ok");
  EXPECT_EQ(broker->Command("broker-down -1"), "ok");
  EXPECT_EQ(broker->Command("broker-up -1"), "ok");
  EXPECT_EQ(broker->Command("leader u 1 2"), "ok");
  EXPECT_EQ(broker->Command("rtt -1 10"), "ok");
  EXPECT_EQ(broker->Command("rtt 3 0"), "ok");
  EXPECT_EQ(broker->Command("request-errors Produce NOT_LEADER_FOR_PARTITION _TRANSPORT"), "ok");
  EXPECT_EQ(broker->Command("request-errors 12 27"), "ok");  // Heartbeat REBALANCE_IN_PROGRESS
  EXPECT_EQ(broker->Command("clear-request-errors Produce"), "ok");
  EXPECT_EQ(broker->Command("clear-request-errors Heartbeat"), "ok");
  EXPECT_EQ(broker->Command("broker-request-errors 1 Fetch NO_ERROR:5 NOT_LEADER_FOR_PARTITION:0"),
            "ok");

  auto is_error = [&](const std::string& line) {
    const std::string answer = broker->Command(line);
    EXPECT_EQ(answer.rfind("error: ", 0), 0u) << line << " → " << answer;
    return answer;
  };
  EXPECT_NE(is_error("request-errors Produce NO_SUCH_ERROR").find("NO_SUCH_ERROR"),
            std::string::npos);
  is_error("");
  is_error("fly me to the moon");
  is_error("leader u");
  is_error("leader u x 1");
  is_error("create-topic v 0 1");
  is_error("rtt 1 -5");
  is_error("request-errors NoSuchApi _TRANSPORT");
  is_error("broker-request-errors 1 Fetch _TRANSPORT");     // no :RTT
  is_error("broker-request-errors 42 Fetch _TRANSPORT:0");  // no such broker
  EXPECT_EQ(broker->Command("ping"), "ok");                 // still serving after every bad line
  EXPECT_EQ(broker->Command("quit"), "ok");
  EXPECT_EQ(broker->Wait(milliseconds(10000)), 0);
}

TEST(MockBrokerTest, ProducerAndReaderThroughItSeeTheSameBytes) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  Reports reports;
  auto producer = MakeProducer(broker->bootstraps(), reports);
  ASSERT_NE(producer, nullptr);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(producer->Produce("t", Rec("k" + std::to_string(i), std::string(i, 'x')), i));
  }
  ASSERT_TRUE(producer->Flush(milliseconds(20000)).has_value());
  ASSERT_EQ(reports.Count(), 200u);
  for (const auto& [tag, error] : reports.by_tag) EXPECT_FALSE(error.has_value()) << tag;
  auto records = events::ReadTopic({broker->bootstraps(), {}}, "t", 200, milliseconds(20000));
  ASSERT_TRUE(records.has_value()) << records.error().message;
  ASSERT_EQ(records->size(), 200u);
  std::map<std::string, events::Record> by_key;
  for (const auto& r : *records) by_key.emplace(*r.key, r);
  ASSERT_EQ(by_key.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    const auto& r = by_key.at("k" + std::to_string(i));
    EXPECT_EQ(r.value, std::string(i, 'x'));
    EXPECT_EQ(r.Header("h").value_or(""), "v-k" + std::to_string(i));
  }
}

TEST(MockBrokerTest, BrokersDownFailDeliveryAndUpAgainLetARetryThrough) {
  auto broker = StartBroker({.brokers = 3, .topics = {"t:2:3"}});
  ASSERT_NE(broker, nullptr);
  Reports reports;
  // Short message timeout: with every broker down, the delivery report is an error.
  auto producer = MakeProducer(broker->bootstraps(), reports, "1500");
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->Produce("t", Rec("a", "first"), 1));
  ASSERT_TRUE(producer->Flush(milliseconds(10000)).has_value());  // connected and delivered
  ASSERT_EQ(broker->Command("broker-down -1"), "ok");
  ASSERT_TRUE(producer->Produce("t", Rec("b", "lost"), 2));
  ASSERT_TRUE(PollUntil(*producer, reports, 2, milliseconds(15000)));
  ASSERT_TRUE(reports.by_tag.at(2).has_value()) << "delivered with every broker down";
  EXPECT_EQ(reports.by_tag.at(2)->code, ErrorCode::kUnavailable);

  // Down while the record waits, up again within its timeout: librdkafka's retry delivers it.
  Reports retried;
  auto patient = MakeProducer(broker->bootstraps(), retried, "30000");
  ASSERT_NE(patient, nullptr);
  ASSERT_TRUE(patient->Produce("t", Rec("c", "retried"), 3));
  patient->Poll(milliseconds(1000));
  EXPECT_EQ(retried.Count(), 0u);
  ASSERT_EQ(broker->Command("broker-up -1"), "ok");
  ASSERT_TRUE(PollUntil(*patient, retried, 1, milliseconds(25000)));
  EXPECT_FALSE(retried.by_tag.at(3).has_value()) << retried.by_tag.at(3)->message;

  // Injected Produce errors are retried too: the record lands once.
  ASSERT_EQ(broker->Command("request-errors Produce NOT_LEADER_FOR_PARTITION "
                            "NOT_LEADER_FOR_PARTITION"),
            "ok");
  ASSERT_TRUE(patient->Produce("t", Rec("d", "after errors"), 4));
  ASSERT_TRUE(PollUntil(*patient, retried, 2, milliseconds(25000)));
  EXPECT_FALSE(retried.by_tag.at(4).has_value());
  auto records = events::ReadTopic({broker->bootstraps(), {}}, "t", 3, milliseconds(20000));
  ASSERT_TRUE(records.has_value());
  std::map<std::string, int> copies;
  for (const auto& r : *records) ++copies[*r.value];
  EXPECT_EQ(copies,
            (std::map<std::string, int>{{"first", 1}, {"retried", 1}, {"after errors", 1}}));
}

TEST(MockBrokerTest, ExitsOnEndOfInputSigtermAndMaxLifetime) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  EXPECT_EQ(broker->Stop(milliseconds(10000)), 0);
  broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  EXPECT_EQ(broker->Signal(SIGTERM, milliseconds(10000)), 0);
  broker = StartBroker({.brokers = 1, .topics = {"t:1:1"}, .max_lifetime_s = 1});
  ASSERT_NE(broker, nullptr);
  EXPECT_EQ(broker->Wait(milliseconds(10000)), 3);
  // A bad command line is refused.
  std::string error;
  EXPECT_EQ(MockBrokerProcess::Start({.topics = {"no-partitions"}}, &error), nullptr);
}

}  // namespace
}  // namespace cir::testing
