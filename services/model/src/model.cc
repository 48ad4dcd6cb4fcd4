// The improvement model's rules. Pure: everything here is a function of the state, the event and
// the configuration. The rules are listed, with the reasons behind them, in ../README.md.
#include "cir/model/model.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kpi_math.h"
#include "time_util.h"

namespace cir::model {
namespace {

using v1::AlertKind;
using v1::Step;

constexpr int kFirstStep = v1::STEP_VISION;
constexpr int kLastActiveStep = v1::STEP_MOMENTUM;

std::string StepName(Step step) {
  std::string name = v1::Step_Name(step);
  return name.substr(sizeof("STEP_") - 1);
}

// Applies one event to a copy of the state, collecting outputs. One instance per Apply call.
class Fold {
 public:
  Fold(v1::Initiative state, const v1::StoredEvent& event, Decision& decision)
      : s_(std::move(state)), d_(decision) {
    if (event.has_value_chain()) {
      cause_source_ = event.value_chain().source();
      cause_id_ = event.value_chain().id();
      now_ = event.value_chain().event_time();
    } else {
      cause_source_ = "cir/timer";
      cause_id_ = v1::AlertKind_Name(event.timer().kind()) + "/" + event.timer().kpi() + "@" +
                  FormatTime(event.timer().due_at());
      now_ = event.timer().fired_at();
    }
  }

  v1::Initiative& state() { return s_; }
  const google::protobuf::Timestamp& now() const { return now_; }

  // ---- outputs ------------------------------------------------------------------------------

  void Transition(Step to, const std::vector<Step>& skipped) {
    const Step from = s_.step();
    auto& t = *NewOutput().mutable_transition();
    t.set_id(s_.initiative_id() + "/t/" + std::to_string(s_.output_seq()));
    t.set_initiative_id(s_.initiative_id());
    t.set_from_step(from);
    t.set_to_step(to);
    t.set_iteration(s_.iteration());
    t.set_cause_event_source(cause_source_);
    t.set_cause_event_id(cause_id_);
    for (Step step : skipped) t.add_skipped_steps(step);
    for (v1::Principle p : PrinciplesOf(to)) t.add_principles(p);
    *t.mutable_time() = now_;

    if (from != v1::STEP_UNSPECIFIED) AddStepTime(from);
    s_.set_step(to);
    *s_.mutable_step_entered_at() = now_;
    *s_.mutable_last_progress_at() = now_;
    // A stall was about the step that was left.
    Resolve(v1::ALERT_KIND_STALLED, "step changed to " + StepName(to));
  }

  // Adds the time since the current step was entered to that step's total (cycle time).
  void AddStepTime(Step step) {
    v1::StepTime* entry = nullptr;
    for (auto& t : *s_.mutable_step_times()) {
      if (t.step() == step) entry = &t;
    }
    if (entry == nullptr) {
      entry = s_.add_step_times();
      entry->set_step(step);
    }
    const std::int64_t spent = now_.seconds() - s_.step_entered_at().seconds();
    entry->set_seconds(entry->seconds() + std::max<std::int64_t>(spent, 0));
    entry->set_visits(entry->visits() + 1);
  }

  // Fires an alert unless one of the same kind, step and KPI is firing already.
  void FireAlert(AlertKind kind, Step step, const std::string& kpi, const std::string& reason) {
    if (FindFiring(kind, step, kpi) != nullptr) return;
    v1::Output& out = NewOutput();
    const std::string alert_id = s_.initiative_id() + "/a/" + std::to_string(s_.output_seq());
    v1::FiringAlert& firing = *s_.add_firing_alerts();
    firing.set_alert_id(alert_id);
    firing.set_kind(kind);
    firing.set_step(step);
    firing.set_kpi(kpi);
    firing.set_iteration(s_.iteration());
    *firing.mutable_fired_at() = now_;
    firing.set_reason(reason);
    FillAlert(*out.mutable_alert(), firing, v1::ALERT_STATE_FIRING, reason);
  }

  // Resolves every firing alert of `kind` for which `match` holds.
  template <class Match>
  void ResolveIf(AlertKind kind, const std::string& reason, Match match) {
    auto* alerts = s_.mutable_firing_alerts();
    for (int i = 0; i < alerts->size();) {
      const v1::FiringAlert& a = alerts->Get(i);
      if (a.kind() == kind && match(a)) {
        v1::Output& out = NewOutput();
        FillAlert(*out.mutable_alert(), a, v1::ALERT_STATE_RESOLVED, reason);
        alerts->DeleteSubrange(i, 1);
      } else {
        ++i;
      }
    }
  }
  void Resolve(AlertKind kind, const std::string& reason) {
    ResolveIf(kind, reason, [](const v1::FiringAlert&) { return true; });
  }
  void ResolveKpi(AlertKind kind, const std::string& kpi, const std::string& reason) {
    ResolveIf(kind, reason, [&](const v1::FiringAlert& a) { return a.kpi() == kpi; });
  }
  void ResolveAll(const std::string& reason) {
    for (int k = v1::AlertKind_MIN; k <= v1::AlertKind_MAX; ++k) {
      Resolve(static_cast<AlertKind>(k), reason);
    }
  }

  const v1::FiringAlert* FindFiring(AlertKind kind, Step step, const std::string& kpi) const {
    for (const auto& a : s_.firing_alerts()) {
      if (a.kind() == kind && a.step() == step && a.kpi() == kpi) return &a;
    }
    return nullptr;
  }
  bool IsFiring(AlertKind kind, const std::string& kpi) const {
    return std::any_of(s_.firing_alerts().begin(), s_.firing_alerts().end(),
                       [&](const auto& a) { return a.kind() == kind && a.kpi() == kpi; });
  }

  // ---- steps ----------------------------------------------------------------------------------

  bool Evidenced(Step step) const {
    return std::find(s_.evidenced_steps().begin(), s_.evidenced_steps().end(), step) !=
           s_.evidenced_steps().end();
  }
  void MarkEvidenced(Step step) {
    if (Evidenced(step)) return;
    s_.add_evidenced_steps(step);
    std::sort(s_.mutable_evidenced_steps()->begin(), s_.mutable_evidenced_steps()->end());
  }
  void SetEvidenced(std::initializer_list<Step> steps) {
    s_.clear_evidenced_steps();
    for (Step step : steps) MarkEvidenced(step);
  }

  // Progress within the current step: the stall clock restarts.
  void Progress() {
    *s_.mutable_last_progress_at() = now_;
    Resolve(v1::ALERT_KIND_STALLED, "progress in step " + StepName(s_.step()));
  }

  // Evidence for `step` arrived: move forward to it (naming and alerting every step passed over
  // without evidence), or, for the current or an earlier step, record progress.
  void Evidence(Step step) {
    const bool late = step < s_.step();
    MarkEvidenced(step);
    if (step > s_.step()) {
      std::vector<Step> skipped;
      for (int i = s_.step() + 1; i < step; ++i) {
        if (!Evidenced(static_cast<Step>(i))) skipped.push_back(static_cast<Step>(i));
      }
      Transition(step, skipped);
      for (Step gap : skipped) {
        FireAlert(v1::ALERT_KIND_STEP_SKIPPED, gap, "",
                  StepName(gap) + " was skipped: " + RiskOfSkipping(gap));
      }
      return;
    }
    Progress();
    if (late) {
      ResolveIf(v1::ALERT_KIND_STEP_SKIPPED, "evidence for " + StepName(step) + " arrived",
                [&](const v1::FiringAlert& a) { return a.step() == step; });
    }
  }

  // ---- outputs plumbing -----------------------------------------------------------------------

  v1::Output& NewOutput() {
    s_.set_output_seq(s_.output_seq() + 1);
    d_.outputs.emplace_back();
    return d_.outputs.back();
  }

  void FillAlert(v1::MomentumAlert& alert, const v1::FiringAlert& a, v1::AlertState state,
                 const std::string& reason) const {
    alert.set_id(a.alert_id() + (state == v1::ALERT_STATE_FIRING ? "/firing" : "/resolved"));
    alert.set_alert_id(a.alert_id());
    alert.set_initiative_id(s_.initiative_id());
    alert.set_kind(a.kind());
    alert.set_state(state);
    alert.set_step(a.step());
    alert.set_iteration(a.iteration());
    alert.set_kpi(a.kpi());
    alert.set_reason(reason);
    alert.set_cause_event_source(cause_source_);
    alert.set_cause_event_id(cause_id_);
    *alert.mutable_time() = now_;
  }

 private:
  v1::Initiative s_;
  Decision& d_;
  std::string cause_source_;
  std::string cause_id_;
  google::protobuf::Timestamp now_;
};

// ---- KPI helpers ----------------------------------------------------------------------------

v1::KpiState* FindKpi(v1::Initiative& s, const std::string& kpi) {
  for (auto& k : *s.mutable_kpis()) {
    if (k.kpi() == kpi) return &k;
  }
  return nullptr;
}

v1::KpiState& UpsertKpi(v1::Initiative& s, const std::string& kpi) {
  if (v1::KpiState* k = FindKpi(s, kpi)) return *k;
  v1::KpiState& k = *s.add_kpis();
  k.set_kpi(kpi);
  std::sort(s.mutable_kpis()->begin(), s.mutable_kpis()->end(),
            [](const v1::KpiState& a, const v1::KpiState& b) { return a.kpi() < b.kpi(); });
  return *FindKpi(s, kpi);
}

bool LatestMeets(const v1::KpiState& k) {
  return k.has_target() && k.has_latest() && Meets(k.target(), k.latest().value());
}

std::string Describe(const v1::KpiState& k) {
  std::string text = k.kpi() + " measured " +
                     (k.has_latest() ? FormatNumber(k.latest().value()) : std::string("nothing"));
  text += ", target ";
  text += k.target().direction() == v1::DIRECTION_DECREASE ? "<= " : ">= ";
  text += FormatNumber(k.target().target_value());
  return text;
}

// Starts iteration + 1 at `step` (PLAN when the objective is still relevant, TARGET_STATE when
// not): the plan, actions and review of the finished iteration are cleared; when the objective is
// no longer relevant its targets go too.
void StartIteration(Fold& f, Step step) {
  v1::Initiative& s = f.state();
  s.set_iteration(s.iteration() + 1);
  s.clear_actions();
  s.clear_plan_summary();
  s.clear_actions_done_at();
  s.set_achieved(false);
  s.clear_achieved_at();
  for (auto& k : *s.mutable_kpis()) {
    k.clear_recent();
    if (step == v1::STEP_TARGET_STATE) {
      k.clear_target();
    }
  }
  if (step == v1::STEP_TARGET_STATE) {
    f.Resolve(v1::ALERT_KIND_TARGET_MISSED, "objective no longer relevant; targets withdrawn");
    f.Resolve(v1::ALERT_KIND_TARGET_OVERDUE, "objective no longer relevant; targets withdrawn");
    f.Resolve(v1::ALERT_KIND_TARGET_AT_RISK, "objective no longer relevant; targets withdrawn");
    f.SetEvidenced({v1::STEP_VISION, v1::STEP_CURRENT_STATE});
  } else {
    f.SetEvidenced({v1::STEP_VISION, v1::STEP_CURRENT_STATE, v1::STEP_TARGET_STATE});
  }
  f.Transition(step, {});
}

// ---- the review -------------------------------------------------------------------------------

// Concludes a review with `result`. `relevant` decides where a missed target iterates to.
void ConcludeReview(Fold& f, v1::ReviewResult result, bool relevant) {
  v1::Initiative& s = f.state();
  f.Evidence(v1::STEP_REVIEW);
  s.set_last_review(result);
  s.set_still_relevant(relevant);

  bool any_missed_kpi = false;
  for (const auto& k : s.kpis()) {
    if (!k.has_target()) continue;
    if (LatestMeets(k)) {
      f.ResolveKpi(v1::ALERT_KIND_TARGET_MISSED, k.kpi(), "review found " + Describe(k));
      f.ResolveKpi(v1::ALERT_KIND_TARGET_AT_RISK, k.kpi(), "review found " + Describe(k));
      f.ResolveKpi(v1::ALERT_KIND_TARGET_OVERDUE, k.kpi(), "review found " + Describe(k));
    } else if (result != v1::REVIEW_RESULT_ACHIEVED) {
      any_missed_kpi = true;
      f.FireAlert(v1::ALERT_KIND_TARGET_MISSED, v1::STEP_REVIEW, k.kpi(),
                  "review found the target missed: " + Describe(k));
    }
  }

  if (result == v1::REVIEW_RESULT_ACHIEVED) {
    s.set_achieved(true);
    *s.mutable_achieved_at() = f.now();
    f.Resolve(v1::ALERT_KIND_TARGET_MISSED, "review concluded ACHIEVED");
    f.Resolve(v1::ALERT_KIND_TARGET_AT_RISK, "review concluded ACHIEVED");
    f.Resolve(v1::ALERT_KIND_TARGET_OVERDUE, "review concluded ACHIEVED");
    return;
  }
  if (!any_missed_kpi) {
    // People judged it missed although no measured KPI says so (or none was measured).
    f.FireAlert(v1::ALERT_KIND_TARGET_MISSED, v1::STEP_REVIEW, "",
                "review concluded " + v1::ReviewResult_Name(result));
  }
  StartIteration(f, relevant ? v1::STEP_PLAN : v1::STEP_TARGET_STATE);
}

// The automatic review: in ACTION, once every action is done and every targeted KPI has been
// measured since, compare the measurements with the targets.
void MaybeAutoReview(Fold& f) {
  v1::Initiative& s = f.state();
  if (s.step() != v1::STEP_ACTION || !s.has_actions_done_at()) return;
  int targets = 0;
  int met = 0;
  for (const auto& k : s.kpis()) {
    if (!k.has_target()) continue;
    ++targets;
    if (!k.has_latest() || Before(k.latest().measured_at(), s.actions_done_at())) return;
    if (Meets(k.target(), k.latest().value())) ++met;
  }
  if (targets == 0) return;
  const v1::ReviewResult result = met == targets ? v1::REVIEW_RESULT_ACHIEVED
                                  : met > 0      ? v1::REVIEW_RESULT_PARTIALLY_ACHIEVED
                                                 : v1::REVIEW_RESULT_NOT_ACHIEVED;
  ConcludeReview(f, result, /*relevant=*/true);
}

// ---- per-event rules --------------------------------------------------------------------------

void OnBaseline(Fold& f, const v1::BaselineMeasured& e) {
  v1::KpiState& k = UpsertKpi(f.state(), e.kpi());
  k.set_has_baseline(true);
  k.set_baseline_value(e.value());
  k.set_unit(e.unit());
  k.set_method(e.method());
  *k.mutable_baseline_at() = e.has_measured_at() ? e.measured_at() : f.now();
  f.Evidence(v1::STEP_CURRENT_STATE);
}

void OnTarget(Fold& f, const v1::TargetSet& e) {
  v1::KpiState& k = UpsertKpi(f.state(), e.kpi());
  v1::KpiTarget& t = *k.mutable_target();
  t.set_target_value(e.target_value());
  t.set_direction(e.direction());
  *t.mutable_deadline() = e.deadline();
  t.set_priority(e.priority());
  t.set_critical_success_factor(e.critical_success_factor());
  *t.mutable_set_at() = f.now();
  k.clear_recent();
  const std::string kpi = e.kpi();  // `k` may move when alerts are added below
  f.ResolveKpi(v1::ALERT_KIND_TARGET_OVERDUE, kpi, "target for " + kpi + " set anew");
  f.ResolveKpi(v1::ALERT_KIND_TARGET_AT_RISK, kpi, "target for " + kpi + " set anew");
  f.Evidence(v1::STEP_TARGET_STATE);
}

void OnPlan(Fold& f, const v1::PlanDefined& e) {
  v1::Initiative& s = f.state();
  for (const auto& planned : e.actions()) {
    v1::ActionState* action = nullptr;
    for (auto& a : *s.mutable_actions()) {
      if (a.action_id() == planned.action_id()) action = &a;
    }
    if (action == nullptr) {
      action = s.add_actions();
      action->set_action_id(planned.action_id());
    }
    action->set_description(planned.description());
    action->set_experiment(planned.experiment());
  }
  if (!e.summary().empty()) s.set_plan_summary(e.summary());
  // New actions reopen a plan whose actions were all done.
  if (std::any_of(s.actions().begin(), s.actions().end(),
                  [](const auto& a) { return a.status() != v1::ACTION_STATUS_DONE; })) {
    s.clear_actions_done_at();
  }
  f.Evidence(v1::STEP_PLAN);
}

void OnAction(Fold& f, const v1::ActionUpdated& e) {
  v1::Initiative& s = f.state();
  v1::ActionState* action = nullptr;
  for (auto& a : *s.mutable_actions()) {
    if (a.action_id() == e.action_id()) action = &a;
  }
  if (action == nullptr) {  // actions may be created by the pipeline that runs them
    action = s.add_actions();
    action->set_action_id(e.action_id());
  }
  action->set_status(e.status());
  action->set_percent_complete(e.status() == v1::ACTION_STATUS_DONE ? 100u
                                                                     : e.percent_complete());
  action->set_pilot(e.pilot());
  *action->mutable_updated_at() = f.now();
  const bool all_done = std::all_of(s.actions().begin(), s.actions().end(), [](const auto& a) {
    return a.status() == v1::ACTION_STATUS_DONE;
  });
  if (all_done && !s.has_actions_done_at()) {
    *s.mutable_actions_done_at() = f.now();
  } else if (!all_done) {
    s.clear_actions_done_at();
  }
  f.Evidence(v1::STEP_ACTION);
}

// Returns false when the KPI is unknown (no baseline and no target).
bool OnMeasurement(const Config& config, Fold& f, const v1::KpiMeasured& e) {
  v1::Initiative& s = f.state();
  v1::KpiState* k = FindKpi(s, e.kpi());
  if (k == nullptr) return false;
  v1::Measurement m;
  m.set_value(e.value());
  *m.mutable_measured_at() = e.has_measured_at() ? e.measured_at() : f.now();
  if (!k->has_latest() || !Before(m.measured_at(), k->latest().measured_at())) {
    *k->mutable_latest() = m;
  }
  *k->add_recent() = m;
  std::stable_sort(k->mutable_recent()->begin(), k->mutable_recent()->end(),
                   [](const auto& a, const auto& b) {
                     return Before(a.measured_at(), b.measured_at());
                   });
  while (static_cast<std::size_t>(k->recent_size()) > config.max_measurements_per_kpi) {
    k->mutable_recent()->DeleteSubrange(0, 1);
  }
  if (!k->has_target()) return true;

  const std::string kpi = k->kpi();
  const bool meets = LatestMeets(*k);
  const std::string described = Describe(*k);
  const bool watching_benefit =
      s.achieved() || (s.step() == v1::STEP_CLOSED && s.outcome() == v1::OUTCOME_SUCCESSFUL);

  if (watching_benefit) {
    if (!meets) {
      f.FireAlert(v1::ALERT_KIND_BENEFIT_EROSION, s.step(), kpi,
                  "after success, " + described);
    } else {
      f.ResolveKpi(v1::ALERT_KIND_BENEFIT_EROSION, kpi, "back on target: " + described);
    }
    return true;
  }
  if (s.step() == v1::STEP_CLOSED) return true;

  if (meets) {
    f.ResolveKpi(v1::ALERT_KIND_TARGET_OVERDUE, kpi, "target met: " + described);
    f.ResolveKpi(v1::ALERT_KIND_TARGET_AT_RISK, kpi, "target met: " + described);
  } else if (s.step() >= v1::STEP_TARGET_STATE && s.step() <= v1::STEP_ACTION &&
             Before(f.now(), k->target().deadline())) {
    const TrendVerdict trend = AssessTrend(*k, config.at_risk_min_points);
    if (trend.assessed && !trend.reaches_target) {
      f.FireAlert(v1::ALERT_KIND_TARGET_AT_RISK, s.step(), kpi,
                  "trend projects " + FormatNumber(trend.projected) + " at the deadline: " +
                      described);
    } else if (trend.assessed) {
      f.ResolveKpi(v1::ALERT_KIND_TARGET_AT_RISK, kpi,
                   "trend projects " + FormatNumber(trend.projected) + " at the deadline");
    }
  }
  MaybeAutoReview(f);
  return true;
}

void OnReview(Fold& f, const v1::ReviewConcluded& e) {
  v1::Initiative& s = f.state();
  // Right after an automatic review started a new iteration (PLAN, no plan yet), a concluded
  // review amends that review: it decides relevance, it does not skip ahead to REVIEW.
  const bool amends = s.step() == v1::STEP_PLAN && s.iteration() > 1 &&
                      !f.Evidenced(v1::STEP_PLAN) &&
                      s.last_review() != v1::REVIEW_RESULT_ACHIEVED &&
                      s.last_review() != v1::REVIEW_RESULT_UNSPECIFIED;
  if (amends) {
    s.set_last_review(e.result());
    s.set_still_relevant(e.still_relevant());
    if (!e.still_relevant()) {
      s.set_iteration(s.iteration() - 1);  // StartIteration counts it again
      StartIteration(f, v1::STEP_TARGET_STATE);
    } else {
      f.Progress();
    }
    return;
  }
  if (s.achieved() && e.result() != v1::REVIEW_RESULT_ACHIEVED) {
    s.set_achieved(false);  // people overrule the automatic review
    f.Resolve(v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED, "review concluded not achieved");
  }
  ConcludeReview(f, e.result(), e.still_relevant());
}

void OnMomentum(Fold& f, const v1::MomentumRecorded& e) {
  v1::Initiative& s = f.state();
  if (std::find(s.momentum().begin(), s.momentum().end(), e.kind()) == s.momentum().end()) {
    s.add_momentum(e.kind());
  }
  f.Resolve(v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED,
            "momentum recorded: " + v1::MomentumKind_Name(e.kind()));
  f.Evidence(v1::STEP_MOMENTUM);
}

void Close(Fold& f, v1::Outcome outcome) {
  v1::Initiative& s = f.state();
  std::vector<Step> skipped;
  if (outcome != v1::OUTCOME_WITHDRAWN) {
    for (int i = s.step() + 1; i <= kLastActiveStep; ++i) {
      if (!f.Evidenced(static_cast<Step>(i))) skipped.push_back(static_cast<Step>(i));
    }
  }
  s.set_outcome(outcome);
  *s.mutable_closed_at() = f.now();
  f.ResolveAll("initiative closed: " + v1::Outcome_Name(outcome));
  f.Transition(v1::STEP_CLOSED, skipped);
}

// ---- timers -----------------------------------------------------------------------------------

void AddTimer(v1::Initiative& s, AlertKind kind, const std::string& kpi,
              const google::protobuf::Timestamp& due) {
  v1::Timer& t = *s.add_timers();
  t.set_kind(kind);
  t.set_kpi(kpi);
  *t.mutable_due_at() = due;
}

// The due-times the state calls for, derived from it alone (so a rebuild gets the same ones).
// A timer whose alert is firing is not armed again, which is what keeps a fired timer from
// firing twice.
void ComputeTimers(const Config& config, Fold& f) {
  v1::Initiative& s = f.state();
  s.clear_timers();
  if (s.step() == v1::STEP_CLOSED || s.step() == v1::STEP_UNSPECIFIED) return;

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

// Returns false when the timer is not (or no longer) one the state asks for.
bool OnTimer(Fold& f, const v1::TimerElapsed& e) {
  v1::Initiative& s = f.state();
  const auto it = std::find_if(s.timers().begin(), s.timers().end(), [&](const v1::Timer& t) {
    return t.kind() == e.kind() && t.kpi() == e.kpi() && SameTime(t.due_at(), e.due_at());
  });
  if (it == s.timers().end()) return false;
  switch (e.kind()) {
    case v1::ALERT_KIND_STALLED:
      f.FireAlert(v1::ALERT_KIND_STALLED, s.step(), "",
                  "no progress in " + StepName(s.step()) + " since " +
                      FormatTime(s.last_progress_at()));
      break;
    case v1::ALERT_KIND_TARGET_OVERDUE: {
      const v1::KpiState* k = FindKpi(s, e.kpi());
      if (k == nullptr) return false;
      f.FireAlert(v1::ALERT_KIND_TARGET_OVERDUE, s.step(), e.kpi(),
                  "deadline " + FormatTime(k->target().deadline()) + " passed: " + Describe(*k));
      break;
    }
    case v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED:
      f.FireAlert(v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED, s.step(), "",
                  "achieved on " + FormatTime(s.achieved_at()) +
                      " and nothing reinforced it since");
      break;
    default:
      return false;
  }
  return true;
}

void Ignore(Decision& d, std::string code, std::string reason) {
  d.disposition = Decision::Disposition::kIgnored;
  d.reason_code = std::move(code);
  d.reason = std::move(reason);
  d.outputs.clear();
}

}  // namespace

Decision Apply(const Config& config, const v1::Initiative* current, const v1::StoredEvent& event) {
  Decision d;
  if (event.has_timer()) {
    if (current == nullptr) {
      d.disposition = Decision::Disposition::kRejected;
      d.reason_code = "UNKNOWN_INITIATIVE";
      d.reason = "timer for an initiative the register does not hold";
      return d;
    }
    Fold f(*current, event, d);
    f.state().set_revision(event.revision());
    if (!OnTimer(f, event.timer())) {
      Ignore(d, "STALE_TIMER", "the state no longer asks for this timer");
      d.state = *current;
      d.state.set_revision(event.revision());
      return d;
    }
    ComputeTimers(config, f);
    d.state = std::move(f.state());
    return d;
  }

  const v1::ValueChainEvent& e = event.value_chain();
  if (current == nullptr && !e.has_initiative_proposed()) {
    d.disposition = Decision::Disposition::kRejected;
    d.reason_code = "UNKNOWN_INITIATIVE";
    d.reason = "initiative '" + e.initiative_id() +
               "' has not been proposed; its first event must be InitiativeProposed";
    return d;
  }
  if (current != nullptr && e.has_initiative_proposed()) {
    d.disposition = Decision::Disposition::kRejected;
    d.reason_code = "ALREADY_PROPOSED";
    d.reason = "initiative '" + e.initiative_id() + "' was already proposed";
    return d;
  }

  v1::Initiative start;
  if (current != nullptr) start = *current;
  Fold f(std::move(start), event, d);
  v1::Initiative& s = f.state();
  s.set_revision(event.revision());

  auto ignore = [&](std::string code, std::string reason) {
    Ignore(d, std::move(code), std::move(reason));
    d.state = *current;
    d.state.set_revision(event.revision());
    return d;
  };

  if (s.step() == v1::STEP_CLOSED) {
    const bool reopens = e.has_target_set();
    const bool watches = e.has_kpi_measured();
    if (!reopens && !watches) {
      return ignore("INITIATIVE_CLOSED",
                    "initiative is closed (" + v1::Outcome_Name(s.outcome()) +
                        "); only a new target reopens it");
    }
    if (reopens) {
      s.clear_outcome();
      s.clear_closed_at();
      s.clear_momentum();
      f.Resolve(v1::ALERT_KIND_BENEFIT_EROSION, "reopened with a new target");
      StartIteration(f, v1::STEP_TARGET_STATE);
    }
  }

  switch (e.payload_case()) {
    case v1::ValueChainEvent::kInitiativeProposed: {
      const auto& p = e.initiative_proposed();
      s.set_initiative_id(e.initiative_id());
      s.set_title(p.title());
      s.set_vision(p.vision());
      s.set_organisational_goal(p.organisational_goal());
      s.set_owner(p.owner());
      s.set_register_level(p.register_level());
      *s.mutable_tags() = p.tags();
      s.set_iteration(1);
      *s.mutable_created_at() = f.now();
      f.Evidence(v1::STEP_VISION);
      break;
    }
    case v1::ValueChainEvent::kBaselineMeasured:
      OnBaseline(f, e.baseline_measured());
      break;
    case v1::ValueChainEvent::kTargetSet:
      OnTarget(f, e.target_set());
      break;
    case v1::ValueChainEvent::kPlanDefined:
      OnPlan(f, e.plan_defined());
      break;
    case v1::ValueChainEvent::kActionUpdated:
      OnAction(f, e.action_updated());
      break;
    case v1::ValueChainEvent::kKpiMeasured:
      if (!OnMeasurement(config, f, e.kpi_measured())) {
        return ignore("UNKNOWN_KPI", "KPI '" + e.kpi_measured().kpi() +
                                         "' has no baseline or target in this initiative");
      }
      break;
    case v1::ValueChainEvent::kReviewConcluded:
      OnReview(f, e.review_concluded());
      break;
    case v1::ValueChainEvent::kMomentumRecorded:
      OnMomentum(f, e.momentum_recorded());
      break;
    case v1::ValueChainEvent::kInitiativeClosed:
      Close(f, e.initiative_closed().outcome());
      break;
    case v1::ValueChainEvent::kInitiativeWithdrawn:
      Close(f, v1::OUTCOME_WITHDRAWN);
      break;
    case v1::ValueChainEvent::PAYLOAD_NOT_SET:
      d.disposition = Decision::Disposition::kRejected;
      d.reason_code = "NO_PAYLOAD";
      d.reason = "event carries no payload";
      d.outputs.clear();
      return d;
  }
  *s.mutable_updated_at() = f.now();
  if (std::find(s.activities().begin(), s.activities().end(), e.activity()) ==
      s.activities().end()) {
    s.add_activities(e.activity());
    std::sort(s.mutable_activities()->begin(), s.mutable_activities()->end());
  }
  ComputeTimers(config, f);
  d.state = std::move(f.state());
  return d;
}

const std::vector<v1::Principle>& PrinciplesOf(v1::Step step) {
  using P = v1::Principle;
  static const std::vector<P> kNone;
  static const std::vector<P> kTable[] = {
      {},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY,
       v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY},
      {v1::PRINCIPLE_START_WHERE_YOU_ARE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY},
      {v1::PRINCIPLE_PROGRESS_ITERATIVELY_WITH_FEEDBACK, v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY,
       v1::PRINCIPLE_KEEP_IT_SIMPLE_AND_PRACTICAL, v1::PRINCIPLE_OPTIMIZE_AND_AUTOMATE},
      {v1::PRINCIPLE_PROGRESS_ITERATIVELY_WITH_FEEDBACK,
       v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY, v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY,
       v1::PRINCIPLE_KEEP_IT_SIMPLE_AND_PRACTICAL},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_PROGRESS_ITERATIVELY_WITH_FEEDBACK,
       v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY,
       v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY},
      {v1::PRINCIPLE_FOCUS_ON_VALUE, v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY,
       v1::PRINCIPLE_THINK_AND_WORK_HOLISTICALLY, v1::PRINCIPLE_OPTIMIZE_AND_AUTOMATE},
  };
  if (step < kFirstStep || step > kLastActiveStep) return kNone;
  return kTable[step];
}

const std::string& RiskOfSkipping(v1::Step step) {
  static const std::string kNone;
  static const std::string kTable[] = {
      "",
      "the work serves one team, not the organisation; effort drifts to work that adds no value",
      "there is no objective baseline, so no improvement can be measured",
      "the target stays vague; stakeholders cannot see the gain and support drops",
      "execution flounders; failed improvements erode confidence",
      "nothing of value is delivered; the earlier steps were wasted",
      "nobody can tell whether the outcome was reached; lessons are lost",
      "gains stay isolated and fade; the next initiative gets less support",
  };
  if (step < kFirstStep || step > kLastActiveStep) return kNone;
  return kTable[step];
}

}  // namespace cir::model
