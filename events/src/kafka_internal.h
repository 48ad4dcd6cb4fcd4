// Internal to cir::events: the librdkafka conversions and the configuration shared by the
// consumer (consumer.cc), the producer (producer.cc) and the topic reader (topic_reader.cc).
// librdkafka's C API is used throughout, as in mock_cluster.cc: rdkafka_mock.h has no C++ binding.
// Not thread-safe by itself; each function only touches its arguments.
#pragma once

#include <librdkafka/rdkafka.h>

#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

#include "cir/events/kafka.h"

namespace cir::events::internal {

// kUnavailable with `what` and librdkafka's description of `err`.
[[nodiscard]] Error KafkaError(std::string_view what, rd_kafka_resp_err_t err);

// Errors that sending the same record again cannot fix: the record itself is refused.
[[nodiscard]] bool RecordRefused(rd_kafka_resp_err_t err);

// A delivery or produce error: kInvalidArgument when the record can never be produced (the
// caller moves it aside), kUnavailable when trying again may work.
[[nodiscard]] Error ProduceError(std::string_view what, rd_kafka_resp_err_t err);

// A client of `type` on a conf with cir's `defaults`, then the caller's pass-through properties
// (which win), logging through cir's structured logs; `opaque` is the callbacks' opaque and
// `setup` may install callbacks on the conf before the client is created. The caller owns the
// returned handle (rd_kafka_destroy). kInvalidArgument on a bad property or client.
using ConfSetup = void (*)(rd_kafka_conf_t* conf, void* opaque);
[[nodiscard]] Result<rd_kafka_t*> NewClient(
    rd_kafka_type_t type, std::string_view what, const KafkaSettings& settings,
    std::initializer_list<std::pair<const char*, const char*>> defaults, void* opaque = nullptr,
    ConfSetup setup = nullptr);

// Conversions; the caller owns a returned list (rd_kafka_topic_partition_list_destroy).
[[nodiscard]] std::vector<TopicPartition> ToVector(const rd_kafka_topic_partition_list_t* list);
[[nodiscard]] rd_kafka_topic_partition_list_t* ToList(
    const std::vector<TopicPartition>& partitions);
[[nodiscard]] Record ToRecord(const rd_kafka_message_t* msg);

}  // namespace cir::events::internal
