// The fold of one event into one initiative (private to cir::model): the state being built, the
// outputs it emits (transitions, alerts, their deterministic ids) and the step bookkeeping every
// rule shares. The rules themselves are in rules.cc and timers.cc; Apply (model.cc) drives them.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include <google/protobuf/timestamp.pb.h>

#include "cir/model/model.h"

namespace cir::model {

// "STEP_ACTION" → "ACTION".
[[nodiscard]] std::string StepName(v1::Step step);

// Applies one event to a copy of the state, collecting outputs into `decision`. One instance per
// Apply call; not thread-safe (nor needs to be).
class Fold {
 public:
  // `event` supplies "now" and the cause named on outputs; `decision` must outlive the Fold.
  Fold(v1::Initiative state, const v1::StoredEvent& event, Decision& decision);

  v1::Initiative& state() { return s_; }
  const google::protobuf::Timestamp& now() const { return now_; }

  // ---- outputs ------------------------------------------------------------------------------

  // Emits a transition from the current step to `to` naming `skipped`, and enters `to`.
  void Transition(v1::Step to, const std::vector<v1::Step>& skipped);
  // Adds the time since the current step was entered to that step's total (cycle time).
  void AddStepTime(v1::Step step);
  // Fires an alert unless one of the same kind, step and KPI is firing already.
  void FireAlert(v1::AlertKind kind, v1::Step step, const std::string& kpi,
                 const std::string& reason);
  // Resolves every firing alert of `kind` for which `match` holds.
  template <class Match>
  void ResolveIf(v1::AlertKind kind, const std::string& reason, Match match) {
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
  void Resolve(v1::AlertKind kind, const std::string& reason);
  void ResolveKpi(v1::AlertKind kind, const std::string& kpi, const std::string& reason);
  void ResolveAll(const std::string& reason);
  [[nodiscard]] const v1::FiringAlert* FindFiring(v1::AlertKind kind, v1::Step step,
                                                  const std::string& kpi) const;
  [[nodiscard]] bool IsFiring(v1::AlertKind kind, const std::string& kpi) const;
  // The latest transition this fold emitted, or null. Valid until the next output is emitted.
  [[nodiscard]] v1::StepTransition* LastTransition();

  // ---- steps ----------------------------------------------------------------------------------

  [[nodiscard]] bool Evidenced(v1::Step step) const;
  void MarkEvidenced(v1::Step step);
  void SetEvidenced(std::initializer_list<v1::Step> steps);
  // Progress within the current step: the stall clock restarts.
  void Progress();
  // Evidence for `step` arrived: move forward to it (naming and alerting every step passed over
  // without evidence), or, for the current or an earlier step, record progress.
  void Evidence(v1::Step step);

 private:
  v1::Output& NewOutput();
  void FillAlert(v1::MomentumAlert& alert, const v1::FiringAlert& a, v1::AlertState state,
                 const std::string& reason) const;

  v1::Initiative s_;
  Decision& d_;
  std::string cause_source_;
  std::string cause_id_;
  google::protobuf::Timestamp now_;
};

}  // namespace cir::model
