#include "probe.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <dirent.h>
#include <fstream>
#include <sstream>

#include "cir/log.h"

namespace cir::cird {
namespace {

namespace pm = prometheus;
using Clock = std::chrono::steady_clock;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// "ACTIVITY_DELIVER_SUPPORT" → "deliver_support": enum names without their prefix, lower case.
std::string Label(const std::string& enum_name, std::size_t prefix) {
  std::string out = enum_name.substr(std::min(prefix, enum_name.size()));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string StepLabel(v1::Step s) { return Label(v1::Step_Name(s), 5); }
// The `from` of an initiative's first transition (its proposal): there was no step before it.
std::string FromStepLabel(v1::Step s) { return s == v1::STEP_UNSPECIFIED ? "none" : StepLabel(s); }
// Dead-letter and ignore reason codes ("DECODE_ERROR") as label values ("decode_error"): the one
// place they are mapped, for the pre-created series and the counted ones alike.
std::string ReasonLabel(const std::string& reason_code) { return Label(reason_code, 0); }
// The label values of cir_register_write_stalled (storage::WriteHealth::reason, and
// "unavailable" for a register that could not be opened or written for another passing reason).
constexpr std::array<const char*, 4> kStallReasons{"no_space", "read_only", "io_error",
                                                   "unavailable"};

// The inside of a JSON string literal of `text` (the readiness checks' details are quoted).
std::string JsonInner(const std::string& text) {
  std::string quoted;
  log::AppendEscaped(quoted, text);
  return quoted.substr(1, quoted.size() - 2);
}

std::string KindLabel(v1::AlertKind k) { return Label(v1::AlertKind_Name(k), 11); }
std::string OutcomeLabel(v1::Outcome o) { return Label(v1::Outcome_Name(o), 8); }

pm::Histogram::BucketBoundaries BatchBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}
pm::Histogram::BucketBoundaries LagBuckets() {
  // Event time to append: from pipelines publishing as things happen (sub-second) to backfills.
  // Buckets up to a year, so that a backfill of old events still has a bucket of its own rather
  // than piling into +Inf (where every quantile reads as the top bound).
  return {0.01,  0.05,  0.1,   0.5,    1,      5,       10,      30,      60,
          300,   900,   3600,  21600,  86400,  604800,  2592000, 7776000, 31536000};
}

pm::MetricFamily Single(const std::string& name, const std::string& help, pm::MetricType type,
                        double value) {
  pm::MetricFamily family{name, help, type, {}};
  pm::ClientMetric metric;
  if (type == pm::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

// The fields of /proc/self/stat, numbered as in proc(5) (fields[1] is the pid). The command name
// (field 2) may hold spaces, so fields from 3 on are read after its closing ')'.
std::vector<std::string> StatFields() {
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields{"", "", ""};
  const auto close = content.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(content.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

}  // namespace

// ---- process collector ------------------------------------------------------------------------

ProcessCollector::ProcessCollector() {
  const std::vector<std::string> fields = StatFields();
  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::stod(line.substr(6));
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (fields.size() > 22) start_time_seconds_ = boot_time + std::stod(fields[22]) / ticks;
}

std::vector<pm::MetricFamily> ProcessCollector::Collect() const {
  const std::vector<std::string> fields = StatFields();
  std::vector<pm::MetricFamily> families;
  if (fields.size() <= 24) return families;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double cpu = (std::stod(fields[14]) + std::stod(fields[15])) / ticks;
  families.push_back(Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                            pm::MetricType::Counter, cpu));
  families.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            pm::MetricType::Gauge, std::stod(fields[23])));
  families.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.",
                            pm::MetricType::Gauge, std::stod(fields[24]) * page));
  families.push_back(Single("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.",
                            pm::MetricType::Gauge, start_time_seconds_));
  double fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++fds;
    }
    closedir(dir);
  }
  families.push_back(Single("process_open_fds", "Number of open file descriptors.",
                            pm::MetricType::Gauge, fds));
  std::ifstream limits("/proc/self/limits");
  for (std::string line; std::getline(limits, line);) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream words(line.substr(14));
      std::string soft;
      words >> soft;
      if (soft != "unlimited") {
        families.push_back(Single("process_max_fds",
                                  "Maximum number of open file descriptors.",
                                  pm::MetricType::Gauge, std::stod(soft)));
      }
    }
  }
  return families;
}

// ---- the probe ----------------------------------------------------------------------------------

Probe::Probe(const std::string& version)
    : registry_(std::make_shared<pm::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      consumed_(pm::BuildCounter()
                    .Name("cir_records_consumed_total")
                    .Help("Kafka records consumed from the input topics, valid or not.")
                    .Register(*registry_)),
      appended_(pm::BuildCounter()
                    .Name("cir_events_appended_total")
                    .Help("Value-chain events appended to the register, by activity.")
                    .Register(*registry_)),
      ignored_(pm::BuildCounter()
                   .Name("cir_events_ignored_total")
                   .Help("Events appended but ignored by the model (no effect), by reason.")
                   .Register(*registry_)),
      duplicates_(pm::BuildCounter()
                      .Name("cir_events_duplicate_total")
                      .Help("Events skipped because their source and id were already appended.")
                      .Register(*registry_)
                      .Add({})),
      dead_letters_(pm::BuildCounter()
                        .Name("cir_dead_letters_total")
                        .Help("Input records sent to the dead-letter topic, by reason.")
                        .Register(*registry_)),
      batch_seconds_(pm::BuildHistogram()
                         .Name("cir_batch_append_duration_seconds")
                         .Help("Time to append one batch to the register (one RocksDB write).")
                         .Register(*registry_)
                         .Add({}, BatchBuckets())),
      append_lag_(pm::BuildHistogram()
                      .Name("cir_event_append_lag_seconds")
                      .Help("From an event's time to its append to the register.")
                      .Register(*registry_)
                      .Add({}, LagBuckets())),
      append_errors_(pm::BuildCounter()
                         .Name("cir_append_errors_total")
                         .Help("Register writes that failed (cird stops on one).")
                         .Register(*registry_)
                         .Add({})),
      transitions_(pm::BuildCounter()
                       .Name("cir_transitions_total")
                       .Help("Step transitions emitted, by from and to step.")
                       .Register(*registry_)),
      alerts_(pm::BuildCounter()
                  .Name("cir_alerts_total")
                  .Help("Momentum alerts emitted, by kind and state (firing, resolved).")
                  .Register(*registry_)),
      iterations_(pm::BuildCounter()
                      .Name("cir_iterations_started_total")
                      .Help("New iterations started by a review (or a reopening).")
                      .Register(*registry_)
                      .Add({})),
      timers_(pm::BuildCounter()
                  .Name("cir_timers_fired_total")
                  .Help("Due-times reached and appended as TimerElapsed events.")
                  .Register(*registry_)
                  .Add({})),
      delivered_(pm::BuildCounter()
                     .Name("cir_outbox_delivered_total")
                     .Help("Outbox records acknowledged by Kafka (outputs and dead letters).")
                     .Register(*registry_)
                     .Add({})),
      delivery_failures_(pm::BuildCounter()
                             .Name("cir_outbox_delivery_failures_total")
                             .Help("Outbox deliveries that failed and will be retried.")
                             .Register(*registry_)
                             .Add({})),
      rebalances_(pm::BuildCounter()
                      .Name("cir_rebalance_events_total")
                      .Help("Partition assignment changes, by event (assigned, revoked, lost).")
                      .Register(*registry_)),
      lag_(pm::BuildGauge()
               .Name("cir_consumer_lag_records")
               .Help("Records behind the end of each owned input partition (librdkafka stats).")
               .Register(*registry_)),
      outbox_entries_(pm::BuildGauge()
                          .Name("cir_outbox_backlog_records")
                          .Help("Outbox records not yet acknowledged by Kafka.")
                          .Register(*registry_)
                          .Add({})),
      outbox_age_(pm::BuildGauge()
                      .Name("cir_outbox_oldest_age_seconds")
                      .Help("Age of the oldest outbox record not yet acknowledged (0: empty).")
                      .Register(*registry_)
                      .Add({})),
      initiatives_(pm::BuildGauge()
                       .Name("cir_initiatives")
                       .Help("Initiatives in the owned partitions, by current step.")
                       .Register(*registry_)),
      closed_(pm::BuildGauge()
                  .Name("cir_initiatives_closed")
                  .Help("Closed initiatives in the owned partitions, by outcome.")
                  .Register(*registry_)),
      firing_(pm::BuildGauge()
                  .Name("cir_alerts_firing")
                  .Help("Momentum alerts firing now in the owned partitions, by kind.")
                  .Register(*registry_)),
      partitions_(pm::BuildGauge()
                      .Name("cir_partitions_assigned")
                      .Help("Input partitions this replica owns.")
                      .Register(*registry_)
                      .Add({})),
      rocksdb_memory_(pm::BuildGauge()
                          .Name("cir_rocksdb_memory_bytes")
                          .Help("Memory RocksDB uses, by kind (memtable, block_cache); the sum "
                                "is RocksDB's share of the process's memory.")
                          .Register(*registry_)),
      rocksdb_memtable_(rocksdb_memory_.Add({{"kind", "memtable"}})),
      rocksdb_block_cache_(rocksdb_memory_.Add({{"kind", "block_cache"}})),
      rocksdb_block_cache_capacity_(pm::BuildGauge()
                                        .Name("cir_rocksdb_block_cache_capacity_bytes")
                                        .Help("Capacity of the RocksDB block cache "
                                              "(--block-cache-mb).")
                                        .Register(*registry_)
                                        .Add({})),
      rocksdb_sst_files_(pm::BuildGauge()
                             .Name("cir_rocksdb_sst_files_bytes")
                             .Help("Size of the register's SST files on disk.")
                             .Register(*registry_)
                             .Add({})),
      rocksdb_live_data_(pm::BuildGauge()
                             .Name("cir_rocksdb_live_data_bytes")
                             .Help("Estimated live data in the SST files (the rest is garbage "
                                   "that compaction drops).")
                             .Register(*registry_)
                             .Add({})),
      rocksdb_pending_compaction_(pm::BuildGauge()
                                      .Name("cir_rocksdb_pending_compaction_bytes")
                                      .Help("Estimated bytes compaction has to rewrite.")
                                      .Register(*registry_)
                                      .Add({})),
      ready_(pm::BuildGauge()
                 .Name("cir_ready")
                 .Help("1 when /readyz answers 200.")
                 .Register(*registry_)
                 .Add({})),
      parked_(pm::BuildCounter()
                  .Name("cir_outbox_parked_total")
                  .Help("Outbox records moved aside for good: the producer or broker refused them "
                        "permanently, or they no longer parse (circtl parked lists them).")
                  .Register(*registry_)
                  .Add({})),
      gaps_(pm::BuildGauge()
                .Name("cir_partition_offset_gap")
                .Help("1 while an input partition is paused because its stored offset is outside "
                      "its log (records deleted before cird consumed them, or a recreated topic).")
                .Register(*registry_)),
      gaps_accepted_(pm::BuildCounter()
                         .Name("cir_offset_gaps_accepted_total")
                         .Help("Offset gaps an operator accepted with --accept-offset-gap (the "
                               "partition resumed at its log start).")
                         .Register(*registry_)
                         .Add({})),
      stats_refresh_errors_(pm::BuildCounter()
                                .Name("cir_stats_refresh_errors_total")
                                .Help("Register reads for the register-wide gauges that failed "
                                      "(the gauges keep their last values).")
                                .Register(*registry_)
                                .Add({})),
      write_stalled_(pm::BuildGauge()
                         .Name("cir_register_write_stalled")
                         .Help("1 while register writes fail and consuming is paused, by reason: "
                               "no_space (the data directory's filesystem is full), read_only, "
                               "io_error, unavailable (the register could not be opened yet).")
                         .Register(*registry_)),
      write_stalls_(pm::BuildCounter()
                        .Name("cir_register_write_stalls_total")
                        .Help("Times register writes stalled (a full or read-only disk) and "
                              "consuming paused.")
                        .Register(*registry_)
                        .Add({})),
      data_dir_size_(pm::BuildGauge()
                         .Name("cir_data_dir_size_bytes")
                         .Help("Size of the filesystem holding the data directory (statvfs).")
                         .Register(*registry_)
                         .Add({})),
      data_dir_free_(pm::BuildGauge()
                         .Name("cir_data_dir_free_bytes")
                         .Help("Free space of the filesystem holding the data directory, as "
                               "available to cird (statvfs f_bavail).")
                         .Register(*registry_)
                         .Add({})) {
  for (const char* reason : kStallReasons) write_stalled_.Add({{"reason", reason}});
  pm::BuildGauge()
      .Name("cir_build_info")
      .Help("Always 1; the version is a label.")
      .Register(*registry_)
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
  // Every reason a record can be dead-lettered or ignored for (services/cird/README.md,
  // services/model/README.md), so that rates and alerts see a zero instead of nothing.
  for (const char* reason :
       {"NULL_VALUE", "OVERSIZED", "MISSING_ATTRIBUTE", "BAD_ATTRIBUTE", "UNSUPPORTED_CONTENT_TYPE",
        "DECODE_ERROR", "ATTRIBUTE_MISMATCH", "INVALID_EVENT", "UNKNOWN_INITIATIVE",
        "ALREADY_PROPOSED", "NO_PAYLOAD", "ID_CONFLICT"}) {
    dead_letters_.Add({{"reason", ReasonLabel(reason)}});
  }
  for (const char* reason : {"UNKNOWN_KPI", "INITIATIVE_CLOSED", "STALE_TIMER"}) {
    ignored_.Add({{"reason", ReasonLabel(reason)}});
  }
  static_assert(std::tuple_size_v<decltype(appended_by_activity_)> == v1::Activity_ARRAYSIZE);
  for (int a = v1::ACTIVITY_PLAN; a <= v1::Activity_MAX; ++a) {
    appended_by_activity_[static_cast<std::size_t>(a)] = &appended_.Add(
        {{"activity", Label(v1::Activity_Name(static_cast<v1::Activity>(a)), 9)}});
  }
  heartbeat_ms_ = NowMs();
}

void Probe::RecordConsumed(const std::string& topic) { consumed_.Add({{"topic", topic}}).Increment(); }

void Probe::EventAppended(v1::Activity activity, double event_to_append_seconds) {
  // Validation admits only known, specified activities (index 0 stays empty on purpose).
  appended_by_activity_.at(static_cast<std::size_t>(activity))->Increment();
  append_lag_.Observe(std::max(0.0, event_to_append_seconds));
}

void Probe::EventIgnored(const std::string& reason_code) {
  ignored_.Add({{"reason", ReasonLabel(reason_code)}}).Increment();
}
void Probe::Duplicate() { duplicates_.Increment(); }
void Probe::DeadLetter(const std::string& reason_code) {
  dead_letters_.Add({{"reason", ReasonLabel(reason_code)}}).Increment();
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
        (t.to_step() == v1::STEP_PLAN || t.to_step() == v1::STEP_TARGET_STATE) &&
        t.iteration() > 1;
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
  std::string stall_reason;
  std::string stall_detail;
  {
    std::lock_guard lock(mu_);
    stall_reason = stall_reason_;
    stall_detail = stall_detail_;
    for (const auto& [topic, partition] : paused_gaps_) {
      gaps += (gaps.empty() ? "" : ", ") + topic + "/" + std::to_string(partition);
    }
    // Owning partitions without a statistics report yet: the lag is not known.
    if (lags_.empty() && partitions_.Value() > 0) lag_known = false;
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
  const bool writable = stall_reason.empty();
  r.ready = joined && caught_up && draining && !stopping && gaps.empty() && writable;
  auto check = [](bool ok, const std::string& detail) {
    return std::string("{\"ok\":") + (ok ? "true" : "false") + ",\"detail\":\"" + detail + "\"}";
  };
  r.body = std::string("{\"status\":\"") + (r.ready ? "ready" : "not ready") +
           "\",\"checks\":{\"register\":" +
           check(writable, writable ? "open"
                                    : "writes stalled (" + stall_reason + "): " +
                                          JsonInner(stall_detail) +
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
  ready_.Set(r.ready ? 1 : 0);
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

std::string Probe::Scrape() const {
  (void)Ready();  // cir_ready reflects the moment of the scrape
  auto families = registry_->Collect();
  for (auto& family : process_->Collect()) families.push_back(std::move(family));
  return pm::TextSerializer().Serialize(families);
}

}  // namespace cir::cird
