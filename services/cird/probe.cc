// Probe's metrics half: the prometheus-cpp families, their label values and the typed methods
// that count. Readiness and liveness are in probe_health.cc, process_* in process_collector.cc.
#include "probe.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cctype>

#include "cir/base/enum_name.h"
#include "process_collector.h"

namespace cir::cird {
namespace {

namespace pm = prometheus;

// "ACTIVITY_DELIVER_SUPPORT" → "deliver_support": enum names without their prefix, lower case.
std::string Label(const std::string& enum_name, std::size_t prefix) {
  std::string out = enum_name.substr(std::min(prefix, enum_name.size()));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string StepLabel(v1::Step s) { return Label(v1::Step_Name(s), 5); }
// The `from` of an initiative's first transition (its proposal): there was no step before it.
std::string FromStepLabel(v1::Step s) { return s == v1::STEP_UNSPECIFIED ? "none" : StepLabel(s); }
// The label values of cir_register_write_stalled (storage::WriteHealth::reason, and
// "unavailable" for a register that could not be opened or written for another passing reason).
constexpr std::array<const char*, 4> kStallReasons{"no_space", "read_only", "io_error",
                                                   "unavailable"};

std::string KindLabel(v1::AlertKind k) { return Label(v1::AlertKind_Name(k), 11); }
std::string OutcomeLabel(v1::Outcome o) { return Label(v1::Outcome_Name(o), 8); }

pm::Histogram::BucketBoundaries BatchBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}
pm::Histogram::BucketBoundaries LagBuckets() {
  // Event time to append: from pipelines publishing as things happen (sub-second) to backfills.
  // Buckets up to a year, so that a backfill of old events still has a bucket of its own rather
  // than piling into +Inf (where every quantile reads as the top bound).
  return {0.01, 0.05, 0.1,  0.5,   1,     5,      10,      30,      60,
          300,  900,  3600, 21600, 86400, 604800, 2592000, 7776000, 31536000};
}

// The metric builders of the constructor: a family (labels added later) or its one unlabelled
// series, registered in `registry`. Names and help texts are the exposition's (README.md).
pm::Family<pm::Counter>& CounterFamily(pm::Registry& registry, const char* name, const char* help) {
  return pm::BuildCounter().Name(name).Help(help).Register(registry);
}
pm::Counter& CounterOf(pm::Registry& registry, const char* name, const char* help) {
  return CounterFamily(registry, name, help).Add({});
}
pm::Family<pm::Gauge>& GaugeFamily(pm::Registry& registry, const char* name, const char* help) {
  return pm::BuildGauge().Name(name).Help(help).Register(registry);
}
pm::Gauge& GaugeOf(pm::Registry& registry, const char* name, const char* help) {
  return GaugeFamily(registry, name, help).Add({});
}
pm::Histogram& HistogramOf(pm::Registry& registry, const char* name, const char* help,
                           const pm::Histogram::BucketBoundaries& buckets) {
  return pm::BuildHistogram().Name(name).Help(help).Register(registry).Add({}, buckets);
}

}  // namespace

// ---- the probe ----------------------------------------------------------------------------------

Probe::Probe(const std::string& version)
    : registry_(std::make_shared<pm::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      consumed_(CounterFamily(*registry_, "cir_records_consumed_total",
                              "Kafka records consumed from the input topics, valid or not.")),
      appended_(CounterFamily(*registry_, "cir_events_appended_total",
                              "Value-chain events appended to the register, by activity.")),
      ignored_(CounterFamily(*registry_, "cir_events_ignored_total",
                             "Events appended but ignored by the model (no effect), by reason.")),
      duplicates_(CounterOf(*registry_, "cir_events_duplicate_total",
                            "Events skipped because their source and id were already appended.")),
      dead_letters_(CounterFamily(*registry_, "cir_dead_letters_total",
                                  "Input records sent to the dead-letter topic, by reason.")),
      batch_seconds_(HistogramOf(*registry_, "cir_batch_append_duration_seconds",
                                 "Time to append one batch to the register (one RocksDB write).",
                                 BatchBuckets())),
      append_lag_(HistogramOf(*registry_, "cir_event_append_lag_seconds",
                              "From an event's time to its append to the register.", LagBuckets())),
      append_errors_(CounterOf(*registry_, "cir_append_errors_total",
                               "Register writes that failed (cird stops on one).")),
      transitions_(CounterFamily(*registry_, "cir_transitions_total",
                                 "Step transitions emitted, by from and to step.")),
      alerts_(CounterFamily(*registry_, "cir_alerts_total",
                            "Momentum alerts emitted, by kind and state (firing, resolved).")),
      iterations_(CounterOf(*registry_, "cir_iterations_started_total",
                            "New iterations started by a review (or a reopening).")),
      timers_(CounterOf(*registry_, "cir_timers_fired_total",
                        "Due-times reached and appended as TimerElapsed events.")),
      delivered_(CounterOf(*registry_, "cir_outbox_delivered_total",
                           "Outbox records acknowledged by Kafka (outputs and dead letters).")),
      delivery_failures_(CounterOf(*registry_, "cir_outbox_delivery_failures_total",
                                   "Outbox deliveries that failed and will be retried.")),
      rebalances_(
          CounterFamily(*registry_, "cir_rebalance_events_total",
                        "Partition assignment changes, by event (assigned, revoked, lost).")),
      lag_(GaugeFamily(*registry_, "cir_consumer_lag_records",
                       "Records behind the end of each owned input partition (librdkafka stats).")),
      outbox_entries_(GaugeOf(*registry_, "cir_outbox_backlog_records",
                              "Outbox records not yet acknowledged by Kafka.")),
      outbox_age_(GaugeOf(*registry_, "cir_outbox_oldest_age_seconds",
                          "Age of the oldest outbox record not yet acknowledged (0: empty).")),
      initiatives_(GaugeFamily(*registry_, "cir_initiatives",
                               "Initiatives in the owned partitions, by current step.")),
      closed_(GaugeFamily(*registry_, "cir_initiatives_closed",
                          "Closed initiatives in the owned partitions, by outcome.")),
      firing_(GaugeFamily(*registry_, "cir_alerts_firing",
                          "Momentum alerts firing now in the owned partitions, by kind.")),
      partitions_(
          GaugeOf(*registry_, "cir_partitions_assigned", "Input partitions this replica owns.")),
      rocksdb_memory_(GaugeFamily(*registry_, "cir_rocksdb_memory_bytes",
                                  "Memory RocksDB uses, by kind (memtable, block_cache); the sum "
                                  "is RocksDB's share of the process's memory.")),
      rocksdb_memtable_(rocksdb_memory_.Add({{"kind", "memtable"}})),
      rocksdb_block_cache_(rocksdb_memory_.Add({{"kind", "block_cache"}})),
      rocksdb_block_cache_capacity_(
          GaugeOf(*registry_, "cir_rocksdb_block_cache_capacity_bytes",
                  "Capacity of the RocksDB block cache (--block-cache-mb).")),
      rocksdb_sst_files_(GaugeOf(*registry_, "cir_rocksdb_sst_files_bytes",
                                 "Size of the register's SST files on disk.")),
      rocksdb_live_data_(GaugeOf(
          *registry_, "cir_rocksdb_live_data_bytes",
          "Estimated live data in the SST files (the rest is garbage that compaction drops).")),
      rocksdb_pending_compaction_(GaugeOf(*registry_, "cir_rocksdb_pending_compaction_bytes",
                                          "Estimated bytes compaction has to rewrite.")),
      ready_(GaugeOf(*registry_, "cir_ready", "1 when /readyz answers 200.")),
      parked_(CounterOf(*registry_, "cir_outbox_parked_total",
                        "Outbox records moved aside for good: the producer or broker refused them "
                        "permanently, or they no longer parse (circtl parked lists them).")),
      gaps_(GaugeFamily(
          *registry_, "cir_partition_offset_gap",
          "1 while an input partition is paused because its stored offset is outside its log "
          "(records deleted before cird consumed them, or a recreated topic).")),
      gaps_accepted_(CounterOf(*registry_, "cir_offset_gaps_accepted_total",
                               "Offset gaps an operator accepted with --accept-offset-gap (the "
                               "partition resumed at its log start).")),
      stats_refresh_errors_(CounterOf(*registry_, "cir_stats_refresh_errors_total",
                                      "Register reads for the register-wide gauges that failed "
                                      "(the gauges keep their last values).")),
      write_stalled_(GaugeFamily(*registry_, "cir_register_write_stalled",
                                 "1 while register writes fail and consuming is paused, by reason: "
                                 "no_space (the data directory's filesystem is full), read_only, "
                                 "io_error, unavailable (the register could not be opened yet).")),
      write_stalls_(CounterOf(
          *registry_, "cir_register_write_stalls_total",
          "Times register writes stalled (a full or read-only disk) and consuming paused.")),
      data_dir_size_(GaugeOf(*registry_, "cir_data_dir_size_bytes",
                             "Size of the filesystem holding the data directory (statvfs).")),
      data_dir_free_(GaugeOf(*registry_, "cir_data_dir_free_bytes",
                             "Free space of the filesystem holding the data directory, as "
                             "available to cird (statvfs f_bavail).")) {
  PreCreateSeries(version);
  Heartbeat();
}

// Series that exist from the start (at zero), so that rates and alerts see a zero, not nothing.
void Probe::PreCreateSeries(const std::string& version) {
  for (const char* reason : kStallReasons) write_stalled_.Add({{"reason", reason}});
  GaugeFamily(*registry_, "cir_build_info", "Always 1; the version is a label.")
      .Add({{"version", version}})
      .Set(1);
  // Series that should exist from the start, at zero.
  for (int s = v1::STEP_VISION; s <= v1::STEP_CLOSED; ++s) {
    initiatives_.Add({{"step", StepLabel(static_cast<v1::Step>(s))}});
  }
  for (int k = v1::ALERT_KIND_STEP_SKIPPED; k <= v1::AlertKind_MAX; ++k) {
    firing_.Add({{"kind", KindLabel(static_cast<v1::AlertKind>(k))}});
    for (const char* state : {"firing", "resolved"}) {
      alerts_.Add({{"kind", KindLabel(static_cast<v1::AlertKind>(k))}, {"state", state}});
    }
  }
  for (int o = v1::OUTCOME_SUCCESSFUL; o <= v1::Outcome_MAX; ++o) {
    closed_.Add({{"outcome", OutcomeLabel(static_cast<v1::Outcome>(o))}});
  }
  for (const char* event : {"assigned", "revoked", "lost"}) rebalances_.Add({{"event", event}});
  // Every reason a record can be dead-lettered or ignored for: every value of the enums.
  for (v1::DeadLetterReason r : base::EnumValues<v1::DeadLetterReason>()) {
    dead_letters_.Add({{"reason", base::EnumLabel(r)}});
  }
  for (v1::IgnoreReason r : base::EnumValues<v1::IgnoreReason>()) {
    ignored_.Add({{"reason", base::EnumLabel(r)}});
  }
  static_assert(std::tuple_size_v<decltype(appended_by_activity_)> == v1::Activity_ARRAYSIZE);
  for (int a = v1::ACTIVITY_PLAN; a <= v1::Activity_MAX; ++a) {
    appended_by_activity_[static_cast<std::size_t>(a)] =
        &appended_.Add({{"activity", Label(v1::Activity_Name(static_cast<v1::Activity>(a)), 9)}});
  }
}

void Probe::RecordConsumed(const std::string& topic) {
  consumed_.Add({{"topic", topic}}).Increment();
}

void Probe::EventAppended(v1::Activity activity, double event_to_append_seconds) {
  // Validation admits only known, specified activities (index 0 stays empty on purpose).
  appended_by_activity_.at(static_cast<std::size_t>(activity))->Increment();
  append_lag_.Observe(std::max(0.0, event_to_append_seconds));
}

void Probe::EventIgnored(v1::IgnoreReason reason) {
  ignored_.Add({{"reason", base::EnumLabel(reason)}}).Increment();
}
void Probe::Duplicate() { duplicates_.Increment(); }
void Probe::DeadLetter(v1::DeadLetterReason reason) {
  dead_letters_.Add({{"reason", base::EnumLabel(reason)}}).Increment();
}
void Probe::BatchAppended(double seconds) { batch_seconds_.Observe(seconds); }
void Probe::AppendFailed() { append_errors_.Increment(); }

void Probe::Output(const v1::Output& output) {
  if (output.has_transition()) {
    const auto& t = output.transition();
    transitions_.Add({{"from", FromStepLabel(t.from_step())}, {"to", StepLabel(t.to_step())}})
        .Increment();
    const bool new_iteration =
        (t.from_step() == v1::STEP_REVIEW || t.from_step() == v1::STEP_CLOSED ||
         t.from_step() == v1::STEP_PLAN) &&
        (t.to_step() == v1::STEP_PLAN || t.to_step() == v1::STEP_TARGET_STATE) && t.iteration() > 1;
    if (new_iteration) iterations_.Increment();
  } else {
    const auto& a = output.alert();
    alerts_
        .Add({{"kind", KindLabel(a.kind())},
              {"state", a.state() == v1::ALERT_STATE_FIRING ? "firing" : "resolved"}})
        .Increment();
  }
}

void Probe::TimersFired(std::uint64_t n) { timers_.Increment(static_cast<double>(n)); }
void Probe::OutputDelivered() { delivered_.Increment(); }
void Probe::DeliveryFailed() { delivery_failures_.Increment(); }
void Probe::Rebalance(const char* event, std::size_t partitions) {
  rebalances_.Add({{"event", event}}).Increment(static_cast<double>(partitions));
}

void Probe::ConsumerLag(const std::string& topic, std::int32_t partition, std::int64_t lag) {
  lag_.Add({{"topic", topic}, {"partition", std::to_string(partition)}})
      .Set(static_cast<double>(lag));
  std::lock_guard lock(mu_);
  lags_[{topic, partition}] = lag;
}

void Probe::OutboxParked() { parked_.Increment(); }

void Probe::OffsetGap(const std::string& topic, std::int32_t partition, bool paused) {
  gaps_.Add({{"topic", topic}, {"partition", std::to_string(partition)}}).Set(paused ? 1 : 0);
  std::lock_guard lock(mu_);
  if (paused) {
    paused_gaps_.insert({topic, partition});
  } else {
    paused_gaps_.erase({topic, partition});
  }
}

void Probe::OffsetGapAccepted() { gaps_accepted_.Increment(); }

void Probe::StatsRefreshFailed() { stats_refresh_errors_.Increment(); }

void Probe::ForgetPartition(const std::string& topic, std::int32_t partition) {
  auto& gauge = lag_.Add({{"topic", topic}, {"partition", std::to_string(partition)}});
  lag_.Remove(&gauge);
  std::lock_guard lock(mu_);
  lags_.erase({topic, partition});
}

void Probe::SetSummary(const storage::Summary& summary) {
  for (int s = v1::STEP_VISION; s <= v1::STEP_CLOSED; ++s) {
    auto it = summary.by_step.find(static_cast<v1::Step>(s));
    initiatives_.Add({{"step", StepLabel(static_cast<v1::Step>(s))}})
        .Set(it == summary.by_step.end() ? 0.0 : static_cast<double>(it->second));
  }
  for (int o = v1::OUTCOME_SUCCESSFUL; o <= v1::Outcome_MAX; ++o) {
    auto it = summary.by_outcome.find(static_cast<v1::Outcome>(o));
    closed_.Add({{"outcome", OutcomeLabel(static_cast<v1::Outcome>(o))}})
        .Set(it == summary.by_outcome.end() ? 0.0 : static_cast<double>(it->second));
  }
  for (int k = v1::ALERT_KIND_STEP_SKIPPED; k <= v1::AlertKind_MAX; ++k) {
    auto it = summary.firing.find(static_cast<v1::AlertKind>(k));
    firing_.Add({{"kind", KindLabel(static_cast<v1::AlertKind>(k))}})
        .Set(it == summary.firing.end() ? 0.0 : static_cast<double>(it->second));
  }
}

void Probe::SetOutbox(std::uint64_t entries, double oldest_age_seconds) {
  outbox_entries_.Set(static_cast<double>(entries));
  outbox_age_.Set(oldest_age_seconds);
  outbox_age_seconds_ = oldest_age_seconds;
}

void Probe::SetDbFigures(const storage::DbFigures& f) {
  rocksdb_memtable_.Set(static_cast<double>(f.memtable_bytes));
  rocksdb_block_cache_.Set(static_cast<double>(f.block_cache_usage_bytes));
  rocksdb_block_cache_capacity_.Set(static_cast<double>(f.block_cache_capacity_bytes));
  rocksdb_sst_files_.Set(static_cast<double>(f.sst_files_bytes));
  rocksdb_live_data_.Set(static_cast<double>(f.live_data_bytes));
  rocksdb_pending_compaction_.Set(static_cast<double>(f.pending_compaction_bytes));
}

void Probe::WriteStalled(const std::string& reason, const std::string& detail) {
  std::lock_guard lock(mu_);
  if (stall_reason_.empty()) write_stalls_.Increment();
  for (const char* r : kStallReasons) write_stalled_.Add({{"reason", r}}).Set(r == reason ? 1 : 0);
  stall_reason_ = reason;
  stall_detail_ = detail;
}

void Probe::WriteResumed() {
  std::lock_guard lock(mu_);
  for (const char* r : kStallReasons) write_stalled_.Add({{"reason", r}}).Set(0);
  stall_reason_.clear();
  stall_detail_.clear();
}

void Probe::SetDataDirSpace(const storage::DiskSpace& space) {
  data_dir_size_.Set(static_cast<double>(space.size_bytes));
  data_dir_free_.Set(static_cast<double>(space.free_bytes));
}

void Probe::SetPartitionsAssigned(std::size_t n) { partitions_.Set(static_cast<double>(n)); }

std::string Probe::Scrape() const {
  (void)Ready();  // cir_ready reflects the moment of the scrape
  auto families = registry_->Collect();
  for (auto& family : process_->Collect()) families.push_back(std::move(family));
  return pm::TextSerializer().Serialize(families);
}

}  // namespace cir::cird
