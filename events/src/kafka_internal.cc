// The librdkafka conversions and client set-up shared by the consumer, producer and topic reader.
#include "kafka_internal.h"

#include "cir/base/log.h"

namespace cir::events::internal {

Error KafkaError(std::string_view what, rd_kafka_resp_err_t err) {
  return Error{ErrorCode::kUnavailable, std::string(what) + ": " + rd_kafka_err2str(err)};
}

// Errors that sending the same record again cannot fix: the record itself is refused.
bool RecordRefused(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

// A delivery or produce error: kInvalidArgument when the record can never be produced (the
// caller moves it aside), kUnavailable when trying again may work.
Error ProduceError(std::string_view what, rd_kafka_resp_err_t err) {
  Error error = KafkaError(what, err);
  if (RecordRefused(err)) error.code = ErrorCode::kInvalidArgument;
  return error;
}

namespace {

// A conf with cir's defaults, then the caller's pass-through properties (which win).
Result<rd_kafka_conf_t*> MakeConf(
    const KafkaSettings& settings,
    std::initializer_list<std::pair<const char*, const char*>> defaults) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  auto set = [&](const std::string& key, const std::string& value) -> Result<void> {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return Fail(ErrorCode::kInvalidArgument,
                  "Kafka property '" + key + "': " + std::string(errstr));
    }
    return {};
  };
  Result<void> ok;
  if (!settings.brokers.empty()) ok = set("bootstrap.servers", settings.brokers);
  for (const auto& [key, value] : defaults) {
    if (ok) ok = set(key, value);
  }
  for (const auto& [key, value] : settings.properties) {
    if (ok) ok = set(key, value);
  }
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return std::unexpected(ok.error());
  }
  // librdkafka's own log lines, as cir's structured logs.
  rd_kafka_conf_set_log_cb(
      conf, [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
        const log::Level l = level <= 3   ? log::Level::kError
                             : level <= 4 ? log::Level::kWarn
                             : level <= 6 ? log::Level::kInfo
                                          : log::Level::kDebug;
        log::Write(l, buf,
                   {{"component", "librdkafka"}, {"facility", fac}, {"client", rd_kafka_name(rk)}});
      });
  return conf;
}

}  // namespace

Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, std::string_view what,
                              const KafkaSettings& settings,
                              std::initializer_list<std::pair<const char*, const char*>> defaults,
                              void* opaque, ConfSetup setup) {
  auto conf = MakeConf(settings, defaults);
  if (!conf) return std::unexpected(conf.error());
  if (opaque != nullptr) rd_kafka_conf_set_opaque(*conf, opaque);
  if (setup != nullptr) setup(*conf, opaque);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, *conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return Fail(ErrorCode::kInvalidArgument,
                "cannot create " + std::string(what) + ": " + std::string(errstr));
  }
  return rk;
}

std::vector<TopicPartition> ToVector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

rd_kafka_topic_partition_list_t* ToList(const std::vector<TopicPartition>& partitions) {
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = tp.offset;
  }
  return list;
}

Record ToRecord(const rd_kafka_message_t* msg) {
  Record record;
  record.topic = rd_kafka_topic_name(msg->rkt);
  record.partition = msg->partition;
  record.offset = msg->offset;
  if (msg->key != nullptr) {
    record.key = std::string(static_cast<const char*>(msg->key), msg->key_len);
  }
  if (msg->payload != nullptr) {
    record.value = std::string(static_cast<const char*>(msg->payload), msg->len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.headers.emplace_back(
          name, value ? std::string(static_cast<const char*>(value), size) : std::string());
    }
  }
  return record;
}

}  // namespace cir::events::internal
