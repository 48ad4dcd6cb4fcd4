// Rebalancing (assign, revoke, lost), offset gaps and consumer lag.
#include "pipeline.h"

#include <algorithm>

#include "cir/base/log.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

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
    const auto cached = consumer_->CachedWatermarks(tp.topic, tp.partition);
    lag_unreported_[{tp.topic, tp.partition}] = cached ? cached->high : -1;
    owned_.insert(partition);
    owned_topics_[partition].insert(tp.topic);
    sent_upto_[partition] = 0;
    dirty_.insert(partition);  // outputs a previous run left undelivered
    log::Info("partition assigned", {{"topic", tp.topic},
                                     {"partition", tp.partition},
                                     {"start_offset", tp.offset}});
  }
  probe_.GroupJoined();
  probe_.Rebalance(RebalanceEvent::kAssigned, partitions.size());
  PublishOwned();
}

void Pipeline::PublishOwned() {
  probe_.SetPartitionsAssigned(owned_.size());
  MutexLock lock(owned_mu_);
  owned_copy_.assign(owned_.begin(), owned_.end());
}

std::vector<std::uint32_t> Pipeline::OwnedPartitions() const {
  MutexLock lock(owned_mu_);
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
    lag_unreported_.erase({tp.topic, tp.partition});
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
        auto flushed = FlushPartition(partition, it->second);
        if (auto ok = Guard(flushed ? SyncAppended() : flushed); !ok) {
          deferred_error_ = ok.error();
        }
      }
      pending_records_ -= it->second.records;
      pending_.erase(it);
    }
    if (may_drain && !deferred_error_ && !stalled_ && !unsynced_.count(partition)) {
      while (Clock::now() < deadline) {
        probe_.Heartbeat();
        if (auto ok = Drain(partition); !ok) {  // out of room: delivery reports make some
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
  probe_.Rebalance(lost ? RebalanceEvent::kLost : RebalanceEvent::kRevoked, partitions.size());
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

namespace {

// high - the next offset to read; `position` is the register's (-1: none, read from `low`).
std::int64_t LagFrom(std::int64_t position, std::int64_t low, std::int64_t high) {
  const std::int64_t from = position >= 0 ? position : std::max<std::int64_t>(low, 0);
  return std::max<std::int64_t>(high - from, 0);
}

}  // namespace

void Pipeline::OnLag(const std::vector<events::PartitionLag>& lags) {
  for (const auto& lag : lags) {
    std::int64_t value = lag.lag;
    if (value < 0 && lag.high >= 0) {
      // librdkafka has no position yet (nothing fetched since the restart): the register knows
      // where the partition stands.
      auto it = positions_.find({lag.topic, lag.partition});
      if (it != positions_.end()) value = LagFrom(it->second, lag.low, lag.high);
    }
    if (value >= 0) lag_unreported_.erase({lag.topic, lag.partition});
    probe_.ConsumerLag(lag.topic, lag.partition, value);
  }
}

std::optional<events::Watermarks> Pipeline::FetchedWatermarks(
    const std::pair<std::string, std::int32_t>& tp) const {
  auto marks = consumer_->CachedWatermarks(tp.first, tp.second);
  if (!marks) return std::nullopt;
  // Still what an earlier assignment fetched: the topic may have grown since. The statistics
  // report decides, unless a fetch of this assignment moves it.
  if (auto stale = lag_unreported_.find(tp);
      stale != lag_unreported_.end() && stale->second >= 0 && stale->second == marks->high) {
    return std::nullopt;
  }
  return marks;
}

void Pipeline::LagFromFetches() {
  if (lag_unreported_.empty() || Clock::now() - lag_checked_ < milliseconds(50)) return;
  lag_checked_ = Clock::now();
  for (auto& [tp, stale_high] : lag_unreported_) {
    const auto& [topic, partition] = tp;
    auto marks = FetchedWatermarks(tp);
    auto it = positions_.find(tp);
    if (!marks || it == positions_.end()) continue;
    stale_high = -1;  // a fetch of this assignment: trusted from now on
    // Until the statistics report takes over: positions_ follows what was appended.
    probe_.ConsumerLag(topic, partition, LagFrom(it->second, marks->low, marks->high));
  }
}

}  // namespace cir::cird
