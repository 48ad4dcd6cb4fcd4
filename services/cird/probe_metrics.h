// The metrics cird exposes, as data: an id per metric and, per kind (unlabelled counters and
// gauges, labelled families, histograms), a table of names and help texts. Probe (probe.cc)
// registers each row once and finds its series by id; nothing else includes this file. Names and
// help texts are the exposition's (README.md beside this file).
#pragma once

#include <prometheus/histogram.h>

#include <cstddef>

namespace cir::cird::metrics {

namespace pm = prometheus;

// Every table lists its kind's ids in order (checked at the end), so that an id is its series'
// index.

// Counters without labels.
enum class CounterId {
  kDuplicates,
  kAppendErrors,
  kIterations,
  kTimersFired,
  kDelivered,
  kDeliveryFailures,
  kParked,
  kGapsAccepted,
  kStatsRefreshErrors,
  kWriteStalls,
  kCount
};
// Gauges without labels.
enum class GaugeId {
  kOutboxEntries,
  kOutboxAge,
  kPartitions,
  kBlockCacheCapacity,
  kSstFiles,
  kLiveData,
  kPendingCompaction,
  kReady,
  kDataDirSize,
  kDataDirFree,
  kCount
};
// Families of labelled series.
enum class CounterFamilyId {
  kConsumed,
  kAppended,
  kIgnored,
  kDeadLetters,
  kTransitions,
  kAlerts,
  kRebalances,
  kCount
};
enum class GaugeFamilyId {
  kLag,
  kInitiatives,
  kClosed,
  kFiring,
  kRocksDbMemory,
  kOffsetGap,
  kWriteStalled,
  kBuildInfo,
  kCount
};
enum class HistogramId { kBatchSeconds, kSyncSeconds, kAppendLag, kCount };

template <class Id>
inline constexpr std::size_t kSize = static_cast<std::size_t>(Id::kCount);
template <class Id>
constexpr std::size_t Index(Id id) {
  return static_cast<std::size_t>(id);
}

template <class Id>
struct Spec {
  Id id;
  const char* name;
  const char* help;
  pm::Histogram::BucketBoundaries (*buckets)() = nullptr;  // histograms only
};

inline pm::Histogram::BucketBoundaries BatchBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}
inline pm::Histogram::BucketBoundaries LagBuckets() {
  // Event time to append: from pipelines publishing as things happen (sub-second) to backfills.
  // Buckets up to a year, so that a backfill of old events still has a bucket of its own rather
  // than piling into +Inf (where every quantile reads as the top bound).
  return {0.01, 0.05, 0.1,  0.5,   1,     5,      10,      30,      60,
          300,  900,  3600, 21600, 86400, 604800, 2592000, 7776000, 31536000};
}

inline constexpr Spec<CounterId> kCounters[] = {
    {CounterId::kDuplicates, "cir_events_duplicate_total",
     "Events skipped because their source and id were already appended."},
    {CounterId::kAppendErrors, "cir_append_errors_total",
     "Register writes that failed (cird stops on one)."},
    {CounterId::kIterations, "cir_iterations_started_total",
     "New iterations started by a review (or a reopening)."},
    {CounterId::kTimersFired, "cir_timers_fired_total",
     "Due-times reached and appended as TimerElapsed events."},
    {CounterId::kDelivered, "cir_outbox_delivered_total",
     "Outbox records acknowledged by Kafka (outputs and dead letters)."},
    {CounterId::kDeliveryFailures, "cir_outbox_delivery_failures_total",
     "Outbox deliveries that failed and will be retried."},
    {CounterId::kParked, "cir_outbox_parked_total",
     "Outbox records moved aside for good: the producer or broker refused them permanently, or "
     "they no longer parse (circtl parked lists them)."},
    {CounterId::kGapsAccepted, "cir_offset_gaps_accepted_total",
     "Offset gaps an operator accepted with --accept-offset-gap (the partition resumed at its log "
     "start)."},
    {CounterId::kStatsRefreshErrors, "cir_stats_refresh_errors_total",
     "Register reads for the register-wide gauges that failed (the gauges keep their last "
     "values)."},
    {CounterId::kWriteStalls, "cir_register_write_stalls_total",
     "Times register writes stalled (a full or read-only disk) and consuming paused."},
};

inline constexpr Spec<GaugeId> kGauges[] = {
    {GaugeId::kOutboxEntries, "cir_outbox_backlog_records",
     "Outbox records not yet acknowledged by Kafka."},
    {GaugeId::kOutboxAge, "cir_outbox_oldest_age_seconds",
     "Age of the oldest outbox record not yet acknowledged (0: empty)."},
    {GaugeId::kPartitions, "cir_partitions_assigned", "Input partitions this replica owns."},
    {GaugeId::kBlockCacheCapacity, "cir_rocksdb_block_cache_capacity_bytes",
     "Capacity of the RocksDB block cache (--block-cache-mb)."},
    {GaugeId::kSstFiles, "cir_rocksdb_sst_files_bytes",
     "Size of the register's SST files on disk."},
    {GaugeId::kLiveData, "cir_rocksdb_live_data_bytes",
     "Estimated live data in the SST files (the rest is garbage that compaction drops)."},
    {GaugeId::kPendingCompaction, "cir_rocksdb_pending_compaction_bytes",
     "Estimated bytes compaction has to rewrite."},
    {GaugeId::kReady, "cir_ready", "1 when /readyz answers 200."},
    {GaugeId::kDataDirSize, "cir_data_dir_size_bytes",
     "Size of the filesystem holding the data directory (statvfs)."},
    {GaugeId::kDataDirFree, "cir_data_dir_free_bytes",
     "Free space of the filesystem holding the data directory, as available to cird (statvfs "
     "f_bavail)."},
};

inline constexpr Spec<CounterFamilyId> kCounterFamilies[] = {
    {CounterFamilyId::kConsumed, "cir_records_consumed_total",
     "Kafka records consumed from the input topics, valid or not."},
    {CounterFamilyId::kAppended, "cir_events_appended_total",
     "Value-chain events appended to the register, by activity."},
    {CounterFamilyId::kIgnored, "cir_events_ignored_total",
     "Events appended but ignored by the model (no effect), by reason."},
    {CounterFamilyId::kDeadLetters, "cir_dead_letters_total",
     "Input records sent to the dead-letter topic, by reason."},
    {CounterFamilyId::kTransitions, "cir_transitions_total",
     "Step transitions emitted, by from and to step."},
    {CounterFamilyId::kAlerts, "cir_alerts_total",
     "Momentum alerts emitted, by kind and state (firing, resolved)."},
    {CounterFamilyId::kRebalances, "cir_rebalance_events_total",
     "Partition assignment changes, by event (assigned, revoked, lost)."},
};

inline constexpr Spec<GaugeFamilyId> kGaugeFamilies[] = {
    {GaugeFamilyId::kLag, "cir_consumer_lag_records",
     "Records behind the end of each owned input partition (librdkafka stats)."},
    {GaugeFamilyId::kInitiatives, "cir_initiatives",
     "Initiatives in the owned partitions, by current step."},
    {GaugeFamilyId::kClosed, "cir_initiatives_closed",
     "Closed initiatives in the owned partitions, by outcome."},
    {GaugeFamilyId::kFiring, "cir_alerts_firing",
     "Momentum alerts firing now in the owned partitions, by kind."},
    // RocksDB: memory in use by kind (summable); the block cache's capacity and the disk figures,
    // which overlap (live data is part of the SST files), are gauges of their own above.
    {GaugeFamilyId::kRocksDbMemory, "cir_rocksdb_memory_bytes",
     "Memory RocksDB uses, by kind (memtable, block_cache); the sum is RocksDB's share of the "
     "process's memory."},
    {GaugeFamilyId::kOffsetGap, "cir_partition_offset_gap",
     "1 while an input partition is paused because its stored offset is outside its log (records "
     "deleted before cird consumed them, or a recreated topic)."},
    {GaugeFamilyId::kWriteStalled, "cir_register_write_stalled",
     "1 while register writes fail and consuming is paused, by reason: no_space (the data "
     "directory's filesystem is full), read_only, io_error, unavailable (the register could not "
     "be opened yet)."},
    {GaugeFamilyId::kBuildInfo, "cir_build_info", "Always 1; the version is a label."},
};

inline constexpr Spec<HistogramId> kHistograms[] = {
    {HistogramId::kBatchSeconds, "cir_batch_append_duration_seconds",
     "Time to append one batch to the register (one RocksDB write, not synced).", BatchBuckets},
    {HistogramId::kSyncSeconds, "cir_register_sync_duration_seconds",
     "Time to fsync the register's WAL once per flush (group commit: every batch appended "
     "since the last sync, in every partition).",
     BatchBuckets},
    {HistogramId::kAppendLag, "cir_event_append_lag_seconds",
     "From an event's time to its append to the register.", LagBuckets},
};

template <class Id, std::size_t N>
constexpr bool ListsEveryIdInOrder(const Spec<Id> (&specs)[N]) {
  if (N != kSize<Id>) return false;
  for (std::size_t i = 0; i < N; ++i) {
    if (Index(specs[i].id) != i) return false;
  }
  return true;
}
static_assert(ListsEveryIdInOrder(kCounters) && ListsEveryIdInOrder(kGauges) &&
              ListsEveryIdInOrder(kCounterFamilies) && ListsEveryIdInOrder(kGaugeFamilies) &&
              ListsEveryIdInOrder(kHistograms));

}  // namespace cir::cird::metrics
