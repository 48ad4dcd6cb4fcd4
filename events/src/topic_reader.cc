// The group-less reader behind events::TopicReader and ReadTopic (kafka.h): every partition of
// the given topics from the beginning, without joining a group or committing.
#include <librdkafka/rdkafka.h>

#include "cir/base/log.h"
#include "cir/events/kafka.h"
#include "kafka_internal.h"

namespace cir::events {
namespace {

using std::chrono::milliseconds;

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
    auto rk = internal::NewClient(RD_KAFKA_CONSUMER, "reader", settings,
                                  {{"enable.partition.eof", "false"},
                                   {"group.id", "cir-topic-reader"},
                                   {"enable.auto.commit", "false"},
                                   {"enable.auto.offset.store", "false"},
                                   {"client.id", "cir-topic-reader"}});
    if (!rk) return std::unexpected(rk.error());
    rk_ = *rk;
    rd_kafka_poll_set_consumer(rk_);
    std::vector<TopicPartition> partitions;
    for (const auto& topic : topics) {
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
      const rd_kafka_metadata_t* md = nullptr;
      const rd_kafka_resp_err_t err =
          rd_kafka_metadata(rk_, 0, rkt, &md, static_cast<int>(timeout.count()));
      rd_kafka_topic_destroy(rkt);
      if (err) return std::unexpected(internal::KafkaError("metadata for " + topic, err));
      const bool found = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                         md->topics[0].partition_cnt > 0;
      if (found) {
        for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
          partitions.push_back({topic, md->topics[0].partitions[i].id, RD_KAFKA_OFFSET_BEGINNING});
        }
      }
      rd_kafka_metadata_destroy(md);
      if (!found) return Fail(ErrorCode::kNotFound, "topic '" + topic + "' not found");
    }
    auto* list = internal::ToList(partitions);
    const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) return std::unexpected(internal::KafkaError("assign", err));
    return {};
  }

  std::optional<Record> Poll(milliseconds timeout) override {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count()));
    if (msg == nullptr) return std::nullopt;
    std::optional<Record> record;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      record = internal::ToRecord(msg);
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
