#include "config.h"

#include <cstdlib>
#include <map>
#include <span>
#include <variant>

#include "cir/base/duration.h"
#include "cir/events/cloudevents.h"

namespace cir::cird {
namespace {

// Durations as flags, by the one rule of cir/base/duration.h: "250ms", "10s", "2m" (kept in
// milliseconds).
void AddFlag(CLI::App& app, const std::string& name, const std::string& env,
             std::chrono::milliseconds& target, const std::string& help) {
  app.add_option_function<std::string>(
         name,
         [&target, name](const std::string& text) {
           auto parsed = base::ParseDuration(name, text);
           if (!parsed) throw CLI::ValidationError(parsed.error().message);
           target = *parsed;
         },
         help + " (default " + std::to_string(target.count()) + "ms)")
      ->envname(env);
}

// Any other setting: CLI11 parses the value; its default is shown in --help.
template <typename T>
void AddFlag(CLI::App& app, const std::string& name, const std::string& env, T& target,
             const std::string& help) {
  app.add_option(name, target, help)->envname(env)->capture_default_str();
}

// One flag with its environment variable: a row of the tables in Register*.
struct Setting {
  const char* name;
  const char* env;
  std::variant<std::string*, std::vector<std::string>*, bool*, int*, std::size_t*, std::int64_t*,
               double*, std::chrono::milliseconds*>
      target;
  const char* help;
};

void AddSetting(CLI::App& app, const Setting& row) {
  std::visit([&](auto* target) { AddFlag(app, row.name, row.env, *target, row.help); }, row.target);
}

void AddSettings(CLI::App& app, std::span<const Setting> rows) {
  for (const Setting& row : rows) AddSetting(app, row);
}

}  // namespace

void Config::Register(CLI::App& app) {
  RegisterKafka(app);
  RegisterPipeline(app);
  RegisterHttp(app);
}

void Config::RegisterKafka(CLI::App& app) {
  app.add_option("--brokers", brokers, "Kafka bootstrap servers (host:port,…)")
      ->envname("CIRD_BROKERS");
  const Setting rows[] = {
      {"--input-topic", "CIRD_INPUT_TOPICS", &input_topics,
       "value-chain topic(s) to consume; several must be co-partitioned (repeatable)"},
      {"--group-id", "CIRD_GROUP_ID", &group_id, "Kafka consumer group"},
      {"--transitions-topic", "CIRD_TRANSITIONS_TOPIC", &transitions_topic,
       "topic for StepTransition records"},
      {"--alerts-topic", "CIRD_ALERTS_TOPIC", &alerts_topic,
       "topic for MomentumAlert records (may equal --transitions-topic)"},
      {"--dead-letter-topic", "CIRD_DEAD_LETTER_TOPIC", &dead_letter_topic,
       "topic for rejected input records"},
  };
  AddSettings(app, rows);
  app.get_option("--input-topic")->delimiter(',');
  app.add_option("--kafka-property", kafka_properties,
                 "librdkafka property KEY=VALUE for every client, e.g. security.protocol=SASL_SSL "
                 "(repeatable; overrides cird's defaults)")
      ->envname("CIRD_KAFKA_PROPERTIES")
      ->delimiter(';');
  app.add_option("--group-instance-id", group_instance_id,
                 "static group membership id (group.instance.id), e.g. the pod name, so that a "
                 "restarted replica gets its partitions back without a rebalance")
      ->envname("CIRD_GROUP_INSTANCE_ID");
  // Secrets: from the environment only, never a flag (flags show in process listings).
  if (const char* user = std::getenv("CIRD_KAFKA_SASL_USERNAME")) sasl_username = user;
  if (const char* password = std::getenv("CIRD_KAFKA_SASL_PASSWORD")) sasl_password = password;
  app.add_flag("--embedded-kafka", embedded_kafka,
               "start librdkafka's mock cluster (3 brokers) in-process, create the topics, print "
               "its bootstrap address, and use it")
      ->envname("CIRD_EMBEDDED_KAFKA");
  AddSetting(app, {"--embedded-partitions", "CIRD_EMBEDDED_PARTITIONS", &embedded_partitions,
                   "partitions of the input topic created by --embedded-kafka"});
}

void Config::RegisterPipeline(CLI::App& app) {
  app.add_option("--data-dir", data_dir,
                 "register directory (RocksDB); with --embedded-kafka a temp directory by default")
      ->envname("CIRD_DATA_DIR");
  const Setting rows[] = {
      {"--sync", "CIRD_SYNC", &sync,
       "fsync the register's WAL once per flush, before its outputs are produced (true|false)"},
      {"--block-cache-mb", "CIRD_BLOCK_CACHE_MB", &block_cache_mb,
       "RocksDB block cache size in MiB"},
      {"--write-buffer-mb", "CIRD_WRITE_BUFFER_MB", &write_buffer_mb,
       "RocksDB memtable size in MiB per large column family; also the free space the register "
       "waits for before it resumes after a full disk"},
      {"--max-batch", "CIRD_MAX_BATCH", &max_batch,
       "records appended in one RocksDB batch at most"},
      {"--max-in-flight", "CIRD_MAX_IN_FLIGHT", &max_in_flight,
       "outputs produced to Kafka and not yet reported delivered, at most (bounds their memory)"},
      {"--max-batch-wait", "CIRD_MAX_BATCH_WAIT", &max_batch_wait,
       "how long a partial batch may wait for more records"},
      {"--tick-interval", "CIRD_TICK_INTERVAL", &tick_interval,
       "how often due timers are looked for (wall-clock time mode)"},
      {"--timers-per-tick", "CIRD_TIMERS_PER_TICK", &timers_per_tick,
       "timers fired per partition per tick at most"},
      {"--shutdown-grace", "CIRD_SHUTDOWN_GRACE", &shutdown_grace,
       "on SIGTERM/SIGINT: time to finish the batch, drain the outbox and commit"},
      {"--startup-timeout", "CIRD_STARTUP_TIMEOUT", &startup_timeout,
       "how long to wait for Kafka metadata at start-up"},
  };
  AddSettings(app, rows);
  app.add_option("--time", time_mode,
                 "wall: timers fire by the wall clock; event: at their due-time as event time "
                 "passes (replays, demos, tests)")
      ->envname("CIRD_TIME")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, TimeMode>{{"wall", TimeMode::kWall}, {"event", TimeMode::kEvent}},
          CLI::ignore_case))
      ->default_str("wall");
  AddSetting(app, {"--event-time-max-ahead", "CIRD_EVENT_TIME_MAX_AHEAD", &event_time_max_ahead,
                   "with --time=event, how far past the wall clock event time may move timers"});
  app.add_option("--accept-offset-gap", accept_offset_gaps,
                 "TOPIC:PARTITION (or 'all') whose stored offset is outside the partition's log "
                 "(retention deleted unconsumed records, or the topic was recreated): resume it at "
                 "the log start, counted in cir_offset_gaps_accepted_total; without this flag such "
                 "a partition pauses and /readyz names it (repeatable)")
      ->envname("CIRD_ACCEPT_OFFSET_GAPS")
      ->delimiter(',');
  AddSetting(
      app, {"--max-dead-letter-bytes", "CIRD_MAX_DEAD_LETTER_BYTES", &limits.max_dead_letter_bytes,
            "a dead letter is cut to this size (key, headers, then value; header "
            "cir_dlq_truncated says what) so that the producer always takes it"});
  app.add_option("--source", source, "CloudEvents source of outputs (default //cird/<group id>)")
      ->envname("CIRD_SOURCE");
  AddSetting(app, {"--max-message-bytes", "CIRD_MAX_MESSAGE_BYTES", &limits.max_message_bytes,
                   "largest input record accepted; larger ones are dead-lettered"});
}

void Config::RegisterHttp(CLI::App& app) {
  const Setting rows[] = {
      {"--http-address", "CIRD_HTTP_ADDRESS", &http_address,
       "address of the HTTP server (/metrics, /livez, /readyz)"},
      {"--http-port", "CIRD_HTTP_PORT", &http_port, "port of the HTTP server; 0 picks a free one"},
      {"--health-port", "CIRD_HEALTH_PORT", &health_port,
       "also serve /metrics, /livez and /readyz (only those) on this port, with threads of their "
       "own that no API client can hold; -1: off, 0: a free port"},
      {"--http-threads", "CIRD_HTTP_THREADS", &http_threads,
       "HTTP worker threads (each open connection holds one); API requests may use all but 4, "
       "which stay free for /livez, /readyz and /metrics"},
      {"--http-request-timeout", "CIRD_HTTP_REQUEST_TIMEOUT", &http_request_timeout,
       "a request's head must arrive within this, and then its body within this; a slower client "
       "is cut off (408)"},
      {"--stats-interval", "CIRD_STATS_INTERVAL", &stats_interval,
       "how often register-wide gauges (initiatives, alerts firing, outbox, RocksDB) are "
       "refreshed"},
      {"--ready-max-lag", "CIRD_READY_MAX_LAG", &ready_max_lag,
       "/readyz fails while the consumer lag (all owned partitions) is above this"},
      {"--ready-max-outbox-age", "CIRD_READY_MAX_OUTBOX_AGE", &ready_max_outbox_age,
       "/readyz fails while the oldest undelivered output is older than this"},
      {"--api-rate-limit", "CIRD_API_RATE_LIMIT", &api_rate_limit,
       "HTTP requests per second the server answers (a token bucket; 0: unlimited); beyond it, "
       "429"},
      {"--api-max-body-bytes", "CIRD_API_MAX_BODY_BYTES", &api_max_body_bytes,
       "largest HTTP request body; beyond it, 413"},
      {"--log-level", "CIRD_LOG_LEVEL", &log_level, "debug, info, warn or error"},
  };
  AddSettings(app, rows);
  app.get_option("--log-level")->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  if (const char* token = std::getenv("CIRD_API_TOKEN")) api_token = token;
  model_flags.Register(app);
  app.footer(
      "Secrets come from the environment only, never from flags: CIRD_KAFKA_SASL_USERNAME and "
      "CIRD_KAFKA_SASL_PASSWORD (set together; they become sasl.username/sasl.password), and "
      "CIRD_API_TOKEN (at least 16 characters; turns on POST /v1/events with "
      "'Authorization: Bearer <token>').");
}

Result<void> Config::Validate() const {
  auto bad = [](const std::string& message) { return Fail(ErrorCode::kInvalidArgument, message); };
  if (brokers.empty() && !embedded_kafka) {
    return bad("--brokers (CIRD_BROKERS) is required unless --embedded-kafka is given");
  }
  if (data_dir.empty() && !embedded_kafka) return bad("--data-dir (CIRD_DATA_DIR) is required");
  if (input_topics.empty()) return bad("--input-topic: at least one topic is required");
  for (const auto& t : input_topics) {
    if (t.empty()) return bad("--input-topic: empty topic name");
    if (t == transitions_topic || t == alerts_topic || t == dead_letter_topic) {
      return bad("--input-topic '" + t + "' is also an output topic");
    }
  }
  if (group_id.empty()) return bad("--group-id must not be empty");
  if (transitions_topic.empty()) return bad("--transitions-topic must not be empty");
  if (alerts_topic.empty()) return bad("--alerts-topic must not be empty");
  if (dead_letter_topic.empty()) return bad("--dead-letter-topic must not be empty");
  if (max_batch == 0 || max_batch > 100000) return bad("--max-batch must be 1..100000");
  if (max_in_flight == 0 || max_in_flight > 1000000) {
    return bad("--max-in-flight must be 1..1000000");
  }
  if (timers_per_tick == 0) return bad("--timers-per-tick must be > 0");
  if (tick_interval.count() <= 0) return bad("--tick-interval must be > 0");
  if (block_cache_mb == 0) return bad("--block-cache-mb must be > 0");
  if (write_buffer_mb == 0) return bad("--write-buffer-mb must be > 0");
  if (embedded_partitions < 1 || embedded_partitions > 1000) {
    return bad("--embedded-partitions must be 1..1000");
  }
  if (limits.max_message_bytes < 1024) return bad("--max-message-bytes must be >= 1024");
  {
    std::size_t producer_max = 1000000;  // librdkafka's message.max.bytes default
    for (const auto& [key, value] : KafkaProperties()) {
      if (key == "message.max.bytes") producer_max = std::strtoull(value.c_str(), nullptr, 10);
    }
    // A cut dead letter keeps its bounded parts (events::kMinDeadLetterBytes).
    const std::size_t least = events::kMinDeadLetterBytes;
    if (limits.max_dead_letter_bytes < least || limits.max_dead_letter_bytes > producer_max) {
      return bad("--max-dead-letter-bytes must be " + std::to_string(least) + ".." +
                 std::to_string(producer_max) + " (at most the producer's message.max.bytes)");
    }
  }
  if (event_time_max_ahead.count() < 0) return bad("--event-time-max-ahead must be >= 0");
  for (const auto& gap : accept_offset_gaps) {
    const auto colon = gap.rfind(':');
    if (gap == "all") continue;
    if (colon == std::string::npos || colon == 0 || colon + 1 == gap.size() ||
        gap.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return bad("--accept-offset-gap '" + gap + "': expected TOPIC:PARTITION or all");
    }
  }
  if (http_port < 0 || http_port > 65535) return bad("--http-port must be 0..65535");
  if (health_port < -1 || health_port > 65535) return bad("--health-port must be -1..65535");
  if (http_threads < 8 || http_threads > 1024) return bad("--http-threads must be 8..1024");
  if (http_request_timeout.count() < 100) return bad("--http-request-timeout must be >= 100ms");
  if (stats_interval.count() <= 0) return bad("--stats-interval must be > 0");
  if (ready_max_lag < 0) return bad("--ready-max-lag must be >= 0");
  if (api_rate_limit < 0) return bad("--api-rate-limit must be >= 0");
  if (api_max_body_bytes < 1024) return bad("--api-max-body-bytes must be >= 1024");
  if (!api_token.empty() && api_token.size() < 16) {
    return bad("CIRD_API_TOKEN must be at least 16 characters");
  }
  if (sasl_username.empty() != sasl_password.empty()) {
    return bad("CIRD_KAFKA_SASL_USERNAME and CIRD_KAFKA_SASL_PASSWORD must be set together");
  }
  for (const auto& p : kafka_properties) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return bad("--kafka-property '" + p + "': expected KEY=VALUE");
    }
  }
  if (auto model = model_flags.ToConfig(); !model) return std::unexpected(model.error());
  return {};
}

bool Config::AcceptsOffsetGap(const std::string& topic, std::int32_t partition) const {
  for (const auto& gap : accept_offset_gaps) {
    if (gap == "all" || gap == topic + ":" + std::to_string(partition)) return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> Config::KafkaProperties() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!sasl_username.empty()) {
    out.emplace_back("sasl.username", sasl_username);
    out.emplace_back("sasl.password", sasl_password);
  }
  for (const auto& p : kafka_properties) {
    const auto eq = p.find('=');
    out.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  return out;
}

}  // namespace cir::cird
