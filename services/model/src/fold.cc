// The fold's output and alert plumbing and its step bookkeeping (see fold.h): how transitions
// and alerts are emitted, given their deterministic ids, and how evidence moves an initiative.
#include "fold.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "time_util.h"

namespace cir::model {

using v1::AlertKind;
using v1::Step;

std::string StepName(Step step) {
  std::string name = v1::Step_Name(step);
  return name.substr(sizeof("STEP_") - 1);
}

Fold::Fold(v1::Initiative state, const v1::StoredEvent& event, Decision& decision)
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

// ---- outputs ----------------------------------------------------------------------------------

void Fold::Transition(Step to, const std::vector<Step>& skipped) {
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

void Fold::AddStepTime(Step step) {
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

void Fold::FireAlert(AlertKind kind, Step step, const std::string& kpi, const std::string& reason) {
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

void Fold::Resolve(AlertKind kind, const std::string& reason) {
  ResolveIf(kind, reason, [](const v1::FiringAlert&) { return true; });
}
void Fold::ResolveKpi(AlertKind kind, const std::string& kpi, const std::string& reason) {
  ResolveIf(kind, reason, [&](const v1::FiringAlert& a) { return a.kpi() == kpi; });
}
void Fold::ResolveAll(const std::string& reason) {
  for (int k = v1::AlertKind_MIN; k <= v1::AlertKind_MAX; ++k) {
    Resolve(static_cast<AlertKind>(k), reason);
  }
}

const v1::FiringAlert* Fold::FindFiring(AlertKind kind, Step step, const std::string& kpi) const {
  for (const auto& a : s_.firing_alerts()) {
    if (a.kind() == kind && a.step() == step && a.kpi() == kpi) return &a;
  }
  return nullptr;
}
bool Fold::IsFiring(AlertKind kind, const std::string& kpi) const {
  return std::any_of(s_.firing_alerts().begin(), s_.firing_alerts().end(),
                     [&](const auto& a) { return a.kind() == kind && a.kpi() == kpi; });
}

v1::StepTransition* Fold::LastTransition() {
  for (auto it = d_.outputs.rbegin(); it != d_.outputs.rend(); ++it) {
    if (it->has_transition()) return it->mutable_transition();
  }
  return nullptr;
}

// ---- steps ------------------------------------------------------------------------------------

bool Fold::Evidenced(Step step) const {
  return std::find(s_.evidenced_steps().begin(), s_.evidenced_steps().end(), step) !=
         s_.evidenced_steps().end();
}
void Fold::MarkEvidenced(Step step) {
  if (Evidenced(step)) return;
  s_.add_evidenced_steps(step);
  std::sort(s_.mutable_evidenced_steps()->begin(), s_.mutable_evidenced_steps()->end());
}
void Fold::SetEvidenced(std::initializer_list<Step> steps) {
  s_.clear_evidenced_steps();
  for (Step step : steps) MarkEvidenced(step);
}

void Fold::Progress() {
  *s_.mutable_last_progress_at() = now_;
  Resolve(v1::ALERT_KIND_STALLED, "progress in step " + StepName(s_.step()));
}

void Fold::Evidence(Step step) {
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

// ---- outputs plumbing -------------------------------------------------------------------------

v1::Output& Fold::NewOutput() {
  s_.set_output_seq(s_.output_seq() + 1);
  d_.outputs.emplace_back();
  return d_.outputs.back();
}

void Fold::FillAlert(v1::MomentumAlert& alert, const v1::FiringAlert& a, v1::AlertState state,
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

}  // namespace cir::model
