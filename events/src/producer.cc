// The idempotent producer behind events::Producer (kafka.h), with per-record delivery reports.
#include <librdkafka/rdkafka.h>

#include <set>

#include "cir/events/kafka.h"
#include "kafka_internal.h"

namespace cir::events {
namespace {

using internal::KafkaError;
using internal::NewClient;
using internal::ProduceError;
using internal::RecordRefused;
using std::chrono::milliseconds;

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
    auto rk = NewClient(RD_KAFKA_PRODUCER, "Kafka producer", settings,
                        {{"enable.idempotence", "true"},
                         {"acks", "all"},
                         {"linger.ms", "5"},
                         {"compression.type", "lz4"},
                         {"client.id", "cird-producer"}},
                        this, [](rd_kafka_conf_t* conf, void*) {
                          rd_kafka_conf_set_dr_msg_cb(conf, &KafkaProducer::OnDelivery);
                        });
    if (!rk) return std::unexpected(rk.error());
    rk_ = *rk;
    return {};
  }

  Result<void> Produce(const std::string& topic, const Record& record, std::uint64_t tag) override {
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

  void Poll(milliseconds timeout) override {
    rd_kafka_poll(rk_, static_cast<int>(timeout.count()));
  }

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

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<KafkaProducer*>(opaque);
    if (!self->on_delivery_) return;
    const auto tag = reinterpret_cast<std::uintptr_t>(msg->_private);
    if (msg->err) {
      self->on_delivery_(tag, ProduceError("delivery", msg->err));
    } else {
      self->on_delivery_(tag, std::nullopt);
    }
  }

  DeliveryCallback on_delivery_;
  rd_kafka_t* rk_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Create(const KafkaSettings& settings,
                                                   DeliveryCallback on_delivery) {
  auto producer = std::make_unique<KafkaProducer>(std::move(on_delivery));
  if (auto ok = producer->Init(settings); !ok) return std::unexpected(ok.error());
  return producer;
}

}  // namespace cir::events
