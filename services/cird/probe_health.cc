// Probe's health half: the heartbeat, readiness (/readyz) and liveness (/livez) with their JSON
// bodies. The metrics half is probe.cc.
#include <algorithm>

#include "cir/base/enum_name.h"
#include "cir/base/log.h"
#include "probe.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// The inside of a JSON string literal of `text` (the readiness checks' details are quoted).
std::string JsonInner(const std::string& text) {
  std::string quoted;
  log::AppendEscaped(quoted, text);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace

void Probe::Heartbeat() { heartbeat_ms_.store(NowMs(), std::memory_order_relaxed); }
void Probe::GroupJoined() { group_joined_ = true; }
void Probe::ShuttingDown() { shutting_down_ = true; }

void Probe::SetReadyBounds(std::int64_t max_lag, double max_outbox_age_seconds) {
  max_lag_ = max_lag;
  max_outbox_age_ = max_outbox_age_seconds;
}

Probe::Readiness Probe::Ready() const {
  const std::int64_t max_lag = max_lag_.load();
  const double max_outbox_age_seconds = max_outbox_age_.load();
  std::int64_t total_lag = 0;
  bool lag_known = true;
  std::string gaps;
  v1::WriteStallReason stall_reason = v1::WRITE_STALL_REASON_UNSPECIFIED;
  std::string stall_detail;
  {
    MutexLock lock(mu_);
    stall_reason = stall_reason_;
    stall_detail = stall_detail_;
    for (const auto& [topic, partition] : paused_gaps_) {
      gaps += (gaps.empty() ? "" : ", ") + topic + "/" + std::to_string(partition);
    }
    // Owning partitions without a statistics report yet: the lag is not known.
    if (lags_.empty() && partitions_assigned_.load() > 0) lag_known = false;
    for (const auto& [key, lag] : lags_) {
      if (lag < 0) lag_known = false;
      total_lag += std::max<std::int64_t>(lag, 0);
    }
  }
  const bool joined = group_joined_.load();
  const bool caught_up = lag_known && total_lag <= max_lag;
  const double age = outbox_age_seconds_.load();
  const bool draining = age <= max_outbox_age_seconds;
  const bool stopping = shutting_down_.load();
  Readiness r;
  const bool writable = stall_reason == v1::WRITE_STALL_REASON_UNSPECIFIED;
  r.ready = joined && caught_up && draining && !stopping && gaps.empty() && writable;
  auto check = [](bool ok, const std::string& detail) {
    return std::string("{\"ok\":") + (ok ? "true" : "false") + ",\"detail\":\"" + detail + "\"}";
  };
  r.body = std::string("{\"status\":\"") + (r.ready ? "ready" : "not ready") +
           "\",\"checks\":{\"register\":" +
           check(writable, writable ? "open"
                                    : "writes stalled (" + base::EnumLabel(stall_reason) +
                                          "): " + JsonInner(stall_detail) +
                                          "; consuming paused, retrying (see the "
                                          "CirRegisterDiskFull runbook)") +
           ",\"group\":" +
           check(joined, joined ? "partitions assigned" : "waiting for the first assignment") +
           ",\"caught_up\":" +
           check(caught_up, lag_known ? std::to_string(total_lag) + " records behind, at most " +
                                            std::to_string(max_lag)
                                      : "consumer lag not known yet") +
           ",\"outbox\":" +
           check(draining, "oldest undelivered record " + std::to_string(static_cast<int>(age)) +
                               "s old, at most " +
                               std::to_string(static_cast<int>(max_outbox_age_seconds)) + "s") +
           ",\"offset_gaps\":" +
           check(gaps.empty(), gaps.empty() ? "none"
                                            : "paused on an offset gap: " + gaps +
                                                  " (see the CirOffsetGap runbook)") +
           ",\"shutdown\":" + check(!stopping, stopping ? "stopping" : "running") + "}}\n";
  SetReadyGauge(r.ready);
  return r;
}

Probe::Readiness Probe::Alive(std::chrono::seconds max_stall) const {
  const double since = static_cast<double>(NowMs() - heartbeat_ms_.load()) / 1000.0;
  Readiness r;
  r.ready = since <= static_cast<double>(max_stall.count());
  r.body = std::string("{\"status\":\"") + (r.ready ? "alive" : "stalled") +
           "\",\"ingest_loop_last_turn_seconds_ago\":" + std::to_string(since) + "}\n";
  return r;
}

}  // namespace cir::cird
