// MockCluster over librdkafka's mock cluster (rdkafka_mock.h, C API only).
#include "cir/events/mock_cluster.h"

#include <librdkafka/rdkafka.h>
// rdkafka.h must come first.
#include <librdkafka/rdkafka_mock.h>

#include <charconv>

#include "cir/base/log.h"

namespace cir::events {
namespace {

Error MockError(const std::string& what, rd_kafka_resp_err_t err) {
  return Error{ErrorCode::kUnavailable, what + ": " + rd_kafka_err2str(err)};
}

// "NOT_LEADER_FOR_PARTITION", "_TRANSPORT" (librdkafka's names without RD_KAFKA_RESP_ERR_), or a
// number; "" and "NO_ERROR" are no error.
Result<rd_kafka_resp_err_t> ParseError(const std::string& name) {
  if (name.empty()) return RD_KAFKA_RESP_ERR_NO_ERROR;
  int code = 0;
  const char* end = name.data() + name.size();
  if (auto [p, ec] = std::from_chars(name.data(), end, code); ec == std::errc() && p == end) {
    return static_cast<rd_kafka_resp_err_t>(code);
  }
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name != nullptr && name == descs[i].name) return descs[i].code;
  }
  return Fail(ErrorCode::kInvalidArgument, "unknown Kafka error '" + name + "'");
}

class Mock final : public MockCluster {
 public:
  ~Mock() override {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  Result<void> Init(int brokers) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_conf_set(conf, "client.id", "cir-mock-cluster", errstr, sizeof errstr);
    rd_kafka_conf_set_log_cb(conf,
                             [](const rd_kafka_t*, int level, const char* fac, const char* buf) {
                               if (level <= 4)
                                 log::Warn(buf, {{"component", "mock-cluster"}, {"facility", fac}});
                             });
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return Fail(ErrorCode::kInternal, "mock cluster handle: " + std::string(errstr));
    }
    cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (cluster_ == nullptr) return Fail(ErrorCode::kInternal, "cannot start the mock cluster");
    return {};
  }

  std::string Bootstraps() const override { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  Result<void> CreateTopic(const std::string& name, int partitions,
                           int replication_factor) override {
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication_factor);
    if (err) return std::unexpected(MockError("create topic " + name, err));
    return {};
  }

  Result<void> SetBrokerUp(int broker_id, bool up) override {
    const rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(cluster_, broker_id)
                                       : rd_kafka_mock_broker_set_down(cluster_, broker_id);
    if (err) return std::unexpected(MockError("broker state", err));
    return {};
  }

  Result<void> SetLeader(const std::string& topic, std::int32_t partition, int broker_id) override {
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id);
    if (err) return std::unexpected(MockError("set leader", err));
    return {};
  }

  Result<void> SetRtt(int broker_id, int rtt_ms) override {
    const rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms);
    if (err) return std::unexpected(MockError("set rtt", err));
    return {};
  }

  Result<void> PushRequestErrors(std::int16_t api_key,
                                 const std::vector<std::string>& errors) override {
    std::vector<rd_kafka_resp_err_t> codes;
    for (const auto& name : errors) {
      auto code = ParseError(name);
      if (!code) return std::unexpected(code.error());
      codes.push_back(*code);
    }
    rd_kafka_mock_push_request_errors_array(cluster_, api_key, codes.size(), codes.data());
    return {};
  }

  Result<void> PushBrokerRequestErrors(
      int broker_id, std::int16_t api_key,
      const std::vector<std::pair<std::string, int>>& errors_and_rtts) override {
    std::vector<std::pair<rd_kafka_resp_err_t, int>> parsed;
    for (const auto& [name, rtt] : errors_and_rtts) {
      auto code = ParseError(name);
      if (!code) return std::unexpected(code.error());
      parsed.emplace_back(*code, rtt);
    }
    // One call an entry: each appends to the broker's stack, which answers from its front.
    for (const auto& [code, rtt] : parsed) {
      const rd_kafka_resp_err_t err =
          rd_kafka_mock_broker_push_request_error_rtts(cluster_, broker_id, api_key, 1, code, rtt);
      if (err) return std::unexpected(MockError("push request errors", err));
    }
    return {};
  }

  void ClearRequestErrors(std::int16_t api_key) override {
    rd_kafka_mock_clear_request_errors(cluster_, api_key);
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers) {
  auto mock = std::make_unique<Mock>();
  if (auto ok = mock->Init(brokers); !ok) return std::unexpected(ok.error());
  return mock;
}

}  // namespace cir::events
