// The outbox: produced to Kafka, delivery reports, acknowledgements, parking, resends.
#include "pipeline.h"

#include <algorithm>
#include <vector>

#include "cir/base/log.h"
#include "cir/events/cloudevents.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kOutboxPage = 500;

}  // namespace

const std::string& Pipeline::TopicFor(const v1::OutboxRecord& record) const {
  if (record.has_dead_letter()) return config_.dead_letter_topic;
  return record.output().has_transition() ? config_.transitions_topic : config_.alerts_topic;
}

Result<bool> Pipeline::Drain(std::uint32_t partition) {
  // At most --max-in-flight outputs in the air: the rest waits in the outbox (the partition stays
  // dirty) until delivery reports make room.
  if (in_flight_.size() >= config_.max_in_flight) return false;
  const std::size_t page = std::min(kOutboxPage, config_.max_in_flight - in_flight_.size());
  auto records = reg_.ReadOutbox(partition, sent_upto_[partition], page);
  if (!records) return std::unexpected(records.error());
  auto& in_flight = in_flight_seqs_[partition];
  for (const auto& record : *records) {
    if (in_flight.count(record.seq())) {  // re-read after a failed delivery: still in the air
      sent_upto_[partition] = record.seq();
      continue;
    }
    if (record.kind_case() == v1::OutboxRecord::KIND_NOT_SET) {
      // Unreadable (an older version's bytes beyond repair): nothing can ever send it.
      if (auto ok = Park(partition, record.seq(), "unreadable outbox record"); !ok) {
        return std::unexpected(ok.error());
      }
      sent_upto_[partition] = record.seq();
      continue;
    }
    const events::Record out = record.has_dead_letter()
                                   ? events::EncodeDeadLetter(record.dead_letter())
                                   : events::EncodeOutput(record.output(), source_);
    const std::uint64_t tag = next_tag_++;
    auto produced = producer_->Produce(TopicFor(record), out, tag);
    if (!produced) {
      if (produced.error().code == ErrorCode::kUnavailable) return false;  // queue full: later
      if (produced.error().code == ErrorCode::kInvalidArgument) {
        // This record can never be produced (too large, invalid): moved aside, never fatal.
        if (auto ok = Park(partition, record.seq(), produced.error().message); !ok) {
          return std::unexpected(ok.error());
        }
        sent_upto_[partition] = record.seq();
        continue;
      }
      return std::unexpected(produced.error());
    }
    in_flight_[tag] = Delivery{partition, record.seq(), record};
    in_flight.insert(record.seq());
    sent_upto_[partition] = record.seq();
  }
  if (records->size() < page) {
    dirty_.erase(partition);
    return true;
  }
  return in_flight_.size() < config_.max_in_flight;
}

Result<void> Pipeline::DrainAll() {
  // In turns, from the partition after the one where the last round ran out of room, so that a
  // partition that always has outputs cannot keep the others' waiting.
  std::vector<std::uint32_t> dirty(dirty_.begin(), dirty_.end());
  std::rotate(dirty.begin(), std::lower_bound(dirty.begin(), dirty.end(), drain_from_),
              dirty.end());
  for (std::uint32_t partition : dirty) {
    if (!owned_.count(partition)) {
      dirty_.erase(partition);
      continue;
    }
    // Appended since the last sync (a stall came between them): nothing of this partition's
    // outbox leaves until the sync, since reads would return the unsynced records as well.
    if (unsynced_.count(partition)) continue;
    const std::size_t before = in_flight_.size();
    auto room = Drain(partition);
    if (!room) return std::unexpected(room.error());
    if (!*room) {
      // Out of room: the next round begins after this partition if it got to send, else with it.
      drain_from_ = in_flight_.size() > before ? partition + 1 : partition;
      break;
    }
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
      // The stored code back to its enum (a code this version does not know counts as
      // unspecified: the label values stay the enum's).
      probe_.DeadLetter(base::ParseEnumName<v1::DeadLetterReason>(
                            delivery.record.dead_letter().reason_code())
                            .value_or(v1::DEAD_LETTER_REASON_UNSPECIFIED));
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

}  // namespace cir::cird
