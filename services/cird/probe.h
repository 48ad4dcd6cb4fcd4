// cird's metrics (prometheus-cpp) and health. One Probe per process: it registers every family
// once and offers typed methods, so the pipeline never spells a metric name nor a label value.
// prometheus-cpp stays in probe.cc (behind `Metrics`): no header of it reaches the files that
// include this one. Names follow Prometheus conventions: prefix cir_, base units, _total
// counters; no initiative ids as labels. The full list, with the meaning of each metric, is in
// README.md beside this file.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "cir/base/thread_annotations.h"
#include "cir/storage/register.h"
#include "cir/v1/improvement.pb.h"
#include "cir/v1/register.pb.h"
#include "cir/v1/value_chain.pb.h"

namespace cir::cird {

// What a rebalance did to this replica's partitions: the `event` label of
// cir_rebalance_events_total (assigned, revoked, lost).
enum class RebalanceEvent { kAssigned, kRevoked, kLost };

class Probe {
 public:
  explicit Probe(const std::string& version);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // ---- ingest (called by the pipeline) ----
  void RecordConsumed(const std::string& topic);
  void EventAppended(v1::Activity activity, double event_to_append_seconds);
  // The `reason` label is the value's base::EnumLabel (unknown_kpi, decode_error), like every
  // label value that comes from an enum; every value's series exists from the start.
  void EventIgnored(v1::IgnoreReason reason);
  void Duplicate();
  void DeadLetter(v1::DeadLetterReason reason);
  void BatchAppended(double seconds);
  void RegisterSynced(double seconds);
  void AppendFailed();
  void Output(const v1::Output& output);
  void TimersFired(std::uint64_t n);
  void OutputDelivered();
  void DeliveryFailed();
  void Rebalance(RebalanceEvent event, std::size_t partitions);
  void ConsumerLag(const std::string& topic, std::int32_t partition, std::int64_t lag);
  void ForgetPartition(const std::string& topic, std::int32_t partition);
  void OutboxParked();  // an outbox record moved aside for good (a permanent produce error)
  // A partition stopped on an offset gap (`paused`), or no longer (accepted, or revoked). While
  // any is paused, Ready() fails naming it.
  void OffsetGap(const std::string& topic, std::int32_t partition, bool paused);
  void OffsetGapAccepted();
  void StatsRefreshFailed();  // a register figure for the gauges could not be read
  // Register writes fail (a full or read-only disk, or the register cannot be opened yet):
  // `reason` labels cir_register_write_stalled by its base::EnumLabel (no_space, read_only,
  // io_error, unavailable), `detail` is the error. While stalled, Ready() fails naming both.
  void WriteStalled(v1::WriteStallReason reason, const std::string& detail);
  void WriteResumed();

  // ---- state refreshed periodically from the register ----
  void SetSummary(const storage::Summary& summary);
  void SetOutbox(std::uint64_t entries, double oldest_age_seconds);
  void SetDbFigures(const storage::DbFigures& figures);
  void SetDataDirSpace(const storage::DiskSpace& space);
  void SetPartitionsAssigned(std::size_t n);

  // ---- health ----
  void Heartbeat();    // the ingest loop is alive
  void GroupJoined();  // the first assignment arrived (possibly empty)
  void ShuttingDown();
  struct Readiness {
    bool ready = false;
    std::string body;  // JSON: {"status":…, "checks":{…}}
  };
  // The bounds Ready() applies (set once at start-up).
  void SetReadyBounds(std::int64_t max_lag, double max_outbox_age_seconds);
  // Ready when register writes are not stalled, the group is joined, the consumer lag is known and
  // within the lag bound, the oldest outbox entry is younger than its bound, and no shutdown is
  // under way. Also sets cir_ready.
  [[nodiscard]] Readiness Ready() const;
  // Alive unless the ingest loop has not turned for `max_stall`.
  [[nodiscard]] Readiness Alive(std::chrono::seconds max_stall) const;

  // The text exposition of every metric.
  [[nodiscard]] std::string Scrape() const;

 private:
  struct Metrics;                        // probe.cc: the registry, the families and their series
  void SetReadyGauge(bool ready) const;  // cir_ready, from Ready() (probe.cc)
  // cir_register_write_stalled: 1 for `reason`, 0 for every other (all 0 for UNSPECIFIED).
  void SetStalledGauges(v1::WriteStallReason reason) const;

  std::unique_ptr<Metrics> metrics_;
  std::atomic<std::size_t> partitions_assigned_{0};
  mutable Mutex mu_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> lags_ GUARDED_BY(mu_);
  std::set<std::pair<std::string, std::int32_t>> paused_gaps_ GUARDED_BY(mu_);
  // UNSPECIFIED: writes possible.
  v1::WriteStallReason stall_reason_ GUARDED_BY(mu_) = v1::WRITE_STALL_REASON_UNSPECIFIED;
  std::string stall_detail_ GUARDED_BY(mu_);
  std::atomic<bool> group_joined_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<std::int64_t> heartbeat_ms_{0};
  std::atomic<double> outbox_age_seconds_{0};
  std::atomic<std::int64_t> max_lag_{1000};
  std::atomic<double> max_outbox_age_{60};
};

}  // namespace cir::cird
