// GET /v1/register/stats: counts per step, outcomes, cycle times, alerts by kind (api.h).
#include <map>
#include <optional>
#include <utility>

#include "api.h"
#include "api_internal.h"
#include "cir/base/log.h"

namespace cir::cird {

using namespace api_internal;

HttpResponse Api::Stats(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return NotOpen();
  if (!request.query.empty()) return JsonError(400, "stats takes no query parameters");
  // One scan at a time; the answer is served again for stats_cache (the figures move slowly,
  // and a client looping on stats must not keep a core busy).
  // Called with stats_mu_ held, on stats_cached_ (a lambda cannot state that it needs the lock).
  auto cached = [&](const auto& entry) -> std::optional<HttpResponse> {
    if (entry && std::chrono::steady_clock::now() - entry->first < options_.stats_cache) {
      return HttpResponse{200, "application/json", entry->second, {}};
    }
    return std::nullopt;
  };
  {
    MutexLock lock(stats_mu_);
    if (auto hit = cached(stats_cached_)) return *hit;
  }
  ScanSlot slot(scans_, options_.max_scans);
  if (!slot) return ScansBusy();
  MutexLock lock(stats_mu_);
  if (auto hit = cached(stats_cached_)) return *hit;  // computed while this request waited
  const auto now = std::chrono::steady_clock::now();
  ScanClock clock(options_.scan_budget);
  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
  std::map<std::string, std::uint64_t> by_step, by_outcome, firing;
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> cycle;  // seconds, visits
  std::uint64_t initiatives = 0;
  auto scanned = reg->ScanInitiatives(*partitions, [&](const v1::Initiative& s) {
    if (clock.Expired()) return false;
    ++initiatives;
    ++by_step[v1::Step_Name(s.step())];
    if (s.step() == v1::STEP_CLOSED) ++by_outcome[v1::Outcome_Name(s.outcome())];
    for (const auto& a : s.firing_alerts()) ++firing[v1::AlertKind_Name(a.kind())];
    for (const auto& t : s.step_times()) {
      auto& c = cycle[v1::Step_Name(t.step())];
      c.first += t.seconds();
      c.second += t.visits();
    }
    return true;
  });
  if (!scanned) return JsonError(500, scanned.error().ToString());
  if (clock.expired()) return clock.Error();
  json cycle_json = json::object();
  for (const auto& [step, c] : cycle) {
    cycle_json[step] = {{"visits", c.second},
                        {"mean_seconds", c.second ? static_cast<double>(c.first) /
                                                        static_cast<double>(c.second)
                                                  : 0.0}};
  }
  json body{{"initiatives", initiatives},
            {"by_step", by_step},
            {"by_outcome", by_outcome},
            {"alerts_firing_by_kind", firing},
            {"cycle_time_by_step", cycle_json}};
  if (auto stats = reg->GetStats()) {
    body["events_appended"] = stats->events_appended;
    body["duplicates_skipped"] = stats->duplicates_skipped;
    body["events_rejected"] = stats->events_rejected;
    body["timers_fired"] = stats->timers_fired;
  } else {
    // The counters are left out of this answer; the scan's figures still hold.
    log::Warn("register stats unreadable", {{"error", stats.error().ToString()}});
  }
  HttpResponse response = Ok(body);
  stats_cached_.emplace(now, response.body);
  return response;
}

}  // namespace cir::cird
