// librdkafka's mock cluster (rdkafka_mock.h, librdkafka 2.0.2): the real Kafka protocol on
// loopback listeners, served by threads of this process. cird's --embedded-kafka, the tests' in-
// process clusters and the standalone test broker (tests/testing/mock_broker.cc) use it; its
// fault injection (brokers down, leader moves, request errors, latency) is what the fault tests
// drive. librdkafka types stay in mock_cluster.cc.
//
// Thread-safety: every method may be called from any thread (librdkafka hands each one to the
// cluster's own thread and waits for it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cir/base/error.h"

namespace cir::events {

class MockCluster {
 public:
  virtual ~MockCluster() = default;

  // `brokers` brokers with ids 1..brokers, each listening on 127.0.0.1 on a port of its own.
  [[nodiscard]] static Result<std::unique_ptr<MockCluster>> Start(int brokers);

  // "127.0.0.1:port,…", for bootstrap.servers.
  [[nodiscard]] virtual std::string Bootstraps() const = 0;

  [[nodiscard]] virtual Result<void> CreateTopic(const std::string& name, int partitions,
                                                 int replication_factor) = 0;

  // Takes a broker down (its connections are closed and new ones refused) or up; `broker_id` is
  // 1-based, -1 for all. Leadership does not move with it (a mock limitation): a partition led
  // by a broker that is down is unavailable until it is up again or SetLeader moves it.
  [[nodiscard]] virtual Result<void> SetBrokerUp(int broker_id, bool up) = 0;

  // Makes `broker_id` the leader of the partition (-1: leaderless). Clients learn it from
  // NOT_LEADER_FOR_PARTITION answers and the next metadata.
  [[nodiscard]] virtual Result<void> SetLeader(const std::string& topic, std::int32_t partition,
                                               int broker_id) = 0;

  // Delays every answer of `broker_id` (-1: all brokers) by `rtt_ms`.
  [[nodiscard]] virtual Result<void> SetRtt(int broker_id, int rtt_ms) = 0;

  // The next requests of `api_key` (the Kafka protocol request type: 0 Produce, 1 Fetch,
  // 12 Heartbeat, …) to any broker fail with `errors`, one each, in order. An error is named as
  // librdkafka names it without its prefix (`NOT_LEADER_FOR_PARTITION`, `_TRANSPORT`: the broker
  // disconnects the client) or given as a number. kInvalidArgument for an unknown name.
  [[nodiscard]] virtual Result<void> PushRequestErrors(std::int16_t api_key,
                                                       const std::vector<std::string>& errors) = 0;

  // Like PushRequestErrors, for one broker, each error with a delay of its answer in ms (an
  // empty error name or "NO_ERROR": a delay only). These take precedence over the cluster's.
  [[nodiscard]] virtual Result<void> PushBrokerRequestErrors(
      int broker_id, std::int16_t api_key,
      const std::vector<std::pair<std::string, int>>& errors_and_rtts) = 0;

  // Drops the errors pushed for `api_key` to the whole cluster that were not used yet.
  virtual void ClearRequestErrors(std::int16_t api_key) = 0;
};

}  // namespace cir::events
