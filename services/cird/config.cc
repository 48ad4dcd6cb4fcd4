#include "config.h"

#include <cstdlib>
#include <map>

#include "cir/base/duration.h"
#include "cir/events/cloudevents.h"

namespace cir::cird {
namespace {

// Durations as flags, by the one rule of cir/base/duration.h: "250ms", "10s", "2m" (kept in
// milliseconds).
void AddDuration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                 const std::string& env, const std::string& help) {
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

// A flag with its environment variable, its default shown in --help.
template <typename T>
CLI::Option* AddSetting(CLI::App& app, const std::string& name, T& target, const std::string& env,
                        const std::string& help) {
  return app.add_option(name, target, help)->envname(env)->capture_default_str();
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
  AddSetting(app, "--input-topic", input_topics, "CIRD_INPUT_TOPICS",
             "value-chain topic(s) to consume; several must be co-partitioned (repeatable)")
      ->delimiter(',');
  AddSetting(app, "--group-id", group_id, "CIRD_GROUP_ID", "Kafka consumer group");
  AddSetting(app, "--transitions-topic", transitions_topic, "CIRD_TRANSITIONS_TOPIC",
             "topic for StepTransition records");
  AddSetting(app, "--alerts-topic", alerts_topic, "CIRD_ALERTS_TOPIC",
             "topic for MomentumAlert records (may equal --transitions-topic)");
  AddSetting(app, "--dead-letter-topic", dead_letter_topic, "CIRD_DEAD_LETTER_TOPIC",
             "topic for rejected input records");
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
  AddSetting(app, "--embedded-partitions", embedded_partitions, "CIRD_EMBEDDED_PARTITIONS",
             "partitions of the input topic created by --embedded-kafka");
}

void Config::RegisterPipeline(CLI::App& app) {
  app.add_option("--data-dir", data_dir,
                 "register directory (RocksDB); with --embedded-kafka a temp directory by default")
      ->envname("CIRD_DATA_DIR");
  AddSetting(app, "--sync", sync, "CIRD_SYNC",
             "fsync the register's WAL on every batch (true|false)");
  AddSetting(app, "--block-cache-mb", block_cache_mb, "CIRD_BLOCK_CACHE_MB",
             "RocksDB block cache size in MiB");
  AddSetting(app, "--write-buffer-mb", write_buffer_mb, "CIRD_WRITE_BUFFER_MB",
             "RocksDB memtable size in MiB per large column family; also the free space the "
             "register waits for before it resumes after a full disk");
  AddSetting(app, "--max-batch", max_batch, "CIRD_MAX_BATCH",
             "records appended in one RocksDB batch at most");
  AddDuration(app, "--max-batch-wait", max_batch_wait, "CIRD_MAX_BATCH_WAIT",
              "how long a partial batch may wait for more records");
  AddDuration(app, "--tick-interval", tick_interval, "CIRD_TICK_INTERVAL",
              "how often due timers are looked for (wall-clock time mode)");
  AddSetting(app, "--timers-per-tick", timers_per_tick, "CIRD_TIMERS_PER_TICK",
             "timers fired per partition per tick at most");
  AddDuration(app, "--shutdown-grace", shutdown_grace, "CIRD_SHUTDOWN_GRACE",
              "on SIGTERM/SIGINT: time to finish the batch, drain the outbox and commit");
  AddDuration(app, "--startup-timeout", startup_timeout, "CIRD_STARTUP_TIMEOUT",
              "how long to wait for Kafka metadata at start-up");
  app.add_option("--time", time_mode,
                 "wall: timers fire by the wall clock; event: at their due-time as event time "
                 "passes (replays, demos, tests)")
      ->envname("CIRD_TIME")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, TimeMode>{{"wall", TimeMode::kWall}, {"event", TimeMode::kEvent}},
          CLI::ignore_case))
      ->default_str("wall");
  AddDuration(app, "--event-time-max-ahead", event_time_max_ahead, "CIRD_EVENT_TIME_MAX_AHEAD",
              "with --time=event, how far past the wall clock event time may move timers");
  app.add_option("--accept-offset-gap", accept_offset_gaps,
                 "TOPIC:PARTITION (or 'all') whose stored offset is outside the partition's log "
                 "(retention deleted unconsumed records, or the topic was recreated): resume it at "
                 "the log start, counted in cir_offset_gaps_accepted_total; without this flag such "
                 "a partition pauses and /readyz names it (repeatable)")
      ->envname("CIRD_ACCEPT_OFFSET_GAPS")
      ->delimiter(',');
  AddSetting(app, "--max-dead-letter-bytes", limits.max_dead_letter_bytes,
             "CIRD_MAX_DEAD_LETTER_BYTES",
             "a dead letter is cut to this size (key, headers, then value; header "
             "cir_dlq_truncated says what) so that the producer always takes it");
  app.add_option("--source", source, "CloudEvents source of outputs (default //cird/<group id>)")
      ->envname("CIRD_SOURCE");
  AddSetting(app, "--max-message-bytes", limits.max_message_bytes, "CIRD_MAX_MESSAGE_BYTES",
             "largest input record accepted; larger ones are dead-lettered");
}

void Config::RegisterHttp(CLI::App& app) {
  AddSetting(app, "--http-address", http_address, "CIRD_HTTP_ADDRESS",
             "address of the HTTP server (/metrics, /livez, /readyz)");
  AddSetting(app, "--http-port", http_port, "CIRD_HTTP_PORT",
             "port of the HTTP server; 0 picks a free one");
  AddSetting(app, "--health-port", health_port, "CIRD_HEALTH_PORT",
             "also serve /metrics, /livez and /readyz (only those) on this port, with "
             "threads of their own that no API client can hold; -1: off, 0: a free port");
  AddSetting(app, "--http-threads", http_threads, "CIRD_HTTP_THREADS",
             "HTTP worker threads (each open connection holds one); API requests may use "
             "all but 4, which stay free for /livez, /readyz and /metrics");
  AddDuration(app, "--http-request-timeout", http_request_timeout, "CIRD_HTTP_REQUEST_TIMEOUT",
              "a request's head must arrive within this, and then its body within this; a "
              "slower client is cut off (408)");
  AddDuration(app, "--stats-interval", stats_interval, "CIRD_STATS_INTERVAL",
              "how often register-wide gauges (initiatives, alerts firing, outbox, RocksDB) are "
              "refreshed");
  AddSetting(app, "--ready-max-lag", ready_max_lag, "CIRD_READY_MAX_LAG",
             "/readyz fails while the consumer lag (all owned partitions) is above this");
  AddDuration(app, "--ready-max-outbox-age", ready_max_outbox_age, "CIRD_READY_MAX_OUTBOX_AGE",
              "/readyz fails while the oldest undelivered output is older than this");
  if (const char* token = std::getenv("CIRD_API_TOKEN")) api_token = token;
  AddSetting(app, "--api-rate-limit", api_rate_limit, "CIRD_API_RATE_LIMIT",
             "HTTP requests per second the server answers (a token bucket; 0: unlimited); "
             "beyond it, 429");
  AddSetting(app, "--api-max-body-bytes", api_max_body_bytes, "CIRD_API_MAX_BODY_BYTES",
             "largest HTTP request body; beyond it, 413");
  AddSetting(app, "--log-level", log_level, "CIRD_LOG_LEVEL", "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
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
