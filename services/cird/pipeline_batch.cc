// Batching: records decoded into the pending batch, appended per partition, timers fired.
#include "pipeline.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "cir/base/log.h"
#include "cir/events/cloudevents.h"
#include "cir/storage/stream_time.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

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
    // What the partitions before a failed one appended stays unsynced, its outputs unsent,
    // until the next SyncAppended (after the stall, or never: cird stops on other errors).
    // Syncing right after a failed write is what RocksDB 7.8 does not allow (an assertion).
    if (auto ok = FlushPartition(partition, pending); !ok) return ok;
  }
  pending_.clear();
  pending_records_ = 0;
  return SyncAppended();
}

void Pipeline::MarkUnsynced(std::uint32_t partition) {
  unsynced_.insert(partition);
  appended_unsynced_ = true;
}

Result<void> Pipeline::SyncAppended() {
  if (!appended_unsynced_) return {};
  if (config_.sync) {
    const auto started = Clock::now();
    if (auto synced = reg_.Sync(); !synced) {
      probe_.AppendFailed();
      return Fail(synced.error().code, "register sync failed: " + synced.error().message);
    }
    probe_.RegisterSynced(std::chrono::duration<double>(Clock::now() - started).count());
  }
  appended_unsynced_ = false;
  dirty_.insert(unsynced_.begin(), unsynced_.end());
  unsynced_.clear();
  // Kafka's committed offsets follow the register's (which stay the source of truth).
  if (!unsynced_offsets_.empty()) {
    if (auto ok = consumer_->StoreOffsets(unsynced_offsets_); !ok) {
      log::Warn("could not store offsets in Kafka", {{"error", ok.error().message}});
    }
    unsynced_offsets_.clear();
  }
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
      if (outcome.status == Status::kIgnored) {
        probe_.EventIgnored(base::ParseEnumName<v1::IgnoreReason>(outcome.reason_code)
                                .value_or(v1::IGNORE_REASON_UNSPECIFIED));
      }
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
  // Drain must wait for the sync only where this batch put outbox records.
  if (!result->outbox.empty()) MarkUnsynced(partition);
  appended_unsynced_ = true;
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
  auto appended = config_.time_mode == TimeMode::kEvent ? AppendEach(partition, pending)
                                                        : AppendWhole(partition, pending);
  if (!appended) return appended;
  for (const auto& [topic, next] : pending.offsets) {
    unsynced_offsets_.push_back({topic, static_cast<std::int32_t>(partition), next});
    positions_[{topic, static_cast<std::int32_t>(partition)}] = next;
  }
  pending_records_ -= pending.records;
  pending = Pending{};
  return {};
}

Result<void> Pipeline::AppendEach(std::uint32_t partition, Pending& pending) {
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
        MarkUnsynced(partition);  // its first rounds of timers may be written already
        keep_rest();
        return std::unexpected(fired.error());
      }
      counters_.timers_fired.fetch_add(*fired);
      probe_.TimersFired(*fired);
      if (*fired > 0) MarkUnsynced(partition);
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
  return {};
}

Result<void> Pipeline::AppendWhole(std::uint32_t partition, Pending& pending) {
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
  return {};
}

bool Pipeline::ReadToTheEnd(std::uint32_t partition) const {
  if (auto it = pending_.find(partition); it != pending_.end() && it->second.records > 0) {
    return false;
  }
  auto topics = owned_topics_.find(partition);
  if (topics == owned_topics_.end()) return false;
  for (const std::string& topic : topics->second) {
    const std::pair<std::string, std::int32_t> tp{topic, static_cast<std::int32_t>(partition)};
    auto marks = FetchedWatermarks(tp);
    auto position = positions_.find(tp);
    if (!marks || position == positions_.end()) return false;
    // Below the log's start (an accepted offset gap, or none stored yet): it reads from the start.
    const std::int64_t next = std::max<std::int64_t>({position->second, marks->low, 0});
    if (next < marks->high) return false;
  }
  return true;
}

Result<void> Pipeline::Tick() {
  last_tick_ = Clock::now();
  for (std::uint32_t partition : owned_) {
    std::uint64_t fired = 0;
    if (config_.time_mode == TimeMode::kEvent) {
      // Past its own input's time (AppendEach fired up to there) only once it has read all there
      // is: a partition still behind would see its timers fire before events it has not read.
      if (!watermark_ || !ReadToTheEnd(partition)) continue;
      auto result = storage::FireDueUntil(reg_, partition, *watermark_, projector_);
      if (!result) {
        MarkUnsynced(partition);  // its first rounds of timers may be written already
        return std::unexpected(result.error());
      }
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
      MarkUnsynced(partition);
    }
  }
  return SyncAppended();
}

}  // namespace cir::cird
