#include "pipeline.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <variant>

#include "cir/events/cloudevents.h"
#include "cir/log.h"
#include "cir/storage/stream_time.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using google::protobuf::util::TimeUtil;

constexpr std::size_t kOutboxPage = 500;
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

// ---- a full disk: pause, keep, retry ------------------------------------------------------------

namespace {
constexpr milliseconds kStallFirstRetry{100};
constexpr milliseconds kStallMaxRetry{5000};
}  // namespace

Result<void> Pipeline::Guard(Result<void> result) {
  if (result || !storage::IsDiskStall(result.error())) return result;
  EnterStall(result.error());
  return {};
}

void Pipeline::EnterStall(const Error& error) {
  if (stalled_ || retrying_) {  // still (or again) stalled: one log line per state change
    stalled_ = true;
    return;
  }
  stalled_ = true;
  const storage::WriteHealth health = reg_.Health();
  const std::string reason = health.stalled ? health.reason : "unavailable";
  stall_since_ = Clock::now();
  stall_backoff_ = kStallFirstRetry;
  stall_next_try_ = stall_since_ + stall_backoff_;
  stall_recoveries_seen_ = health.recoveries;
  stall_retries_ = 0;
  if (auto paused = consumer_->PauseAll(true); !paused) {
    log::Warn("could not pause the consumer; records keep arriving and wait in memory",
              {{"error", paused.error().message}});
  }
  probe_.WriteStalled(reason, error.message);
  log::Error("register writes stalled: consuming paused, the records not yet appended are kept "
             "and appended when the register can write again (see the CirRegisterDiskFull "
             "runbook)",
             {{"reason", reason},
              {"error", error.message},
              {"pending_records", static_cast<std::int64_t>(pending_records_)}});
}

Result<void> Pipeline::RetryStalled() {
  const storage::WriteHealth health = reg_.Health();
  // RocksDB's own recovery (its SstFileManager saw enough free space) is worth a try at once.
  const bool recovered = health.recoveries != stall_recoveries_seen_;
  if (!recovered && Clock::now() < stall_next_try_) return {};
  stall_recoveries_seen_ = health.recoveries;
  ++stall_retries_;
  stall_backoff_ = std::min(stall_backoff_ * 2, kStallMaxRetry);
  stall_next_try_ = Clock::now() + stall_backoff_;
  if (auto resumed = reg_.Resume(); !resumed) {
    log::Debug("register still cannot write", {{"error", resumed.error().message}});
    return {};
  }
  // Writable again: the kept batch first (the register holds nothing of it: a failed write
  // changes nothing), then the acknowledgements that waited.
  stalled_ = false;
  retrying_ = true;
  auto flushed = Guard(Flush());
  if (flushed && !stalled_) flushed = Guard(AckDelivered());
  retrying_ = false;
  if (!flushed) return flushed;
  if (stalled_) return {};  // failed again: stays stalled, next try after the back-off
  if (auto resumed = consumer_->PauseAll(false); !resumed) {
    return Fail(ErrorCode::kUnavailable,
                "cannot resume consuming after the register stall: " + resumed.error().message);
  }
  probe_.WriteResumed();
  log::Info("register writes possible again: consuming resumed",
            {{"stalled_ms", static_cast<std::int64_t>(
                                std::chrono::duration_cast<milliseconds>(Clock::now() -
                                                                         stall_since_)
                                    .count())},
             {"retries", static_cast<std::int64_t>(stall_retries_)}});
  return {};
}

void Pipeline::Add(events::Record record) {
  counters_.records_consumed.fetch_add(1, std::memory_order_relaxed);
  probe_.RecordConsumed(record.topic);
  const auto partition = static_cast<std::uint32_t>(record.partition);
  Pending& pending = pending_[partition];
  auto& next = pending.offsets[record.topic];
  next = std::max(next, record.offset + 1);
  ++pending.records;
  ++pending_records_;
  auto event = events::DecodeRecord(record, config_.limits);
  if (event) {
    // Kept whole in case the model rejects the event (UNKNOWN_INITIATIVE, …): dead letters carry
    // the original key, value and headers. Moved, not copied: the record is not used again.
    v1::DeadLetter original;
    if (record.key) original.set_key(std::move(*record.key));
    if (record.value) original.set_value(std::move(*record.value));
    for (auto& [key, value] : record.headers) {
      auto* header = original.add_headers();
      header->set_key(std::move(key));
      header->set_value(std::move(value));
    }
    // Should the model reject it, its dead letter must fit the producer too (a no-op unless
    // --max-message-bytes is near the producer's limit).
    events::FitDeadLetter(original, config_.limits.max_dead_letter_bytes);
    const std::int64_t offset = record.offset;
    pending.items.push_back(Item{storage::InboundEvent{std::move(*event), std::move(record.topic),
                                                       offset, std::move(original)},
                                 std::nullopt});
  } else {
    v1::DeadLetter dl = events::MakeDeadLetter(record, event.error(), config_.limits);
    *dl.mutable_recorded_at() = clock_.Now();
    log::Warn("dead letter", {{"reason_code", dl.reason_code()},
                              {"truncated", dl.truncated()},
                              {"reason", dl.reason()},
                              {"topic", record.topic},
                              {"partition", record.partition},
                              {"offset", record.offset}});
    pending.items.push_back(Item{std::nullopt, std::move(dl)});
  }
}

Result<void> Pipeline::Flush() {
  for (auto& [partition, pending] : pending_) {
    if (pending.records == 0) continue;
    if (auto ok = FlushPartition(partition, pending); !ok) return ok;
  }
  pending_.clear();
  pending_records_ = 0;
  return {};
}

Result<std::uint64_t> Pipeline::Commit(std::uint32_t partition,
                                       const storage::AppendRequest& request) {
  const auto started = Clock::now();
  auto result = reg_.Append(request, projector_);
  if (!result) {
    probe_.AppendFailed();
    return Fail(result.error().code,
                "register append failed for partition " + std::to_string(partition) + ": " +
                    result.error().message);
  }
  probe_.BatchAppended(std::chrono::duration<double>(Clock::now() - started).count());
  // Seconds, not nanoseconds: nanoseconds since 1970 overflow 64 bits after 2262.
  const google::protobuf::Timestamp now = clock_.Now();
  for (std::size_t i = 0; i < result->events.size() && i < request.events.size(); ++i) {
    const auto& outcome = result->events[i];
    const auto& event = request.events[i].event;
    using Status = storage::EventOutcome::Status;
    if (outcome.status == Status::kAppended || outcome.status == Status::kIgnored) {
      const double lag =
          static_cast<double>(now.seconds() - event.event_time().seconds()) +
          static_cast<double>(now.nanos() - event.event_time().nanos()) / 1e9;
      probe_.EventAppended(event.activity(), lag);
      if (outcome.status == Status::kIgnored) probe_.EventIgnored(outcome.reason_code);
    } else if (outcome.status == Status::kDuplicate) {
      probe_.Duplicate();
    }
  }
  counters_.events_appended.fetch_add(result->appended + result->ignored);
  counters_.duplicates.fetch_add(result->duplicates);
  counters_.dead_letters.fetch_add(result->rejected + request.dead_letters.size());
  for (const auto& outcome : result->events) {
    if (outcome.status == storage::EventOutcome::Status::kRejected) {
      log::Warn("event rejected by the model", {{"initiative", outcome.initiative_id},
                                                {"reason_code", outcome.reason_code},
                                                {"reason", outcome.reason}});
    }
  }
  if (!result->outbox.empty()) dirty_.insert(partition);
  return result->appended + result->ignored;
}

google::protobuf::Timestamp Pipeline::Bounded(const google::protobuf::Timestamp& t) const {
  google::protobuf::Timestamp limit = clock_.Now();
  const auto ahead = std::chrono::duration_cast<std::chrono::seconds>(config_.event_time_max_ahead);
  // The wall clock is far from the end of the supported range (9999): no overflow here.
  limit.set_seconds(limit.seconds() + ahead.count());
  return t > limit ? limit : t;
}

Result<void> Pipeline::FlushPartition(std::uint32_t partition, Pending& pending) {
  // A failed append leaves the register as it was, so what failed stays in `pending` (moved back
  // from the request) to be appended again: nothing consumed is lost, nothing appended twice.
  if (config_.time_mode == TimeMode::kEvent) {
    // One append per record, with the partition's timers fired up to each event's time first,
    // so that every initiative sees time pass exactly as in `circtl replay`.
    std::size_t done = 0;
    auto keep_rest = [&] {
      pending.items.erase(pending.items.begin(),
                          pending.items.begin() + static_cast<std::ptrdiff_t>(done));
      pending.records -= done;
      pending_records_ -= done;
    };
    for (Item& item : pending.items) {
      storage::AppendRequest request;
      request.partition = partition;
      const std::string& topic = item.event ? item.event->source_topic
                                            : item.dead_letter->source_topic();
      const std::int64_t offset =
          item.event ? item.event->source_offset : item.dead_letter->source_offset();
      request.offsets.emplace_back(topic, offset + 1);
      std::optional<google::protobuf::Timestamp> time;
      if (item.event) {
        time = Bounded(item.event->event.event_time());
        auto fired = storage::FireDueUntil(reg_, partition, *time, projector_);
        if (!fired) {
          keep_rest();
          return std::unexpected(fired.error());
        }
        counters_.timers_fired.fetch_add(*fired);
        probe_.TimersFired(*fired);
        if (*fired > 0) dirty_.insert(partition);
        request.events.push_back(std::move(*item.event));
      } else {
        request.dead_letters.push_back(std::move(*item.dead_letter));
      }
      auto taken = Commit(partition, request);
      if (!taken) {
        if (item.event) {
          *item.event = std::move(request.events.front());
        } else {
          *item.dead_letter = std::move(request.dead_letters.front());
        }
        keep_rest();
        return std::unexpected(taken.error());
      }
      ++done;
      // Only an event the register took moves the shared watermark: a dead letter (or a
      // duplicate) says nothing about how far time has come.
      if (time && *taken > 0 && (!watermark_ || *watermark_ < *time)) watermark_ = *time;
    }
  } else {
    storage::AppendRequest request;
    request.partition = partition;
    for (Item& item : pending.items) {
      if (item.event) {
        request.events.push_back(std::move(*item.event));
      } else {
        request.dead_letters.push_back(std::move(*item.dead_letter));
      }
    }
    for (const auto& [topic, next] : pending.offsets) request.offsets.emplace_back(topic, next);
    if (auto ok = Commit(partition, request); !ok) {
      std::size_t events = 0;
      std::size_t dead_letters = 0;
      for (Item& item : pending.items) {
        if (item.event) {
          *item.event = std::move(request.events[events++]);
        } else {
          *item.dead_letter = std::move(request.dead_letters[dead_letters++]);
        }
      }
      return std::unexpected(ok.error());
    }
  }
  // Kafka's committed offsets follow the register's (which stay the source of truth).
  std::vector<events::TopicPartition> offsets;
  for (const auto& [topic, next] : pending.offsets) {
    offsets.push_back({topic, static_cast<std::int32_t>(partition), next});
    positions_[{topic, static_cast<std::int32_t>(partition)}] = next;
  }
  if (auto ok = consumer_->StoreOffsets(offsets); !ok) {
    log::Warn("could not store offsets in Kafka", {{"error", ok.error().message}});
  }
  pending_records_ -= pending.records;
  pending = Pending{};
  return {};
}

Result<void> Pipeline::Tick() {
  last_tick_ = Clock::now();
  for (std::uint32_t partition : owned_) {
    std::uint64_t fired = 0;
    if (config_.time_mode == TimeMode::kEvent) {
      if (!watermark_) continue;
      auto result = storage::FireDueUntil(reg_, partition, *watermark_, projector_);
      if (!result) return std::unexpected(result.error());
      fired = *result;
    } else {
      auto result = reg_.FireDueTimers(partition, clock_.Now(), config_.timers_per_tick,
                                       projector_);
      if (!result) return std::unexpected(result.error());
      fired = result->events.size();
    }
    if (fired > 0) {
      probe_.TimersFired(fired);
      counters_.timers_fired.fetch_add(fired);
      dirty_.insert(partition);
    }
  }
  return {};
}

// ---- the outbox ------------------------------------------------------------------------------

const std::string& Pipeline::TopicFor(const v1::OutboxRecord& record) const {
  if (record.has_dead_letter()) return config_.dead_letter_topic;
  return record.output().has_transition() ? config_.transitions_topic : config_.alerts_topic;
}

Result<void> Pipeline::Drain(std::uint32_t partition) {
  auto records = reg_.ReadOutbox(partition, sent_upto_[partition], kOutboxPage);
  if (!records) return std::unexpected(records.error());
  auto& in_flight = in_flight_seqs_[partition];
  for (const auto& record : *records) {
    if (in_flight.count(record.seq())) {  // re-read after a failed delivery: still in the air
      sent_upto_[partition] = record.seq();
      continue;
    }
    if (record.kind_case() == v1::OutboxRecord::KIND_NOT_SET) {
      // Unreadable (an older version's bytes beyond repair): nothing can ever send it.
      if (auto ok = Park(partition, record.seq(), "unreadable outbox record"); !ok) return ok;
      sent_upto_[partition] = record.seq();
      continue;
    }
    const events::Record out = record.has_dead_letter()
                                   ? events::EncodeDeadLetter(record.dead_letter())
                                   : events::EncodeOutput(record.output(), source_);
    const std::uint64_t tag = next_tag_++;
    auto produced = producer_->Produce(TopicFor(record), out, tag);
    if (!produced) {
      if (produced.error().code == ErrorCode::kUnavailable) return {};  // queue full: later
      if (produced.error().code == ErrorCode::kInvalidArgument) {
        // This record can never be produced (too large, invalid): moved aside, never fatal.
        if (auto ok = Park(partition, record.seq(), produced.error().message); !ok) return ok;
        sent_upto_[partition] = record.seq();
        continue;
      }
      return std::unexpected(produced.error());
    }
    in_flight_[tag] = Delivery{partition, record.seq(), record};
    in_flight.insert(record.seq());
    sent_upto_[partition] = record.seq();
  }
  if (records->size() < kOutboxPage) dirty_.erase(partition);
  return {};
}

Result<void> Pipeline::DrainAll() {
  const std::set<std::uint32_t> dirty = dirty_;
  for (std::uint32_t partition : dirty) {
    if (!owned_.count(partition)) {
      dirty_.erase(partition);
      continue;
    }
    if (auto ok = Drain(partition); !ok) return ok;
  }
  std::uint64_t backlog = in_flight_.size();
  counters_.outbox_pending.store(backlog, std::memory_order_relaxed);
  return {};
}

void Pipeline::OnDelivery(std::uint64_t tag, std::optional<Error> error) {
  auto it = in_flight_.find(tag);
  if (it == in_flight_.end()) return;
  const Delivery delivery = std::move(it->second);
  in_flight_.erase(it);
  in_flight_seqs_[delivery.partition].erase(delivery.seq);
  if (!error) {
    delivered_[delivery.partition].push_back(delivery.seq);
    counters_.outputs_delivered.fetch_add(1, std::memory_order_relaxed);
    probe_.OutputDelivered();
    if (delivery.record.has_dead_letter()) {
      probe_.DeadLetter(delivery.record.dead_letter().reason_code());
    } else {
      probe_.Output(delivery.record.output());
    }
  } else if (error->code == ErrorCode::kInvalidArgument) {
    // The broker refused the record itself: sending it again would fail again, forever.
    counters_.delivery_failures.fetch_add(1, std::memory_order_relaxed);
    probe_.DeliveryFailed();
    to_park_[delivery.partition].emplace_back(delivery.seq, error->message);
  } else {
    counters_.delivery_failures.fetch_add(1, std::memory_order_relaxed);
    probe_.DeliveryFailed();
    log::Warn("output delivery failed; it stays in the outbox and is sent again",
              {{"partition", delivery.partition},
               {"seq", static_cast<std::int64_t>(delivery.seq)},
               {"error", error->message}});
    resend_.insert(delivery.partition);
  }
}

Result<void> Pipeline::Park(std::uint32_t partition, std::uint64_t seq,
                            const std::string& reason) {
  if (auto ok = reg_.ParkOutbox(partition, seq, reason); !ok) return ok;
  probe_.OutboxParked();
  log::Error("outbox record refused for good: moved aside (circtl parked lists it)",
             {{"partition", partition}, {"seq", static_cast<std::int64_t>(seq)},
              {"reason", reason}});
  return {};
}

Result<void> Pipeline::AckDelivered() {
  for (auto& [partition, seqs] : delivered_) {
    if (seqs.empty()) continue;
    if (auto ok = reg_.AckOutbox(partition, seqs); !ok) return ok;
    seqs.clear();
  }
  for (auto& [partition, parked] : to_park_) {
    if (!owned_.count(partition)) continue;  // released meanwhile: the next owner retries it
    for (const auto& [seq, reason] : parked) {
      if (auto ok = Park(partition, seq, reason); !ok) return ok;
    }
  }
  to_park_.clear();
  for (std::uint32_t partition : resend_) {
    sent_upto_[partition] = 0;  // read again whatever is still in the outbox
    dirty_.insert(partition);
  }
  resend_.clear();
  return {};
}

bool Pipeline::OutboxIdle() const {
  if (!in_flight_.empty() || !resend_.empty()) return false;
  for (std::uint32_t p : dirty_) {
    if (owned_.count(p)) return false;
  }
  return true;
}

// ---- rebalancing -----------------------------------------------------------------------------

void Pipeline::OnAssign(std::vector<events::TopicPartition>& partitions) {
  for (auto& tp : partitions) {
    const auto partition = static_cast<std::uint32_t>(tp.partition);
    auto offset = reg_.Offset(partition, tp.topic);
    if (!offset) {
      deferred_error_ = offset.error();
      return;
    }
    tp.offset = offset->value_or(-1);
    positions_[{tp.topic, tp.partition}] = tp.offset;
    owned_.insert(partition);
    owned_topics_[partition].insert(tp.topic);
    sent_upto_[partition] = 0;
    dirty_.insert(partition);  // outputs a previous run left undelivered
    log::Info("partition assigned", {{"topic", tp.topic},
                                     {"partition", tp.partition},
                                     {"start_offset", tp.offset}});
  }
  probe_.GroupJoined();
  probe_.Rebalance("assigned", partitions.size());
  PublishOwned();
}

void Pipeline::PublishOwned() {
  probe_.SetPartitionsAssigned(owned_.size());
  std::lock_guard lock(owned_mu_);
  owned_copy_.assign(owned_.begin(), owned_.end());
}

std::vector<std::uint32_t> Pipeline::OwnedPartitions() const {
  std::lock_guard lock(owned_mu_);
  return owned_copy_;
}

void Pipeline::OnRevoke(const std::vector<events::TopicPartition>& partitions, bool lost) {
  std::set<std::uint32_t> released;
  for (const auto& tp : partitions) {
    const auto partition = static_cast<std::uint32_t>(tp.partition);
    auto& topics = owned_topics_[partition];
    topics.erase(tp.topic);
    if (topics.empty()) released.insert(partition);
    probe_.ForgetPartition(tp.topic, tp.partition);
    probe_.OffsetGap(tp.topic, tp.partition, false);
    positions_.erase({tp.topic, tp.partition});
    log::Info(lost ? "partition lost" : "partition revoked",
              {{"topic", tp.topic}, {"partition", tp.partition}});
  }
  // One deadline for the whole callback; none of it after a failure, and no second drain when
  // Run's shutdown already drained (the consumer's close revokes everything).
  const auto deadline = Clock::now() + config_.shutdown_grace / 2;
  // Nor while register writes are stalled: what is pending was never appended, and the next owner
  // consumes it again from the register's offsets.
  const bool may_write = !lost && !deferred_error_ && !failed_ && !stalled_;
  const bool may_drain = may_write && !stop_.load(std::memory_order_relaxed);
  for (std::uint32_t partition : released) {
    auto it = pending_.find(partition);
    if (it != pending_.end()) {
      if (may_write) {
        // Flushed first, so that the next owner starts exactly after what we appended.
        if (auto ok = Guard(FlushPartition(partition, it->second)); !ok) {
          deferred_error_ = ok.error();
        }
      }
      pending_records_ -= it->second.records;
      pending_.erase(it);
    }
    if (may_drain && !deferred_error_ && !stalled_) {
      while (Clock::now() < deadline) {
        probe_.Heartbeat();
        if (auto ok = Drain(partition); !ok) {
          deferred_error_ = ok.error();
          break;
        }
        producer_->Poll(milliseconds(20));
        if (auto ok = AckDelivered(); !ok) {
          deferred_error_ = ok.error();
          break;
        }
        const bool busy = dirty_.count(partition) > 0 ||
                          std::any_of(in_flight_.begin(), in_flight_.end(), [&](const auto& kv) {
                            return kv.second.partition == partition;
                          });
        if (!busy) break;
      }
    }
    owned_.erase(partition);
    owned_topics_.erase(partition);
    sent_upto_.erase(partition);
    dirty_.erase(partition);
    // Deliveries still in the air are forgotten: their reports find no entry, and the outbox
    // keeps the records for whoever owns the partition next.
    std::erase_if(in_flight_, [&](const auto& kv) { return kv.second.partition == partition; });
    in_flight_seqs_.erase(partition);
  }
  probe_.Rebalance(lost ? "lost" : "revoked", partitions.size());
  PublishOwned();
}

// ---- offset gaps and lag ----------------------------------------------------------------------

void Pipeline::OnOffsetGap(const events::TopicPartition& tp, const std::string& detail) {
  if (!config_.AcceptsOffsetGap(tp.topic, tp.partition)) {
    probe_.OffsetGap(tp.topic, tp.partition, true);
    log::Error("offset gap: the partition's stored offset is outside its log; it stays paused "
               "(nothing is skipped) until an operator restarts cird with "
               "--accept-offset-gap TOPIC:PARTITION",
               {{"topic", tp.topic}, {"partition", tp.partition}, {"offset", tp.offset},
                {"detail", detail}});
    return;
  }
  auto marks = consumer_->QueryWatermarks(tp.topic, tp.partition, std::chrono::seconds(5));
  const std::int64_t stored = positions_.count({tp.topic, tp.partition})
                                  ? positions_[{tp.topic, tp.partition}]
                                  : tp.offset;
  events::TopicPartition start{tp.topic, tp.partition, marks ? marks->low : -2};
  if (auto ok = consumer_->Seek(start, std::chrono::seconds(5)); !ok) {
    probe_.OffsetGap(tp.topic, tp.partition, true);
    log::Error("offset gap accepted, but the seek to the log start failed; still paused",
               {{"topic", tp.topic}, {"partition", tp.partition}, {"error", ok.error().message}});
    return;
  }
  probe_.OffsetGap(tp.topic, tp.partition, false);
  probe_.OffsetGapAccepted();
  log::Warn("offset gap accepted (--accept-offset-gap): resuming at the log start; the records "
            "in between were never consumed",
            {{"topic", tp.topic}, {"partition", tp.partition}, {"stored_offset", stored},
             {"log_start", marks ? marks->low : -1}, {"log_end", marks ? marks->high : -1},
             {"skipped", marks && marks->low > stored ? marks->low - stored : 0}});
}

void Pipeline::OnLag(const std::vector<events::PartitionLag>& lags) {
  for (const auto& lag : lags) {
    std::int64_t value = lag.lag;
    if (value < 0 && lag.high >= 0) {
      // librdkafka has no position yet (nothing fetched since the restart): the register knows
      // where the partition stands.
      auto it = positions_.find({lag.topic, lag.partition});
      if (it != positions_.end()) {
        const std::int64_t from = it->second >= 0 ? it->second : std::max<std::int64_t>(lag.low, 0);
        value = std::max<std::int64_t>(lag.high - from, 0);
      }
    }
    probe_.ConsumerLag(lag.topic, lag.partition, value);
  }
}

}  // namespace cir::cird
