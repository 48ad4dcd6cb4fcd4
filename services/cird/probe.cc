// Probe's metrics half: the prometheus-cpp families registered from the tables of
// probe_metrics.h, their label values and the typed methods that count. Readiness and liveness are
// in probe_health.cc, process_* in process_collector.cc.
#include "probe.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>

#include "cir/base/enum_name.h"
#include "probe_metrics.h"
#include "process_collector.h"

namespace cir::cird {
namespace {

namespace pm = prometheus;
using metrics::CounterFamilyId;
using metrics::CounterId;
using metrics::GaugeFamilyId;
using metrics::GaugeId;
using metrics::HistogramId;
using metrics::Index;
using metrics::kSize;

// ---- label values ------------------------------------------------------------------------------

// The `from` of an initiative's first transition (its proposal): there was no step before it.
std::string FromStepLabel(v1::Step s) {
  return s == v1::STEP_UNSPECIFIED ? "none" : base::EnumLabel(s);
}
// The `event` label of cir_rebalance_events_total, by RebalanceEvent.
constexpr std::array<const char*, 3> kRebalanceLabels{"assigned", "revoked", "lost"};

// One series in `family` per value of E but _UNSPECIFIED, its `label` the value's EnumLabel.
template <base::ProtoEnum E, class Family>
void AddEveryValue(Family& family, const std::string& label) {
  for (E value : base::EnumValues<E>()) family.Add({{label, base::EnumLabel(value)}});
}

// Sets the series of every value of E in `family` to its count in `counts` (0 when absent: a
// step emptied since the last refresh).
template <base::ProtoEnum E, class Counts>
void SetEveryValue(pm::Family<pm::Gauge>& family, const std::string& label, const Counts& counts) {
  for (E value : base::EnumValues<E>()) {
    const auto it = counts.find(value);
    family.Add({{label, base::EnumLabel(value)}})
        .Set(it == counts.end() ? 0.0 : static_cast<double>(it->second));
  }
}

}  // namespace

// ---- the families and their series ------------------------------------------------------------

struct Probe::Metrics {
  explicit Metrics(const std::string& version);
  void PreCreateSeries(const std::string& version);

  pm::Counter& Get(CounterId id) { return *counters[Index(id)]; }
  pm::Gauge& Get(GaugeId id) { return *gauges[Index(id)]; }
  pm::Family<pm::Counter>& Get(CounterFamilyId id) { return *counter_families[Index(id)]; }
  pm::Family<pm::Gauge>& Get(GaugeFamilyId id) { return *gauge_families[Index(id)]; }
  pm::Histogram& Get(HistogramId id) { return *histograms[Index(id)]; }

  std::shared_ptr<pm::Registry> registry = std::make_shared<pm::Registry>();
  std::shared_ptr<ProcessCollector> process = std::make_shared<ProcessCollector>();
  std::array<pm::Counter*, kSize<CounterId>> counters{};
  std::array<pm::Gauge*, kSize<GaugeId>> gauges{};
  std::array<pm::Family<pm::Counter>*, kSize<CounterFamilyId>> counter_families{};
  std::array<pm::Family<pm::Gauge>*, kSize<GaugeFamilyId>> gauge_families{};
  std::array<pm::Histogram*, kSize<HistogramId>> histograms{};
  // cir_events_appended_total's series per cir.v1.Activity value, resolved once (EventAppended
  // is per event; index 0, ACTIVITY_UNSPECIFIED, stays empty: validation admits no such event).
  std::array<pm::Counter*, v1::Activity_ARRAYSIZE> appended_by_activity{};
  pm::Gauge* memtable = nullptr;     // in cir_rocksdb_memory_bytes
  pm::Gauge* block_cache = nullptr;  // in cir_rocksdb_memory_bytes
};

Probe::Metrics::Metrics(const std::string& version) {
  for (const auto& s : metrics::kCounters) {
    counters[Index(s.id)] =
        &pm::BuildCounter().Name(s.name).Help(s.help).Register(*registry).Add({});
  }
  for (const auto& s : metrics::kGauges) {
    gauges[Index(s.id)] = &pm::BuildGauge().Name(s.name).Help(s.help).Register(*registry).Add({});
  }
  for (const auto& s : metrics::kCounterFamilies) {
    counter_families[Index(s.id)] =
        &pm::BuildCounter().Name(s.name).Help(s.help).Register(*registry);
  }
  for (const auto& s : metrics::kGaugeFamilies) {
    gauge_families[Index(s.id)] = &pm::BuildGauge().Name(s.name).Help(s.help).Register(*registry);
  }
  for (const auto& s : metrics::kHistograms) {
    histograms[Index(s.id)] =
        &pm::BuildHistogram().Name(s.name).Help(s.help).Register(*registry).Add({}, s.buckets());
  }
  PreCreateSeries(version);
}

// Series that exist from the start (at zero), so that rates and alerts see a zero, not nothing:
// every value of the enum that labels them (base::EnumValues: all but _UNSPECIFIED).
void Probe::Metrics::PreCreateSeries(const std::string& version) {
  Get(GaugeFamilyId::kBuildInfo).Add({{"version", version}}).Set(1);
  memtable = &Get(GaugeFamilyId::kRocksDbMemory).Add({{"kind", "memtable"}});
  block_cache = &Get(GaugeFamilyId::kRocksDbMemory).Add({{"kind", "block_cache"}});
  AddEveryValue<v1::WriteStallReason>(Get(GaugeFamilyId::kWriteStalled), "reason");
  AddEveryValue<v1::Step>(Get(GaugeFamilyId::kInitiatives), "step");
  AddEveryValue<v1::Outcome>(Get(GaugeFamilyId::kClosed), "outcome");
  AddEveryValue<v1::AlertKind>(Get(GaugeFamilyId::kFiring), "kind");
  AddEveryValue<v1::DeadLetterReason>(Get(CounterFamilyId::kDeadLetters), "reason");
  AddEveryValue<v1::IgnoreReason>(Get(CounterFamilyId::kIgnored), "reason");
  for (v1::AlertKind k : base::EnumValues<v1::AlertKind>()) {
    for (v1::AlertState state : base::EnumValues<v1::AlertState>()) {
      Get(CounterFamilyId::kAlerts)
          .Add({{"kind", base::EnumLabel(k)}, {"state", base::EnumLabel(state)}});
    }
  }
  for (const char* event : kRebalanceLabels) {
    Get(CounterFamilyId::kRebalances).Add({{"event", event}});
  }
  for (v1::Activity a : base::EnumValues<v1::Activity>()) {
    appended_by_activity.at(static_cast<std::size_t>(a)) =
        &Get(CounterFamilyId::kAppended).Add({{"activity", base::EnumLabel(a)}});
  }
}

// ---- the probe ----------------------------------------------------------------------------------

Probe::Probe(const std::string& version) : metrics_(std::make_unique<Metrics>(version)) {
  Heartbeat();
}

Probe::~Probe() = default;

void Probe::RecordConsumed(const std::string& topic) {
  metrics_->Get(CounterFamilyId::kConsumed).Add({{"topic", topic}}).Increment();
}

void Probe::EventAppended(v1::Activity activity, double event_to_append_seconds) {
  // Validation admits only known, specified activities (index 0 stays empty on purpose).
  metrics_->appended_by_activity.at(static_cast<std::size_t>(activity))->Increment();
  metrics_->Get(HistogramId::kAppendLag).Observe(std::max(0.0, event_to_append_seconds));
}

void Probe::EventIgnored(v1::IgnoreReason reason) {
  metrics_->Get(CounterFamilyId::kIgnored).Add({{"reason", base::EnumLabel(reason)}}).Increment();
}
void Probe::Duplicate() { metrics_->Get(CounterId::kDuplicates).Increment(); }
void Probe::DeadLetter(v1::DeadLetterReason reason) {
  metrics_->Get(CounterFamilyId::kDeadLetters)
      .Add({{"reason", base::EnumLabel(reason)}})
      .Increment();
}
void Probe::BatchAppended(double seconds) {
  metrics_->Get(HistogramId::kBatchSeconds).Observe(seconds);
}
void Probe::RegisterSynced(double seconds) {
  metrics_->Get(HistogramId::kSyncSeconds).Observe(seconds);
}
void Probe::AppendFailed() { metrics_->Get(CounterId::kAppendErrors).Increment(); }

void Probe::Output(const v1::Output& output) {
  if (output.has_transition()) {
    const auto& t = output.transition();
    metrics_->Get(CounterFamilyId::kTransitions)
        .Add({{"from", FromStepLabel(t.from_step())}, {"to", base::EnumLabel(t.to_step())}})
        .Increment();
    const bool new_iteration =
        (t.from_step() == v1::STEP_REVIEW || t.from_step() == v1::STEP_CLOSED ||
         t.from_step() == v1::STEP_PLAN) &&
        (t.to_step() == v1::STEP_PLAN || t.to_step() == v1::STEP_TARGET_STATE) && t.iteration() > 1;
    if (new_iteration) metrics_->Get(CounterId::kIterations).Increment();
  } else {
    const auto& a = output.alert();
    const v1::AlertState state =
        a.state() == v1::ALERT_STATE_FIRING ? v1::ALERT_STATE_FIRING : v1::ALERT_STATE_RESOLVED;
    metrics_->Get(CounterFamilyId::kAlerts)
        .Add({{"kind", base::EnumLabel(a.kind())}, {"state", base::EnumLabel(state)}})
        .Increment();
  }
}

void Probe::TimersFired(std::uint64_t n) {
  metrics_->Get(CounterId::kTimersFired).Increment(static_cast<double>(n));
}
void Probe::OutputDelivered() { metrics_->Get(CounterId::kDelivered).Increment(); }
void Probe::DeliveryFailed() { metrics_->Get(CounterId::kDeliveryFailures).Increment(); }
void Probe::Rebalance(RebalanceEvent event, std::size_t partitions) {
  metrics_->Get(CounterFamilyId::kRebalances)
      .Add({{"event", kRebalanceLabels.at(static_cast<std::size_t>(event))}})
      .Increment(static_cast<double>(partitions));
}

void Probe::ConsumerLag(const std::string& topic, std::int32_t partition, std::int64_t lag) {
  metrics_->Get(GaugeFamilyId::kLag)
      .Add({{"topic", topic}, {"partition", std::to_string(partition)}})
      .Set(static_cast<double>(lag));
  MutexLock lock(mu_);
  lags_[{topic, partition}] = lag;
}

void Probe::OutboxParked() { metrics_->Get(CounterId::kParked).Increment(); }

void Probe::OffsetGap(const std::string& topic, std::int32_t partition, bool paused) {
  metrics_->Get(GaugeFamilyId::kOffsetGap)
      .Add({{"topic", topic}, {"partition", std::to_string(partition)}})
      .Set(paused ? 1 : 0);
  MutexLock lock(mu_);
  if (paused) {
    paused_gaps_.insert({topic, partition});
  } else {
    paused_gaps_.erase({topic, partition});
  }
}

void Probe::OffsetGapAccepted() { metrics_->Get(CounterId::kGapsAccepted).Increment(); }

void Probe::StatsRefreshFailed() { metrics_->Get(CounterId::kStatsRefreshErrors).Increment(); }

void Probe::ForgetPartition(const std::string& topic, std::int32_t partition) {
  auto& lag = metrics_->Get(GaugeFamilyId::kLag);
  lag.Remove(&lag.Add({{"topic", topic}, {"partition", std::to_string(partition)}}));
  MutexLock lock(mu_);
  lags_.erase({topic, partition});
}

void Probe::SetSummary(const storage::Summary& summary) {
  SetEveryValue<v1::Step>(metrics_->Get(GaugeFamilyId::kInitiatives), "step", summary.by_step);
  SetEveryValue<v1::Outcome>(metrics_->Get(GaugeFamilyId::kClosed), "outcome", summary.by_outcome);
  SetEveryValue<v1::AlertKind>(metrics_->Get(GaugeFamilyId::kFiring), "kind", summary.firing);
}

void Probe::SetOutbox(std::uint64_t entries, double oldest_age_seconds) {
  metrics_->Get(GaugeId::kOutboxEntries).Set(static_cast<double>(entries));
  metrics_->Get(GaugeId::kOutboxAge).Set(oldest_age_seconds);
  outbox_age_seconds_ = oldest_age_seconds;
}

void Probe::SetDbFigures(const storage::DbFigures& f) {
  metrics_->memtable->Set(static_cast<double>(f.memtable_bytes));
  metrics_->block_cache->Set(static_cast<double>(f.block_cache_usage_bytes));
  for (auto [id, bytes] : {std::pair{GaugeId::kBlockCacheCapacity, f.block_cache_capacity_bytes},
                           std::pair{GaugeId::kSstFiles, f.sst_files_bytes},
                           std::pair{GaugeId::kLiveData, f.live_data_bytes},
                           std::pair{GaugeId::kPendingCompaction, f.pending_compaction_bytes}}) {
    metrics_->Get(id).Set(static_cast<double>(bytes));
  }
}

void Probe::WriteStalled(v1::WriteStallReason reason, const std::string& detail) {
  MutexLock lock(mu_);
  if (stall_reason_ == v1::WRITE_STALL_REASON_UNSPECIFIED) {
    metrics_->Get(CounterId::kWriteStalls).Increment();
  }
  SetStalledGauges(reason);
  stall_reason_ = reason;
  stall_detail_ = detail;
}

void Probe::WriteResumed() {
  MutexLock lock(mu_);
  SetStalledGauges(v1::WRITE_STALL_REASON_UNSPECIFIED);
  stall_reason_ = v1::WRITE_STALL_REASON_UNSPECIFIED;
  stall_detail_.clear();
}

void Probe::SetStalledGauges(v1::WriteStallReason reason) const {
  for (v1::WriteStallReason r : base::EnumValues<v1::WriteStallReason>()) {
    metrics_->Get(GaugeFamilyId::kWriteStalled)
        .Add({{"reason", base::EnumLabel(r)}})
        .Set(r == reason ? 1 : 0);
  }
}

void Probe::SetDataDirSpace(const storage::DiskSpace& space) {
  metrics_->Get(GaugeId::kDataDirSize).Set(static_cast<double>(space.size_bytes));
  metrics_->Get(GaugeId::kDataDirFree).Set(static_cast<double>(space.free_bytes));
}

void Probe::SetPartitionsAssigned(std::size_t n) {
  partitions_assigned_ = n;
  metrics_->Get(GaugeId::kPartitions).Set(static_cast<double>(n));
}

void Probe::SetReadyGauge(bool ready) const { metrics_->Get(GaugeId::kReady).Set(ready ? 1 : 0); }

std::string Probe::Scrape() const {
  (void)Ready();  // cir_ready reflects the moment of the scrape
  auto families = metrics_->registry->Collect();
  for (auto& family : metrics_->process->Collect()) families.push_back(std::move(family));
  return pm::TextSerializer().Serialize(families);
}

}  // namespace cir::cird
