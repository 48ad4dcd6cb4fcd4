// The model's entry point: Apply routes one stored event (a value-chain event or a TimerElapsed)
// to its rule (rules.cc, timers.cc), handles the events that make no sense for the state, and
// derives the timers of the result. Pure: a function of the state, the event and the config.
#include "cir/model/model.h"

#include <algorithm>
#include <string>
#include <utility>

#include "cir/base/enum_name.h"
#include "fold.h"
#include "rules.h"
#include "timers.h"

namespace cir::model {
namespace {

// Ends `d` as ignored: no outputs; the caller sets the state.
Decision& Ignore(Decision& d, v1::IgnoreReason code, std::string reason) {
  d.disposition = Decision::Disposition::kIgnored;
  d.ignored_for = code;
  d.reason = std::move(reason);
  d.outputs.clear();
  return d;
}

Decision Reject(v1::DeadLetterReason code, std::string reason) {
  Decision d;
  d.disposition = Decision::Disposition::kRejected;
  d.rejected_for = code;
  d.reason = std::move(reason);
  return d;
}

Decision ApplyTimer(const Config& config, const v1::Initiative* current,
                    const v1::StoredEvent& event) {
  if (current == nullptr) {
    return Reject(v1::DEAD_LETTER_REASON_UNKNOWN_INITIATIVE,
                  "timer for an initiative the register does not hold");
  }
  Decision d;
  Fold f(*current, event, d);
  f.state().set_revision(event.revision());
  if (!OnTimer(f, event.timer())) {
    Ignore(d, v1::IGNORE_REASON_STALE_TIMER, "the state no longer asks for this timer");
    d.state = *current;
    d.state.set_revision(event.revision());
    return d;
  }
  ComputeTimers(config, f);
  d.state = std::move(f.state());
  return d;
}

void OnProposed(Fold& f, const std::string& id, const v1::InitiativeProposed& p) {
  v1::Initiative& s = f.state();
  s.set_initiative_id(id);
  s.set_title(p.title());
  s.set_vision(p.vision());
  s.set_organisational_goal(p.organisational_goal());
  s.set_owner(p.owner());
  s.set_register_level(p.register_level());
  *s.mutable_tags() = p.tags();
  s.set_iteration(1);
  *s.mutable_created_at() = f.now();
  f.Evidence(v1::STEP_VISION);
}

// A closed initiative takes a new target (which reopens it), measurements (the erosion watch) and
// lessons learned; false for anything else.
bool AdmitWhenClosed(Fold& f, const v1::ValueChainEvent& e) {
  const bool reopens = e.has_target_set();
  const bool watches = e.has_kpi_measured();
  const bool lessons = e.has_momentum_recorded() &&
                       e.momentum_recorded().kind() == v1::MOMENTUM_KIND_LESSONS_LEARNED;
  if (!reopens && !watches && !lessons) return false;
  if (reopens) {
    v1::Initiative& s = f.state();
    s.clear_outcome();
    s.clear_closed_at();
    s.clear_momentum();
    f.Resolve(v1::ALERT_KIND_BENEFIT_EROSION, "reopened with a new target");
    f.Resolve(v1::ALERT_KIND_LESSONS_NOT_RECORDED, "reopened with a new target");
    StartIteration(f, v1::STEP_TARGET_STATE);
  }
  return true;
}

// The payload's rule. False when the payload is a measurement of a KPI the initiative does not
// track (the event is ignored); PAYLOAD_NOT_SET is handled by the caller.
bool Dispatch(const Config& config, Fold& f, const v1::ValueChainEvent& e) {
  using E = v1::ValueChainEvent;
  // One line a payload: the table of which rule takes which event.
  // clang-format off
  switch (e.payload_case()) {
    case E::kInitiativeProposed: OnProposed(f, e.initiative_id(), e.initiative_proposed()); break;
    case E::kBaselineMeasured: OnBaseline(f, e.baseline_measured()); break;
    case E::kTargetSet: OnTarget(f, e.target_set()); break;
    case E::kPlanDefined: OnPlan(f, e.plan_defined()); break;
    case E::kActionUpdated: OnAction(f, e.action_updated()); break;
    case E::kKpiMeasured: return OnMeasurement(config, f, e.kpi_measured());
    case E::kReviewConcluded: OnReview(f, e.review_concluded()); break;
    case E::kMomentumRecorded: OnMomentum(f, e.momentum_recorded()); break;
    case E::kInitiativeClosed: Close(f, e.initiative_closed().outcome()); break;
    case E::kInitiativeWithdrawn: Close(f, v1::OUTCOME_WITHDRAWN); break;
    case E::PAYLOAD_NOT_SET: break;
  }
  // clang-format on
  return true;
}

}  // namespace

std::string_view Decision::reason_code() const {
  switch (disposition) {
    case Disposition::kApplied:
      return {};
    case Disposition::kIgnored:
      return base::EnumName(ignored_for);
    case Disposition::kRejected:
      return base::EnumName(rejected_for);
  }
  return {};
}

Decision Apply(const Config& config, const v1::Initiative* current, const v1::StoredEvent& event) {
  if (event.has_timer()) return ApplyTimer(config, current, event);

  const v1::ValueChainEvent& e = event.value_chain();
  if (current == nullptr && !e.has_initiative_proposed()) {
    return Reject(v1::DEAD_LETTER_REASON_UNKNOWN_INITIATIVE,
                  "initiative '" + e.initiative_id() +
                      "' has not been proposed; its first event must be InitiativeProposed");
  }
  if (current != nullptr && e.has_initiative_proposed()) {
    return Reject(v1::DEAD_LETTER_REASON_ALREADY_PROPOSED,
                  "initiative '" + e.initiative_id() + "' was already proposed");
  }
  Decision d;
  v1::Initiative start;
  if (current != nullptr) start = *current;
  Fold f(std::move(start), event, d);
  v1::Initiative& s = f.state();
  s.set_revision(event.revision());

  auto ignore = [&](v1::IgnoreReason code, std::string reason) {
    Ignore(d, code, std::move(reason));
    d.state = *current;
    d.state.set_revision(event.revision());
    return d;
  };
  if (s.step() == v1::STEP_CLOSED && !AdmitWhenClosed(f, e)) {
    return ignore(v1::IGNORE_REASON_INITIATIVE_CLOSED, "initiative is closed (" +
                                                           v1::Outcome_Name(s.outcome()) +
                                                           "); only a new target reopens it");
  }
  if (e.payload_case() == v1::ValueChainEvent::PAYLOAD_NOT_SET) {
    return Reject(v1::DEAD_LETTER_REASON_NO_PAYLOAD, "event carries no payload");
  }
  if (!Dispatch(config, f, e)) {
    return ignore(
        v1::IGNORE_REASON_UNKNOWN_KPI,
        "KPI '" + e.kpi_measured().kpi() + "' has no baseline or target in this initiative");
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

}  // namespace cir::model
