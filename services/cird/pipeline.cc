// The pipeline's life: the Kafka clients, start-up (topics checked), the ingest loop and
// the shutdown drain. Batching is in pipeline_batch.cc, the outbox in pipeline_outbox.cc,
// rebalancing and offset gaps in pipeline_rebalance.cc, the write stall in pipeline_stall.cc.
#include "pipeline.h"

#include <algorithm>

#include "cir/base/log.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kStartupRound{250};  // one metadata request while starting

}  // namespace

KafkaClients KafkaClients::Real() {
  return {[](const events::KafkaSettings& settings, events::Producer::DeliveryCallback on) {
            return events::Producer::Create(settings, std::move(on));
          },
          [](const events::KafkaSettings& settings, const std::string& group,
             const std::vector<std::string>& topics, events::RebalanceHandler* handler,
             events::Consumer::LagCallback on_lag) {
            return events::Consumer::Create(settings, group, topics, handler, std::move(on_lag));
          }};
}

Pipeline::Pipeline(const Config& config, storage::Register& reg,
                   const storage::Projector& projector, const storage::Clock& clock,
                   Probe& probe, KafkaClients kafka)
    : config_(config),
      reg_(reg),
      projector_(projector),
      clock_(clock),
      probe_(probe),
      kafka_(std::move(kafka)) {
  source_ = config.source.empty() ? "//cird/" + config.group_id : config.source;
}

Pipeline::~Pipeline() {
  consumer_.reset();
  producer_.reset();
}

Result<void> Pipeline::Start() {
  events::KafkaSettings settings{config_.brokers, config_.KafkaProperties()};
  auto producer = kafka_.producer(
      settings, [this](std::uint64_t tag, std::optional<Error> error) {
        OnDelivery(tag, std::move(error));
      });
  if (!producer) return std::unexpected(producer.error());
  producer_ = std::move(*producer);

  std::vector<std::string> topics = config_.input_topics;
  for (const auto* t : {&config_.transitions_topic, &config_.alerts_topic,
                        &config_.dead_letter_topic}) {
    if (std::find(topics.begin(), topics.end(), *t) == topics.end()) topics.push_back(*t);
  }
  // Asked in short rounds until --startup-timeout, so that Stop() (a signal during start-up)
  // ends the wait within one round.
  const auto give_up = Clock::now() + config_.startup_timeout;
  auto missing = producer_->MissingTopics(topics, std::min(config_.startup_timeout, kStartupRound));
  while (!missing && !stop_.load(std::memory_order_relaxed) && Clock::now() < give_up) {
    const auto left = std::chrono::duration_cast<milliseconds>(give_up - Clock::now());
    missing = producer_->MissingTopics(topics, std::clamp(left, milliseconds(1), kStartupRound));
  }
  if (!missing && stop_.load(std::memory_order_relaxed)) {
    return Fail(ErrorCode::kUnavailable, "stopped while waiting for Kafka metadata from " +
                                             config_.brokers);
  }
  if (!missing) {
    return Fail(ErrorCode::kUnavailable, "cannot read Kafka metadata from " + config_.brokers +
                                             ": " + missing.error().message);
  }
  if (!missing->empty()) {
    std::string names;
    for (const auto& t : *missing) names += (names.empty() ? "" : ", ") + t;
    return Fail(ErrorCode::kFailedPrecondition,
                "missing Kafka topics: " + names +
                    " (cird does not create topics; create them, or run with --embedded-kafka)");
  }
  if (!config_.group_instance_id.empty()) {
    settings.properties.insert(settings.properties.begin(),
                               {"group.instance.id", config_.group_instance_id});
  }
  auto consumer = kafka_.consumer(
      settings, config_.group_id, config_.input_topics, this,
      [this](const std::vector<events::PartitionLag>& lags) { OnLag(lags); });
  if (!consumer) return std::unexpected(consumer.error());
  consumer_ = std::move(*consumer);
  log::Info("pipeline started", {{"brokers", config_.brokers},
                                 {"group", config_.group_id},
                                 {"inputs", config_.input_topics.front()},
                                 {"time", config_.time_mode == TimeMode::kWall ? "wall" : "event"}});
  return {};
}

// ---- the loop -------------------------------------------------------------------------------

Result<void> Pipeline::Run() {
  auto result = Loop();
  // After a failure the pending batch may be half consumed: nothing may append it again (the
  // consumer's close revokes the partitions, and OnRevoke must not flush them).
  if (!result) failed_ = true;
  return result;
}

Result<void> Pipeline::Loop() {
  last_tick_ = Clock::now();
  batch_started_ = Clock::now();
  while (!stop_.load(std::memory_order_relaxed)) {
    probe_.Heartbeat();
    const bool hurry = pending_records_ > 0 && !stalled_;
    auto record = consumer_->Poll(hurry ? milliseconds(1) : milliseconds(50));
    if (!record) return std::unexpected(record.error());
    if (deferred_error_) return std::unexpected(*deferred_error_);
    LagFromFetches();
    if (*record) {
      if (pending_records_ == 0) batch_started_ = Clock::now();
      Add(std::move(**record));
      // Paused, yet a record came (fetched before the pause, or of a partition assigned since):
      // it is kept with the batch, and whatever is assigned now is paused too.
      if (stalled_) (void)consumer_->PauseAll(true);
    }
    if (stalled_) {
      if (auto ok = RetryStalled(); !ok) return ok;
    } else {
      const bool full = pending_records_ >= config_.max_batch;
      const bool waited = pending_records_ > 0 &&
                          (!*record || Clock::now() - batch_started_ >= config_.max_batch_wait);
      if (full || waited) {
        if (auto ok = Guard(Flush()); !ok) return ok;
      }
      if (!stalled_ && Clock::now() - last_tick_ >= config_.tick_interval) {
        if (auto ok = Guard(Tick()); !ok) return ok;
      }
    }
    producer_->Poll(milliseconds(0));
    // Acknowledging is a write too: while stalled, delivered entries wait in delivered_ (and are
    // not read again from the outbox, so nothing is produced twice).
    if (!stalled_) {
      if (auto ok = Guard(AckDelivered()); !ok) return ok;
    }
    if (auto ok = Guard(DrainAll()); !ok) return ok;
  }

  // Shutdown: finish the batch, drain the outbox within the grace period, commit, close.
  probe_.ShuttingDown();
  log::Info("stopping: finishing the batch and draining the outbox",
            {{"grace_ms", config_.shutdown_grace.count()}});
  const auto deadline = Clock::now() + config_.shutdown_grace;
  if (!stalled_) {
    if (auto ok = Guard(Flush()); !ok) return ok;
  }
  if (stalled_) {
    log::Warn("stopping while register writes are stalled: the records consumed since are not "
              "in the register and are consumed again at the next start",
              {{"pending_records", static_cast<std::int64_t>(pending_records_)}});
  }
  auto idle = [&] { return stalled_ ? in_flight_.empty() : OutboxIdle(); };
  while (!idle() && Clock::now() < deadline) {
    probe_.Heartbeat();
    if (auto ok = Guard(DrainAll()); !ok) return ok;
    producer_->Poll(milliseconds(20));
    if (!stalled_) {
      if (auto ok = Guard(AckDelivered()); !ok) return ok;
    }
  }
  if (!idle()) {
    log::Warn("grace period over with outputs undelivered; they stay in the outbox for the next "
              "start",
              {{"in_flight", static_cast<std::int64_t>(in_flight_.size())}});
  }
  if (auto ok = consumer_->Commit(); !ok) {
    log::Warn("final offset commit failed (the register holds the offsets)",
              {{"error", ok.error().message}});
  }
  consumer_->Close();
  log::Info("stopped", {{"records_consumed", counters_.records_consumed.load()},
                        {"events_appended", counters_.events_appended.load()},
                        {"dead_letters", counters_.dead_letters.load()},
                        {"outputs_delivered", counters_.outputs_delivered.load()}});
  if (deferred_error_) return std::unexpected(*deferred_error_);
  return {};
}
}  // namespace cir::cird
