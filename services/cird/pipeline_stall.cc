// A full or read-only disk: consumption paused, the pending batch kept, retried with back-off.
#include "pipeline.h"

#include <algorithm>

#include "cir/base/enum_name.h"
#include "cir/base/log.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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
  const v1::WriteStallReason reason =
      health.stalled ? health.reason : v1::WRITE_STALL_REASON_UNAVAILABLE;
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
             {{"reason", base::EnumLabel(reason)},
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
    // Still full or read-only: the next try after the back-off. Anything else (an I/O error on
    // a writable disk) is not a pause: cird stops on it, as it does on a failed append.
    if (!storage::IsDiskStall(resumed.error())) return resumed;
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

}  // namespace cir::cird
