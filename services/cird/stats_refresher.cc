// The register-wide gauges' refresher (stats_refresher.h).
#include "stats_refresher.h"

#include <algorithm>
#include <optional>

#include "cir/base/log.h"

namespace cir::cird {

StatsSource StatsSource::Of(storage::Register& reg) {
  return {[&reg](const std::vector<std::uint32_t>& partitions) { return reg.Summarize(partitions); },
          [&reg](std::uint32_t partition) { return reg.Backlog(partition); },
          [&reg] { return reg.Figures(); },
          [&reg] { return reg.Space(); }};
}

StatsRefresher::StatsRefresher(StatsSource source, Probe& probe, const storage::Clock& clock,
                               OwnedPartitions owned, std::chrono::milliseconds interval)
    : source_(std::move(source)),
      probe_(probe),
      clock_(clock),
      owned_(std::move(owned)),
      interval_(interval) {}

StatsRefresher::~StatsRefresher() { Stop(); }

void StatsRefresher::Start() { thread_ = std::thread([this] { Run(); }); }

void StatsRefresher::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

void StatsRefresher::Run() {
  for (std::chrono::milliseconds wait{0}; stop_.WaitFor(wait); wait = interval_) {
    (void)RefreshOnce();
  }
}

std::size_t StatsRefresher::RefreshOnce() {
  std::size_t failures = 0;
  auto failed = [&](const char* what, const Error& error,
                    std::optional<std::uint32_t> partition = std::nullopt) {
    ++failures;
    probe_.StatsRefreshFailed();
    if (partition) {
      log::Warn(what, {{"error", error.ToString()}, {"partition", *partition}});
    } else {
      log::Warn(what, {{"error", error.ToString()}});
    }
  };
  const auto owned = owned_();
  if (auto summary = source_.summarize(owned)) {
    probe_.SetSummary(*summary);
  } else {
    failed("register summary unreadable; its gauges keep their last values", summary.error());
  }
  std::uint64_t entries = 0;
  std::optional<std::int64_t> oldest;
  for (std::uint32_t p : owned) {
    auto backlog = source_.backlog(p);
    if (!backlog) {
      failed("outbox backlog unreadable; left out of the outbox gauges", backlog.error(), p);
      continue;
    }
    entries += backlog->entries;
    if (backlog->oldest_recorded_at) {
      const auto t = backlog->oldest_recorded_at->seconds();
      oldest = oldest ? std::min(*oldest, t) : t;
    }
  }
  const auto now = clock_.Now().seconds();
  probe_.SetOutbox(entries, oldest ? static_cast<double>(std::max<std::int64_t>(now - *oldest, 0))
                                   : 0.0);
  probe_.SetDbFigures(source_.figures());
  if (source_.space) {
    if (auto space = source_.space()) {
      probe_.SetDataDirSpace(*space);
    } else {
      failed("data directory's filesystem unreadable; its gauges keep their last values",
             space.error());
    }
  }
  return failures;
}

}  // namespace cir::cird
