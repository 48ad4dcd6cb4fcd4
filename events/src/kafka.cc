// librdkafka behind cir's Kafka interfaces (the mock cluster is in mock_cluster.cc). librdkafka's
// C API is used throughout, as in mock_cluster.cc: rdkafka_mock.h has no C++ binding.
#include "cir/events/kafka.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "cir/log.h"

namespace cir::events {
namespace {

using std::chrono::milliseconds;

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
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t* rk, int level, const char* fac,
                                    const char* buf) {
    const log::Level l = level <= 3 ? log::Level::kError
                         : level <= 4 ? log::Level::kWarn
                         : level <= 6 ? log::Level::kInfo
                                      : log::Level::kDebug;
    log::Write(l, buf, {{"component", "librdkafka"}, {"facility", fac},
                        {"client", rd_kafka_name(rk)}});
  });
  return conf;
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
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.headers.emplace_back(
          name, value ? std::string(static_cast<const char*>(value), size) : std::string());
    }
  }
  return record;
}

// The lag of every assigned ("desired") partition in a librdkafka statistics document
// (STATISTICS.md: topics.<name>.partitions.<id>; partition -1 is the internal UA partition).
// consumer_lag_stored (from the offsets stored after each register write) is fresher than
// consumer_lag (from the last commit), so it is preferred.
std::vector<PartitionLag> ParseLag(const char* json, size_t size) {
  std::vector<PartitionLag> lags;
  const auto doc = nlohmann::json::parse(json, json + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("topics")) return lags;
  for (const auto& [topic, t] : doc["topics"].items()) {
    if (!t.contains("partitions")) continue;
    for (const auto& [id, p] : t["partitions"].items()) {
      const int partition = std::atoi(id.c_str());
      if (partition < 0 || !p.value("desired", false)) continue;
      std::int64_t lag = p.value("consumer_lag_stored", std::int64_t{-1});
      const std::int64_t hi = p.value("hi_offset", std::int64_t{-1});
      const std::int64_t lo = p.value("lo_offset", std::int64_t{-1});
      const std::int64_t app = p.value("app_offset", std::int64_t{-1});
      if (lag < 0) lag = p.value("consumer_lag", std::int64_t{-1});
      if (lag < 0 && hi >= 0 && app >= 0) lag = std::max<std::int64_t>(hi - app, 0);
      if (lag < 0 && hi >= 0 && hi == lo) lag = 0;  // an empty partition: nothing to catch up on
      lags.push_back({topic, partition, lag, lo, hi});
    }
  }
  return lags;
}

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(RebalanceHandler* handler, LagCallback on_lag)
      : handler_(handler), on_lag_(std::move(on_lag)) {}
  ~KafkaConsumer() override { Close(); }

  Result<void> Init(const KafkaSettings& settings, const std::string& group_id,
                    const std::vector<std::string>& topics) {
    auto conf = MakeConf(settings, {{"group.id", group_id.c_str()},
                                    {"enable.auto.offset.store", "false"},
                                    {"enable.auto.commit", "true"},
                                    {"auto.commit.interval.ms", "1000"},
                                    // An offset outside the log is an error, never a skip:
                                    // OnOffsetGap decides (cird pauses; an operator accepts).
                                    {"auto.offset.reset", "error"},
                                    {"partition.assignment.strategy", "cooperative-sticky"},
                                    {"isolation.level", "read_committed"},
                                    {"statistics.interval.ms", on_lag_ ? "5000" : "0"},
                                    {"client.id", "cird-consumer"}});
    if (!conf) return std::unexpected(conf.error());
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_rebalance_cb(*conf, &KafkaConsumer::OnRebalance);
    if (on_lag_) {
      rd_kafka_conf_set_stats_cb(*conf, [](rd_kafka_t*, char* json, size_t size, void* opaque) {
        auto* self = static_cast<KafkaConsumer*>(opaque);
        self->on_lag_(ParseLag(json, size));
        return 0;  // librdkafka frees the document
      });
    }
    char errstr[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(*conf);
      return Fail(ErrorCode::kInvalidArgument, "cannot create Kafka consumer: " +
                                                   std::string(errstr));
    }
    rd_kafka_poll_set_consumer(rk_);
    std::vector<TopicPartition> subscription;
    for (const auto& topic : topics) subscription.push_back({topic, RD_KAFKA_PARTITION_UA, -1});
    auto* list = ToList(subscription);
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) return std::unexpected(KafkaError("subscribe", err));
    return {};
  }

  Result<std::optional<Record>> Poll(milliseconds timeout) override {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count()));
    if (msg == nullptr) return std::nullopt;
    struct Destroy {
      rd_kafka_message_t* m;
      ~Destroy() { rd_kafka_message_destroy(m); }
    } destroy{msg};
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) return ToRecord(msg);
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::nullopt;
    if ((msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
         msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) &&
        msg->rkt != nullptr) {
      handler_->OnOffsetGap({rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset},
                            rd_kafka_message_errstr(msg));
      return std::nullopt;
    }
    char errstr[512];
    if (rd_kafka_fatal_error(rk_, errstr, sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Fail(ErrorCode::kUnavailable, "fatal Kafka consumer error: " + std::string(errstr));
    }
    if (msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "consumer: " + std::string(rd_kafka_message_errstr(msg)));
    }
    log::Warn("consumer error", {{"error", rd_kafka_message_errstr(msg)}});
    return std::nullopt;
  }

  Result<void> StoreOffsets(const std::vector<TopicPartition>& offsets) override {
    if (offsets.empty()) return {};
    auto* list = ToList(offsets);
    const rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    // A partition revoked meanwhile cannot be stored; RocksDB holds the offset anyway.
    if (err && err != RD_KAFKA_RESP_ERR__STATE && err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
      return std::unexpected(KafkaError("store offsets", err));
    }
    return {};
  }

  Result<void> Commit() override {
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, /*async=*/0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      return std::unexpected(KafkaError("commit", err));
    }
    return {};
  }

  Result<Watermarks> QueryWatermarks(const std::string& topic, std::int32_t partition,
                                     milliseconds timeout) override {
    Watermarks marks;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        rk_, topic.c_str(), partition, &marks.low, &marks.high, static_cast<int>(timeout.count()));
    if (err) return std::unexpected(KafkaError("query watermarks of " + topic, err));
    return marks;
  }

  Result<void> Seek(const TopicPartition& tp, milliseconds timeout) override {
    auto* list = ToList({tp});
    rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list, static_cast<int>(timeout.count()));
    std::string problem;
    if (error == nullptr && list->elems[0].err == RD_KAFKA_RESP_ERR__STATE) {
      // The partition is not fetching, which is what auto.offset.reset=error leaves behind
      // (librdkafka 2.0.2 sets its fetch state to NONE), so it cannot be sought: assign it again
      // at the offset instead (tests/integration/broker_fault_test.cc, offset gaps).
      list->elems[0].err = RD_KAFKA_RESP_ERR_NO_ERROR;
      error = Reassign(list);
    }
    if (error != nullptr) {
      problem = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    } else if (list->elems[0].err) {
      problem = rd_kafka_err2str(list->elems[0].err);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (!problem.empty()) {
      return Fail(ErrorCode::kUnavailable, "seek " + tp.topic + "/" + std::to_string(tp.partition) +
                                               ": " + problem);
    }
    return {};
  }

  Result<void> PauseAll(bool pause) override {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (const rd_kafka_resp_err_t err = rd_kafka_assignment(rk_, &assigned); err) {
      return Fail(ErrorCode::kUnavailable, std::string("assignment: ") + rd_kafka_err2str(err));
    }
    // librdkafka remembers the last position handed to the application and fetches from there
    // on resume, dropping what it had prefetched meanwhile.
    const rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(rk_, assigned)
                                          : rd_kafka_resume_partitions(rk_, assigned);
    rd_kafka_topic_partition_list_destroy(assigned);
    if (err) {
      return Fail(ErrorCode::kUnavailable,
                  std::string(pause ? "pause: " : "resume: ") + rd_kafka_err2str(err));
    }
    return {};
  }

  void Close() override {
    if (rk_ == nullptr) return;
    const rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
    if (err) log::Warn("consumer close", {{"error", rd_kafka_err2str(err)}});
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

 private:
  // Drops the partitions of `list` from the assignment and adds them back at their offsets.
  rd_kafka_error_t* Reassign(rd_kafka_topic_partition_list_t* list) {
    if (std::strcmp(rd_kafka_rebalance_protocol(rk_), "COOPERATIVE") == 0) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, list)) return e;
      return rd_kafka_incremental_assign(rk_, list);
    }
    rd_kafka_topic_partition_list_t* assignment = nullptr;
    if (const rd_kafka_resp_err_t err = rd_kafka_assignment(rk_, &assignment)) {
      return rd_kafka_error_new(err, "assignment: %s", rd_kafka_err2str(err));
    }
    for (int i = 0; i < list->cnt; ++i) {
      if (auto* tp = rd_kafka_topic_partition_list_find(assignment, list->elems[i].topic,
                                                        list->elems[i].partition)) {
        tp->offset = list->elems[i].offset;
      }
    }
    const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
    return err ? rd_kafka_error_new(err, "assign: %s", rd_kafka_err2str(err)) : nullptr;
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<KafkaConsumer*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      std::vector<TopicPartition> assigned = ToVector(partitions);
      self->handler_->OnAssign(assigned);
      auto* list = ToList(assigned);
      for (int i = 0; i < list->cnt; ++i) {
        // No offset in the register: nothing of the partition was consumed yet, whatever Kafka's
        // committed offset says (the register is the source of truth).
        if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
      }
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, list)) {
          log::Error("incremental assign failed", {{"error", rd_kafka_error_string(e)}});
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(rk, list);
      }
      rd_kafka_topic_partition_list_destroy(list);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      self->handler_->OnRevoke(ToVector(partitions), rd_kafka_assignment_lost(rk) != 0);
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions)) {
          log::Error("incremental unassign failed", {{"error", rd_kafka_error_string(e)}});
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(rk, nullptr);
      }
    } else {
      log::Error("rebalance failed", {{"error", rd_kafka_err2str(err)}});
      self->handler_->OnRevoke(ToVector(partitions), /*lost=*/true);
      rd_kafka_assign(rk, nullptr);
    }
  }

  RebalanceHandler* handler_;
  LagCallback on_lag_;
  rd_kafka_t* rk_ = nullptr;
};

class KafkaProducer final : public Producer {
 public:
  explicit KafkaProducer(DeliveryCallback on_delivery) : on_delivery_(std::move(on_delivery)) {}
  ~KafkaProducer() override {
    if (rk_ != nullptr) {
      rd_kafka_flush(rk_, 2000);
      rd_kafka_destroy(rk_);
    }
  }

  Result<void> Init(const KafkaSettings& settings) {
    auto conf = MakeConf(settings, {{"enable.idempotence", "true"},
                                    {"acks", "all"},
                                    {"linger.ms", "5"},
                                    {"compression.type", "lz4"},
                                    {"client.id", "cird-producer"}});
    if (!conf) return std::unexpected(conf.error());
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_dr_msg_cb(*conf, [](rd_kafka_t*, const rd_kafka_message_t* msg,
                                          void* opaque) {
      auto* self = static_cast<KafkaProducer*>(opaque);
      if (!self->on_delivery_) return;
      const auto tag = reinterpret_cast<std::uintptr_t>(msg->_private);
      if (msg->err) {
        self->on_delivery_(tag, ProduceError("delivery", msg->err));
      } else {
        self->on_delivery_(tag, std::nullopt);
      }
    });
    char errstr[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(*conf);
      return Fail(ErrorCode::kInvalidArgument, "cannot create Kafka producer: " +
                                                   std::string(errstr));
    }
    return {};
  }

  Result<void> Produce(const std::string& topic, const Record& record,
                       std::uint64_t tag) override {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& [k, v] : record.headers) {
      rd_kafka_header_add(headers, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
    void* key = record.key ? const_cast<char*>(record.key->data()) : nullptr;
    const size_t key_size = record.key ? record.key->size() : 0;
    void* value = record.value ? const_cast<char*>(record.value->data()) : nullptr;
    const size_t value_size = record.value ? record.value->size() : 0;
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag));
    const char* topic_name = topic.c_str();
    // librdkafka's RD_KAFKA_V_* macros are C casts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic_name), RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
#pragma GCC diagnostic pop
    if (err) {
      rd_kafka_headers_destroy(headers);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return Fail(ErrorCode::kUnavailable, "producer queue full");
      }
      // A refused record (too large, invalid) is the record's problem: kInvalidArgument, so that
      // the caller moves it aside. Anything else (unknown topic, fatal idempotence error) will not
      // go away by trying again either, and is the producer's.
      if (RecordRefused(err)) return std::unexpected(ProduceError("produce to " + topic, err));
      return Fail(ErrorCode::kIo, "produce to " + topic + ": " + rd_kafka_err2str(err));
    }
    return {};
  }

  void Poll(milliseconds timeout) override { rd_kafka_poll(rk_, static_cast<int>(timeout.count())); }

  Result<void> Flush(milliseconds timeout) override {
    const rd_kafka_resp_err_t err = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
    if (err) return std::unexpected(KafkaError("flush", err));
    return {};
  }

  int InFlight() const override { return rd_kafka_outq_len(rk_); }

  Result<std::vector<std::string>> MissingTopics(const std::vector<std::string>& topics,
                                                 milliseconds timeout) override {
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk_, /*all_topics=*/1, nullptr, &md, static_cast<int>(timeout.count()));
    if (err) return std::unexpected(KafkaError("metadata", err));
    std::set<std::string> present;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) present.insert(md->topics[i].topic);
    }
    rd_kafka_metadata_destroy(md);
    std::vector<std::string> missing;
    for (const auto& t : topics) {
      if (!present.count(t)) missing.push_back(t);
    }
    return missing;
  }

  rd_kafka_t* handle() { return rk_; }

 private:
  DeliveryCallback on_delivery_;
  rd_kafka_t* rk_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::Create(const KafkaSettings& settings,
                                                   const std::string& group_id,
                                                   const std::vector<std::string>& topics,
                                                   RebalanceHandler* handler,
                                                   LagCallback on_lag) {
  auto consumer = std::make_unique<KafkaConsumer>(handler, std::move(on_lag));
  if (auto ok = consumer->Init(settings, group_id, topics); !ok) {
    return std::unexpected(ok.error());
  }
  return consumer;
}

Result<std::unique_ptr<Producer>> Producer::Create(const KafkaSettings& settings,
                                                   DeliveryCallback on_delivery) {
  auto producer = std::make_unique<KafkaProducer>(std::move(on_delivery));
  if (auto ok = producer->Init(settings); !ok) return std::unexpected(ok.error());
  return producer;
}

namespace {

class AssignedReader final : public TopicReader {
 public:
  ~AssignedReader() override {
    if (rk_ != nullptr) {
      rd_kafka_consumer_close(rk_);
      rd_kafka_destroy(rk_);
    }
  }

  Result<void> Init(const KafkaSettings& settings, const std::vector<std::string>& topics,
                    milliseconds timeout) {
    // assign() needs a group id, but the reader never joins the group nor commits.
    auto conf = MakeConf(settings, {{"enable.partition.eof", "false"},
                                    {"group.id", "cir-topic-reader"},
                                    {"enable.auto.commit", "false"},
                                    {"enable.auto.offset.store", "false"},
                                    {"client.id", "cir-topic-reader"}});
    if (!conf) return std::unexpected(conf.error());
    char errstr[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(*conf);
      return Fail(ErrorCode::kInvalidArgument, "cannot create reader: " + std::string(errstr));
    }
    rd_kafka_poll_set_consumer(rk_);
    std::vector<TopicPartition> partitions;
    for (const auto& topic : topics) {
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
      const rd_kafka_metadata_t* md = nullptr;
      const rd_kafka_resp_err_t err =
          rd_kafka_metadata(rk_, 0, rkt, &md, static_cast<int>(timeout.count()));
      rd_kafka_topic_destroy(rkt);
      if (err) return std::unexpected(KafkaError("metadata for " + topic, err));
      const bool found = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                         md->topics[0].partition_cnt > 0;
      if (found) {
        for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
          partitions.push_back(
              {topic, md->topics[0].partitions[i].id, RD_KAFKA_OFFSET_BEGINNING});
        }
      }
      rd_kafka_metadata_destroy(md);
      if (!found) return Fail(ErrorCode::kNotFound, "topic '" + topic + "' not found");
    }
    auto* list = ToList(partitions);
    const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) return std::unexpected(KafkaError("assign", err));
    return {};
  }

  std::optional<Record> Poll(milliseconds timeout) override {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count()));
    if (msg == nullptr) return std::nullopt;
    std::optional<Record> record;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      record = ToRecord(msg);
    } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      log::Warn("topic reader error", {{"error", rd_kafka_message_errstr(msg)}});
    }
    rd_kafka_message_destroy(msg);
    return record;
  }

 private:
  rd_kafka_t* rk_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<TopicReader>> TopicReader::Create(const KafkaSettings& settings,
                                                         const std::vector<std::string>& topics,
                                                         milliseconds metadata_timeout) {
  auto reader = std::make_unique<AssignedReader>();
  if (auto ok = reader->Init(settings, topics, metadata_timeout); !ok) {
    return std::unexpected(ok.error());
  }
  return reader;
}

Result<std::vector<Record>> ReadTopic(const KafkaSettings& settings, const std::string& topic,
                                      std::size_t count, milliseconds timeout) {
  auto reader = TopicReader::Create(settings, {topic}, timeout);
  if (!reader) return std::unexpected(reader.error());
  std::vector<Record> records;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (records.size() < count && std::chrono::steady_clock::now() < deadline) {
    if (auto record = (*reader)->Poll(milliseconds(100))) records.push_back(std::move(*record));
  }
  return records;
}

}  // namespace cir::events
