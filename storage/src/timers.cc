// Timers: the due-time index of a projection (TimerKeys), firing the due timers of a partition
// into a batch (FireDue, for Register::FireDueTimers) and event-time firing (FireDueUntil,
// cir/storage/stream_time.h).
#include "timers.h"

#include <google/protobuf/util/time_util.h>

#include "cir/storage/stream_time.h"
#include "keys.h"

namespace cir::storage {
namespace internal {

std::set<std::string> TimerKeys(std::uint32_t partition, const v1::Initiative& state) {
  std::set<std::string> keys;
  for (const v1::Timer& timer : state.timers()) {
    keys.insert(TimerKey(partition, state.initiative_id(), timer));
  }
  return keys;
}

Result<std::string> FireDue(const Db& db, BatchBuilder& batch, std::uint32_t partition,
                            const google::protobuf::Timestamp& now, std::size_t limit,
                            std::string from) {
  // Only keys due at or before `now`: the scan stops at the first later one, and starts at the
  // first live one (`from`), so the cost is the number of due timers, whatever the size of the
  // register and however many keys were deleted before.
  std::string bound = TimerBound(partition, NowMillis(now));
  Scan scan(db, Cf::kTimers, std::move(from), bound);
  std::size_t fired = 0;
  for (; scan.Valid() && fired < limit; scan.Next()) {
    const std::string key(scan.key());
    auto parts = ParseTimerKey(key);
    if (!parts) {
      return Fail(ErrorCode::kCorruption,
                  "malformed due-time index key " + Printable(key) + " in " + db.path());
    }
    auto current = batch.Current(parts->initiative_id);
    if (!current) return std::unexpected(current.error());
    // The timer as the projection (as of the timers fired before it) still lists it; an
    // earlier fold in this batch may have removed or moved it, and then it does not fire.
    const v1::Timer* timer = nullptr;
    if (*current != nullptr) {
      for (const v1::Timer& t : (*current)->timers()) {
        if (t.kind() == parts->kind && t.kpi() == parts->kpi &&
            DueMillis(t.due_at()) == parts->due_ms) {
          timer = &t;
          break;
        }
      }
    }
    if (timer == nullptr) {
      batch.DeleteTimerKey(key);  // stale; a no-op when an earlier fold already removed it
      continue;
    }
    BatchBuilder::Candidate candidate;
    candidate.initiative_id = parts->initiative_id;
    candidate.dedupe_source = std::string(kTimerSource);
    candidate.dedupe_id = TimerDedupeId(parts->initiative_id, parts->kind, parts->kpi,
                                        parts->due_ms, (*current)->revision() + 1);
    v1::TimerElapsed* elapsed = candidate.event.mutable_timer();
    elapsed->set_kind(timer->kind());
    elapsed->set_kpi(timer->kpi());
    *elapsed->mutable_due_at() = timer->due_at();
    *elapsed->mutable_fired_at() = now;
    candidate.event.set_source_topic(std::string(kTimerSource));
    candidate.event.set_source_offset(-1);
    candidate.dead_letter.set_key(parts->initiative_id);
    candidate.dead_letter.set_value(SerializeOrEmpty(*elapsed));
    candidate.fired_timer_key = key;
    if (auto folded = batch.Fold(std::move(candidate)); !folded) {
      return std::unexpected(folded.error());
    }
    ++fired;
  }
  if (auto ok = scan.status(); !ok) return std::unexpected(ok.error());
  // Every key the scan passed is deleted in the batch (fired or stale).
  return scan.Valid() ? std::string(scan.key()) : bound;
}

}  // namespace internal

Result<std::uint64_t> FireDueUntil(Register& reg, std::uint32_t partition,
                                   const google::protobuf::Timestamp& until,
                                   const Projector& projector) {
  std::uint64_t fired = 0;
  for (;;) {
    auto due = reg.NextDue(partition);
    if (!due) return std::unexpected(due.error());
    if (!*due || **due > until) return fired;
    auto result = reg.FireDueTimers(partition, **due, 1000, projector);
    if (!result) return std::unexpected(result.error());
    if (result->events.empty()) return fired;  // nothing consumed: do not spin
    fired += result->events.size();
  }
}

}  // namespace cir::storage
