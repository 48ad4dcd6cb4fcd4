// The group consumer behind events::Consumer (kafka.h): cooperative-sticky, offsets stored
// after each register write, offset gaps reported to the RebalanceHandler.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cir/base/log.h"
#include "cir/events/kafka.h"
#include "kafka_internal.h"

namespace cir::events {
namespace {

using internal::KafkaError;
using internal::NewClient;
using internal::ToList;
using internal::ToRecord;
using internal::ToVector;
using std::chrono::milliseconds;

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

// Logs and frees a failed (incremental) assignment of a rebalance callback, which cannot return it.
void LogIfFailed(rd_kafka_error_t* error, const char* what) {
  if (error == nullptr) return;
  log::Error(what, {{"error", rd_kafka_error_string(error)}});
  rd_kafka_error_destroy(error);
}

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(RebalanceHandler* handler, LagCallback on_lag)
      : handler_(handler), on_lag_(std::move(on_lag)) {}
  ~KafkaConsumer() override { Close(); }

  Result<void> Init(const KafkaSettings& settings, const std::string& group_id,
                    const std::vector<std::string>& topics) {
    auto rk = NewClient(RD_KAFKA_CONSUMER, "Kafka consumer", settings,
                        {{"group.id", group_id.c_str()},
                         {"enable.auto.offset.store", "false"},
                         {"enable.auto.commit", "true"},
                         {"auto.commit.interval.ms", "1000"},
                         // An offset outside the log is an error, never a skip:
                         // OnOffsetGap decides (cird pauses; an operator accepts).
                         {"auto.offset.reset", "error"},
                         {"partition.assignment.strategy", "cooperative-sticky"},
                         {"isolation.level", "read_committed"},
                         {"statistics.interval.ms", on_lag_ ? "5000" : "0"},
                         {"client.id", "cird-consumer"}},
                        this, [](rd_kafka_conf_t* conf, void* opaque) {
                          rd_kafka_conf_set_rebalance_cb(conf, &KafkaConsumer::OnRebalance);
                          if (!static_cast<KafkaConsumer*>(opaque)->on_lag_) return;
                          rd_kafka_conf_set_stats_cb(
                              conf, [](rd_kafka_t*, char* json, size_t size, void* self) {
                                static_cast<KafkaConsumer*>(self)->on_lag_(ParseLag(json, size));
                                return 0;  // librdkafka frees the document
                              });
                        });
    if (!rk) return std::unexpected(rk.error());
    rk_ = *rk;
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

  std::optional<Watermarks> CachedWatermarks(const std::string& topic,
                                             std::int32_t partition) override {
    Watermarks marks{-1, -1};
    const rd_kafka_resp_err_t err =
        rd_kafka_get_watermark_offsets(rk_, topic.c_str(), partition, &marks.low, &marks.high);
    if (err || marks.high < 0) return std::nullopt;  // RD_KAFKA_OFFSET_INVALID: nothing fetched
    return marks;
  }

  Result<void> Seek(const TopicPartition& tp, milliseconds timeout) override {
    auto* list = ToList({tp});
    rd_kafka_error_t* error =
        rd_kafka_seek_partitions(rk_, list, static_cast<int>(timeout.count()));
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
      return Fail(ErrorCode::kUnavailable,
                  "seek " + tp.topic + "/" + std::to_string(tp.partition) + ": " + problem);
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
        LogIfFailed(rd_kafka_incremental_assign(rk, list), "incremental assign failed");
      } else {
        rd_kafka_assign(rk, list);
      }
      rd_kafka_topic_partition_list_destroy(list);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      self->handler_->OnRevoke(ToVector(partitions), rd_kafka_assignment_lost(rk) != 0);
      if (cooperative) {
        LogIfFailed(rd_kafka_incremental_unassign(rk, partitions), "incremental unassign failed");
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

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::Create(const KafkaSettings& settings,
                                                   const std::string& group_id,
                                                   const std::vector<std::string>& topics,
                                                   RebalanceHandler* handler, LagCallback on_lag) {
  auto consumer = std::make_unique<KafkaConsumer>(handler, std::move(on_lag));
  if (auto ok = consumer->Init(settings, group_id, topics); !ok) {
    return std::unexpected(ok.error());
  }
  return consumer;
}

}  // namespace cir::events
