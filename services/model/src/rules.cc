// The per-event rules of the model: what each value-chain event does to an initiative (steps,
// reviews, iterations, closing) and the alerts that follow directly from it. Time-based alerts are
// in timers.cc; the rules are described, with their reasons, in ../README.md.
#include "rules.h"

#include <algorithm>
#include <string>
#include <vector>

#include "kpi_math.h"
#include "time_util.h"

namespace cir::model {

using v1::Step;

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

namespace {

constexpr int kLastActiveStep = v1::STEP_MOMENTUM;

// Concludes a review with `result`. `relevant` decides where a missed target iterates to.
// `not_needed`: the open actions an early achievement left, named on the transition to REVIEW.
void ConcludeReview(Fold& f, v1::ReviewResult result, bool relevant,
                    const std::vector<std::string>& not_needed = {}) {
  v1::Initiative& s = f.state();
  f.Evidence(v1::STEP_REVIEW);
  if (!not_needed.empty()) {
    if (v1::StepTransition* t = f.LastTransition();
        t != nullptr && t->to_step() == v1::STEP_REVIEW) {
      for (const auto& id : not_needed) t->add_actions_not_needed(id);
    }
  }
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

// When the first action of this iteration was done (the earliest update of a DONE action), or
// null while none is.
const google::protobuf::Timestamp* FirstDoneAt(const v1::Initiative& s) {
  const google::protobuf::Timestamp* first = nullptr;
  for (const auto& a : s.actions()) {
    if (a.status() != v1::ACTION_STATUS_DONE) continue;
    if (first == nullptr || Before(a.updated_at(), *first)) first = &a.updated_at();
  }
  return first;
}

// The automatic review, in ACTION. Two rules (../README.md, "Reviews and iterations"):
// - early achievement: once an action is done and a measurement taken at or after that meets
//   every target, the iteration is ACHIEVED; the actions still open are not needed;
// - otherwise, once every action is done and every targeted KPI has been measured since, compare
//   the measurements with the targets.
void MaybeAutoReview(Fold& f) {
  v1::Initiative& s = f.state();
  if (s.step() != v1::STEP_ACTION) return;
  const google::protobuf::Timestamp* first_done = FirstDoneAt(s);
  if (first_done == nullptr) return;
  int targets = 0;
  int met = 0;
  bool met_since_first_done = true;  // every target met by a measurement since an action was done
  bool measured_since_all_done = s.has_actions_done_at();
  for (const auto& k : s.kpis()) {
    if (!k.has_target()) continue;
    ++targets;
    const bool meets = LatestMeets(k);
    if (meets) ++met;
    if (!meets || Before(k.latest().measured_at(), *first_done)) met_since_first_done = false;
    if (!k.has_latest() || !s.has_actions_done_at() ||
        Before(k.latest().measured_at(), s.actions_done_at())) {
      measured_since_all_done = false;
    }
  }
  if (targets == 0) return;
  if (met_since_first_done) {
    std::vector<std::string> not_needed;
    for (auto& a : *s.mutable_actions()) {
      if (a.status() == v1::ACTION_STATUS_DONE) continue;
      a.set_not_needed(true);
      not_needed.push_back(a.action_id());
    }
    ConcludeReview(f, v1::REVIEW_RESULT_ACHIEVED, /*relevant=*/true, not_needed);
    return;
  }
  if (!measured_since_all_done) return;
  const v1::ReviewResult result = met == targets ? v1::REVIEW_RESULT_ACHIEVED
                                  : met > 0      ? v1::REVIEW_RESULT_PARTIALLY_ACHIEVED
                                                 : v1::REVIEW_RESULT_NOT_ACHIEVED;
  ConcludeReview(f, result, /*relevant=*/true);
}

}  // namespace

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
  action->set_percent_complete(e.status() == v1::ACTION_STATUS_DONE ? 100u : e.percent_complete());
  action->set_pilot(e.pilot());
  action->set_not_needed(false);  // someone works on it after all
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
  std::stable_sort(
      k->mutable_recent()->begin(), k->mutable_recent()->end(),
      [](const auto& a, const auto& b) { return Before(a.measured_at(), b.measured_at()); });
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
      f.FireAlert(v1::ALERT_KIND_BENEFIT_EROSION, s.step(), kpi, "after success, " + described);
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
      f.FireAlert(
          v1::ALERT_KIND_TARGET_AT_RISK, s.step(), kpi,
          "trend projects " + FormatNumber(trend.projected) + " at the deadline: " + described);
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
  if (s.step() == v1::STEP_CLOSED) {
    // Lessons learned written after closure, as post-mortems usually are (Apply lets no other
    // momentum reach a closed initiative): recorded, no step moves.
    f.Resolve(v1::ALERT_KIND_LESSONS_NOT_RECORDED, "lessons learned recorded");
    return;
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

}  // namespace cir::model
