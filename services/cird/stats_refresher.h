// The register-wide gauges (initiatives per step, firing alerts, outbox backlog, RocksDB figures,
// the data directory's free and used bytes),
// refreshed off the ingest thread every --stats-interval. RocksDB reads are thread-safe, so the
// refresh never waits for ingest; a read that fails is logged, counted
// (cir_stats_refresh_errors_total) and leaves its gauges at their last values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "cir/base/thread_annotations.h"
#include "cir/storage/register.h"
#include "probe.h"

namespace cir::cird {

// The register reads the refresher makes; Of() reads a storage::Register (tests pass failing
// ones). Each is called from the refresher's thread.
struct StatsSource {
  std::function<Result<storage::Summary>(const std::vector<std::uint32_t>&)> summarize;
  std::function<Result<storage::OutboxBacklog>(std::uint32_t)> backlog;
  std::function<storage::DbFigures()> figures;
  // The data directory's filesystem (cir_data_dir_*_bytes); unset to leave those gauges alone.
  std::function<Result<storage::DiskSpace>()> space;

  // `reg` is not owned and must outlive the source.
  [[nodiscard]] static StatsSource Of(storage::Register& reg);
};

class StatsRefresher {
 public:
  // The register partitions whose figures to show (the ones this member owns). Called from the
  // refresher's thread; must be thread-safe.
  using OwnedPartitions = std::function<std::vector<std::uint32_t>()>;

  // `probe` and `clock` are not owned and must outlive the refresher.
  StatsRefresher(StatsSource source, Probe& probe, const storage::Clock& clock,
                 OwnedPartitions owned, std::chrono::milliseconds interval);
  // Stops the thread (if started).
  ~StatsRefresher();
  StatsRefresher(const StatsRefresher&) = delete;
  StatsRefresher& operator=(const StatsRefresher&) = delete;

  // Starts the thread: one refresh at once, then one every `interval`. Call once.
  void Start();
  // Stops and joins the thread; returns within one refresh. Idempotent.
  void Stop();

  // One refresh on the calling thread; returns how many register reads failed (each logged and
  // counted). The thread calls it; exposed for tests.
  std::size_t RefreshOnce();

 private:
  void Run();

  StatsSource source_;
  Probe& probe_;
  const storage::Clock& clock_;
  OwnedPartitions owned_;
  std::chrono::milliseconds interval_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace cir::cird
