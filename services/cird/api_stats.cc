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
  // The figures come from the summaries each partition keeps in step with its projections
  // (Register::Summarize: O(partitions), not a scan). The answer is served again for stats_cache
  // all the same: the figures move slowly.
  // Called with stats_mu_ held, on stats_cached_ (a lambda cannot state that it needs the lock).
  auto cached = [&](const auto& entry) -> std::optional<HttpResponse> {
    if (entry && std::chrono::steady_clock::now() - entry->first < options_.stats_cache) {
      return HttpResponse{200, "application/json", entry->second, {}};
    }
    return std::nullopt;
  };
  MutexLock lock(stats_mu_);
  if (auto hit = cached(stats_cached_)) return *hit;
  const auto now = std::chrono::steady_clock::now();
  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
  auto summary = reg->Summarize(*partitions);
  if (!summary) return JsonError(500, summary.error().ToString());
  std::map<std::string, std::uint64_t> by_step, by_outcome, firing;
  for (const auto& [step, n] : summary->by_step) by_step[v1::Step_Name(step)] = n;
  for (const auto& [outcome, n] : summary->by_outcome) by_outcome[v1::Outcome_Name(outcome)] = n;
  for (const auto& [kind, n] : summary->firing) firing[v1::AlertKind_Name(kind)] = n;
  json cycle_json = json::object();
  for (const auto& [step, visits] : summary->step_visits) {
    const auto seconds = summary->step_seconds.count(step) ? summary->step_seconds.at(step) : 0;
    cycle_json[v1::Step_Name(step)] = {
        {"visits", visits},
        {"mean_seconds",
         visits ? static_cast<double>(seconds) / static_cast<double>(visits) : 0.0}};
  }
  json body{{"initiatives", summary->initiatives},
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
