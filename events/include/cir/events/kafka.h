// cir's Kafka clients, over librdkafka's C API: a consumer in a consumer group with incremental
// (cooperative-sticky) rebalancing whose start offsets come from the caller, an idempotent producer
// with delivery reports, and a reader of whole topics (the mock cluster is in mock_cluster.h).
// librdkafka types stay in kafka.cc; records cross this boundary as events::Record.
//
// Thread-safety: each client is used from one thread (cird's ingest thread); the rebalance
// handler and delivery callback run on that thread, from inside Poll().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cir/base/error.h"
#include "cir/events/cloudevents.h"
#include "cir/events/mock_cluster.h"  // MockCluster, for the embedded default

namespace cir::events {

struct KafkaSettings {
  std::string brokers;  // bootstrap.servers
  // Any librdkafka property, passed through as is (SASL, TLS, timeouts, …). Applied after cir's
  // own defaults, so it can override them.
  std::vector<std::pair<std::string, std::string>> properties;
};

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;  // next offset to read; < 0: none stored (read from the beginning)
};

// A partition's consumer lag as librdkafka's statistics report it (-1: not known yet), with the
// partition's low and high watermarks (-1: not known yet), from which a caller that knows its
// position can compute the lag when librdkafka does not (an idle partition after a restart).
struct PartitionLag {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t lag = -1;
  std::int64_t low = -1;
  std::int64_t high = -1;
};

class RebalanceHandler {
 public:
  virtual ~RebalanceHandler() = default;
  // Partitions are being assigned: set each one's `offset` to where consumption must start.
  virtual void OnAssign(std::vector<TopicPartition>& partitions) = 0;
  // Partitions are being revoked (`lost`: another member may own them already). Anything pending
  // for them must be finished before returning.
  virtual void OnRevoke(const std::vector<TopicPartition>& partitions, bool lost) = 0;
  // The offset a partition was started at is outside its log (below the log start: retention
  // deleted records not yet consumed; above the end: the topic was recreated). The consumer does
  // not skip: the partition fetches nothing until AcceptGap. `partition.offset` is the offset
  // asked for; `detail` is librdkafka's text. Called from inside Poll.
  virtual void OnOffsetGap(const TopicPartition& partition, const std::string& detail) = 0;
};

// A partition's log: [low, high) are the offsets it holds.
struct Watermarks {
  std::int64_t low = 0;
  std::int64_t high = 0;
};

class Consumer {
 public:
  virtual ~Consumer() = default;

  // A consumer in `group_id`, subscribed to `topics`, with enable.auto.offset.store=false (offsets
  // are stored with StoreOffsets once the register has them) and the cooperative-sticky assignor.
  // `handler` is not owned and must outlive the consumer. `on_lag`, when given, receives the
  // lag of every assigned partition each statistics.interval.ms (default here: 5 s), from
  // inside Poll. Errors name the bad property.
  using LagCallback = std::function<void(const std::vector<PartitionLag>&)>;
  [[nodiscard]] static Result<std::unique_ptr<Consumer>> Create(
      const KafkaSettings& settings, const std::string& group_id,
      const std::vector<std::string>& topics, RebalanceHandler* handler,
      LagCallback on_lag = nullptr);

  // The next record, or nullopt when none arrived within `timeout`. Transient errors are logged
  // by librdkafka and retried; a fatal one is returned; an offset outside a partition's log goes
  // to the handler's OnOffsetGap.
  [[nodiscard]] virtual Result<std::optional<Record>> Poll(std::chrono::milliseconds timeout) = 0;

  // Marks offsets (the next offset to read) for the background commit.
  [[nodiscard]] virtual Result<void> StoreOffsets(const std::vector<TopicPartition>& offsets) = 0;

  // Commits the stored offsets now (synchronously).
  [[nodiscard]] virtual Result<void> Commit() = 0;

  // The partition's watermarks, asked of its leader (blocks up to `timeout`).
  [[nodiscard]] virtual Result<Watermarks> QueryWatermarks(const std::string& topic,
                                                           std::int32_t partition,
                                                           std::chrono::milliseconds timeout) = 0;

  // The partition's watermarks as the last fetch response told them (no request); nullopt
  // before the first one. Cheap enough to call on every poll.
  [[nodiscard]] virtual std::optional<Watermarks> CachedWatermarks(const std::string& topic,
                                                                   std::int32_t partition) = 0;

  // Resumes a partition stopped by an offset gap at `offset` (an operator accepted the gap).
  [[nodiscard]] virtual Result<void> Seek(const TopicPartition& partition,
                                          std::chrono::milliseconds timeout) = 0;

  // Stops (pause) or restarts (!pause) fetching every partition assigned now (a partition
  // assigned later is not paused). Records Poll already returned stay with the caller; a
  // restarted partition is fetched again from just after the last record Poll returned of it.
  [[nodiscard]] virtual Result<void> PauseAll(bool pause) = 0;

  // Leaves the group (revoking through the handler) and closes. Idempotent.
  virtual void Close() = 0;
};

class Producer {
 public:
  // Called once per produced record from inside Poll/Flush: `tag` is what Produce was given;
  // `error` is empty when the broker acknowledged the record (acks=all).
  using DeliveryCallback = std::function<void(std::uint64_t tag, std::optional<Error> error)>;

  virtual ~Producer() = default;

  // An idempotent producer (enable.idempotence=true, acks=all). `on_delivery` may be empty.
  [[nodiscard]] static Result<std::unique_ptr<Producer>> Create(const KafkaSettings& settings,
                                                               DeliveryCallback on_delivery);

  // Queues a record for `topic` (partitioned by key). kUnavailable when the local queue is full:
  // call Poll and try again.
  [[nodiscard]] virtual Result<void> Produce(const std::string& topic, const Record& record,
                                             std::uint64_t tag) = 0;

  // Serves delivery reports for up to `timeout`.
  virtual void Poll(std::chrono::milliseconds timeout) = 0;

  // Waits until every queued record is delivered or `timeout` passes (kUnavailable).
  [[nodiscard]] virtual Result<void> Flush(std::chrono::milliseconds timeout) = 0;

  // Records queued or in flight.
  [[nodiscard]] virtual int InFlight() const = 0;

  // Topics the cluster does not have, among `topics` (a metadata request).
  [[nodiscard]] virtual Result<std::vector<std::string>> MissingTopics(
      const std::vector<std::string>& topics, std::chrono::milliseconds timeout) = 0;
};

// Reads topics from their beginning, without a consumer group (tools, the demo, tests).
class TopicReader {
 public:
  virtual ~TopicReader() = default;
  // Fails with kNotFound naming a topic that does not exist.
  [[nodiscard]] static Result<std::unique_ptr<TopicReader>> Create(
      const KafkaSettings& settings, const std::vector<std::string>& topics,
      std::chrono::milliseconds metadata_timeout);
  // The next record, or nullopt when none arrived within `timeout`.
  [[nodiscard]] virtual std::optional<Record> Poll(std::chrono::milliseconds timeout) = 0;
};

// Reads every record of `topic` from the beginning: polls until `count` records arrived or
// `timeout` passed.
[[nodiscard]] Result<std::vector<Record>> ReadTopic(const KafkaSettings& settings,
                                                    const std::string& topic, std::size_t count,
                                                    std::chrono::milliseconds timeout);

}  // namespace cir::events
