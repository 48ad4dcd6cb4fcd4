// The model's due-times: which timers a state calls for (derived from the state alone, so that a
// rebuild arms the same ones) and what a TimerElapsed does when it arrives.
#include "timers.h"

#include <algorithm>
#include <string>

#include "kpi_math.h"
#include "time_util.h"

namespace cir::model {

using v1::AlertKind;

namespace {

void AddTimer(v1::Initiative& s, AlertKind kind, const std::string& kpi,
              const google::protobuf::Timestamp& due) {
  v1::Timer& t = *s.add_timers();
  t.set_kind(kind);
  t.set_kpi(kpi);
  *t.mutable_due_at() = due;
}

// A failure whose lessons are still to be shared: closed UNSUCCESSFUL, or WITHDRAWN after a missed
// target (the last review found a target missed, or a target's deadline had passed unmet when
// it was withdrawn), and no LESSONS_LEARNED recorded.
bool OwesLessons(const v1::Initiative& s) {
  if (std::find(s.momentum().begin(), s.momentum().end(), v1::MOMENTUM_KIND_LESSONS_LEARNED) !=
      s.momentum().end()) {
    return false;
  }
  if (s.outcome() == v1::OUTCOME_UNSUCCESSFUL) return true;
  if (s.outcome() != v1::OUTCOME_WITHDRAWN) return false;
  if (s.last_review() == v1::REVIEW_RESULT_PARTIALLY_ACHIEVED ||
      s.last_review() == v1::REVIEW_RESULT_NOT_ACHIEVED) {
    return true;
  }
  return std::any_of(s.kpis().begin(), s.kpis().end(), [&](const v1::KpiState& k) {
    return k.has_target() && !LatestMeets(k) && !Before(s.closed_at(), k.target().deadline());
  });
}

}  // namespace

void ComputeTimers(const Config& config, Fold& f) {
  v1::Initiative& s = f.state();
  s.clear_timers();
  if (s.step() == v1::STEP_UNSPECIFIED) return;
  if (s.step() == v1::STEP_CLOSED) {
    if (config.lessons_limit.count() > 0 && OwesLessons(s) &&
        !f.IsFiring(v1::ALERT_KIND_LESSONS_NOT_RECORDED, "")) {
      AddTimer(s, v1::ALERT_KIND_LESSONS_NOT_RECORDED, "",
               Plus(s.closed_at(), config.lessons_limit));
    }
    return;
  }

  const auto limit = config.stall_limit[static_cast<std::size_t>(s.step())];
  if (limit.count() > 0 && !f.IsFiring(v1::ALERT_KIND_STALLED, "")) {
    AddTimer(s, v1::ALERT_KIND_STALLED, "", Plus(s.last_progress_at(), limit));
  }
  if (!s.achieved() && s.step() < v1::STEP_MOMENTUM) {
    for (const auto& k : s.kpis()) {
      if (!k.has_target() || LatestMeets(k)) continue;
      if (f.IsFiring(v1::ALERT_KIND_TARGET_OVERDUE, k.kpi())) continue;
      AddTimer(s, v1::ALERT_KIND_TARGET_OVERDUE, k.kpi(), k.target().deadline());
    }
  }
  if (s.achieved() && s.momentum().empty() &&
      !f.IsFiring(v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED, "")) {
    AddTimer(s, v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED, "",
             Plus(s.achieved_at(), config.momentum_limit));
  }
}

bool OnTimer(Fold& f, const v1::TimerElapsed& e) {
  v1::Initiative& s = f.state();
  const auto it = std::find_if(s.timers().begin(), s.timers().end(), [&](const v1::Timer& t) {
    return t.kind() == e.kind() && t.kpi() == e.kpi() && SameTime(t.due_at(), e.due_at());
  });
  if (it == s.timers().end()) return false;
  switch (e.kind()) {
    case v1::ALERT_KIND_STALLED:
      f.FireAlert(
          v1::ALERT_KIND_STALLED, s.step(), "",
          "no progress in " + StepName(s.step()) + " since " + FormatTime(s.last_progress_at()));
      break;
    case v1::ALERT_KIND_TARGET_OVERDUE: {
      const v1::KpiState* k = FindKpi(s, e.kpi());
      if (k == nullptr) return false;
      f.FireAlert(v1::ALERT_KIND_TARGET_OVERDUE, s.step(), e.kpi(),
                  "deadline " + FormatTime(k->target().deadline()) + " passed: " + Describe(*k));
      break;
    }
    case v1::ALERT_KIND_LESSONS_NOT_RECORDED:
      f.FireAlert(v1::ALERT_KIND_LESSONS_NOT_RECORDED, s.step(), "",
                  "closed " + v1::Outcome_Name(s.outcome()).substr(sizeof("OUTCOME_") - 1) +
                      " on " + FormatTime(s.closed_at()) +
                      " and no lessons learned were shared since: a failure keeps its value "
                      "only through its lessons");
      break;
    case v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED:
      f.FireAlert(
          v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED, s.step(), "",
          "achieved on " + FormatTime(s.achieved_at()) + " and nothing reinforced it since");
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace cir::model
