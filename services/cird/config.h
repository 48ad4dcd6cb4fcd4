// cird's settings: every one a flag with an environment variable (CIRD_*), listed by --help with
// its default. Validate() stops start-up with a message naming the bad setting.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cir/base/error.h"
#include "cir/events/codec.h"
#include "cir/model/config.h"
#include "cir/model/flags.h"

namespace cir::cird {

enum class TimeMode {
  kWall,   // timers fire when the wall clock reaches them (production)
  kEvent,  // timers fire at their due-time as the event time of the input passes them
           // (replays, demos, tests: the same outputs as `circtl replay`)
};

struct Config {
  // Kafka
  std::string brokers;
  std::vector<std::string> input_topics{"cir.value-chain"};
  std::string group_id = "cird";
  std::string transitions_topic = "cir.transitions";
  std::string alerts_topic = "cir.alerts";
  std::string dead_letter_topic = "cir.dead-letters";
  std::vector<std::string> kafka_properties;  // "key=value", passed to librdkafka as is
  std::string group_instance_id;   // static membership (e.g. the pod name)
  std::string sasl_username;       // from CIRD_KAFKA_SASL_USERNAME only
  std::string sasl_password;       // from CIRD_KAFKA_SASL_PASSWORD only
  bool embedded_kafka = false;
  int embedded_partitions = 4;

  // Register
  std::string data_dir;
  bool sync = true;
  std::size_t block_cache_mb = 64;
  std::size_t write_buffer_mb = 16;

  // Pipeline
  std::size_t max_batch = 500;
  // Outputs produced and not yet reported delivered, at most (each held by cird and librdkafka).
  std::size_t max_in_flight = 10000;
  std::chrono::milliseconds max_batch_wait{20};
  std::chrono::milliseconds tick_interval{1000};
  std::size_t timers_per_tick = 1000;
  std::chrono::milliseconds shutdown_grace{10000};
  std::chrono::milliseconds startup_timeout{10000};
  TimeMode time_mode = TimeMode::kWall;
  // --time=event: event time never counts beyond the wall clock plus this (a record dated 9999
  // cannot fire every timer of the register).
  std::chrono::milliseconds event_time_max_ahead{std::chrono::hours(24 * 30)};
  // Partitions whose offset gap (stored offset outside the log) an operator accepted:
  // "TOPIC:PARTITION" or "all". Others pause on a gap.
  std::vector<std::string> accept_offset_gaps;
  std::string source;  // ce_source of outputs; default "//cird/<group id>"
  events::Limits limits;
  model::ModelFlags model_flags;
  std::string log_level = "info";

  // HTTP: /metrics, /livez, /readyz
  std::string http_address = "0.0.0.0";
  int http_port = 8080;
  std::chrono::milliseconds stats_interval{5000};   // register figures for the metrics
  int health_port = -1;        // a second listener with only /metrics, /livez, /readyz; -1: off
  int http_threads = 32;       // HTTP worker threads; the API may use all but 4 of them
  std::chrono::milliseconds http_request_timeout{10000};  // request head, and body, each
  std::int64_t ready_max_lag = 1000;
  std::chrono::milliseconds ready_max_outbox_age{60000};

  // Read API (same HTTP server)
  std::string api_token;          // from CIRD_API_TOKEN only; empty: POST /v1/events is off
  double api_rate_limit = 200;    // requests/s over the whole HTTP server; 0: unlimited
  std::size_t api_max_body_bytes = 1 << 20;

  // Adds every flag (with its CIRD_* environment variable) to `app`.
  void Register(CLI::App& app);
  // Checks the settings; the error names the flag.
  [[nodiscard]] Result<void> Validate() const;
  // Kafka pass-through properties as pairs ("a=b" → {"a","b"}).
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> KafkaProperties() const;
  // Whether a gap in (topic, partition) was accepted with --accept-offset-gap.
  [[nodiscard]] bool AcceptsOffsetGap(const std::string& topic, std::int32_t partition) const;

 private:
  // Register's three parts, in --help order: Kafka and the embedded cluster; the register and
  // the pipeline; the HTTP server, readiness, the API, logging and the model's flags.
  void RegisterKafka(CLI::App& app);
  void RegisterPipeline(CLI::App& app);
  void RegisterHttp(CLI::App& app);
};

}  // namespace cir::cird
