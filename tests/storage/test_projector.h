// A small, deterministic Projector for the storage tests: a real fold, not a mock.
//
// - An initiative whose id starts with "reject-" is rejected (TEST_REJECTED); one that starts with
//   "ignore-" is ignored (TEST_IGNORED; its projection still counts the revision).
// - Every applied value-chain event counts in `iteration`, moves `updated_at` to the event time
//   and re-arms one timer: STALLED, due at event time + 1 h. Every `transition_every`-th applied
//   event emits a StepTransition "<initiative>/t/<output seq>".
// - A TimerElapsed removes the timer it names (unless `clear_fired_timers` is false, a deliberately
//   broken projector) and emits a FIRING MomentumAlert "<initiative>/a/<output seq>/firing"; a timer
//   of an initiative the register does not hold is rejected.
#pragma once

#include <cstdint>
#include <string>

#include "cir/storage/projector.h"

namespace cir::storage::testing {

class TestProjector final : public Projector {
 public:
  explicit TestProjector(std::uint64_t transition_every = 3, bool clear_fired_timers = true)
      : transition_every_(transition_every), clear_fired_timers_(clear_fired_timers) {}

  [[nodiscard]] Projection Project(const v1::Initiative* current,
                                   const v1::StoredEvent& event) const override {
    Projection p;
    if (event.has_timer()) return OnTimer(current, event);
    const v1::ValueChainEvent& e = event.value_chain();
    if (e.initiative_id().starts_with("reject-")) {
      p.disposition = Projection::Disposition::kRejected;
      p.reason_code = "TEST_REJECTED";
      p.reason = "the test projector rejects " + e.initiative_id();
      return p;
    }
    if (current != nullptr) {
      p.state = *current;
    } else {
      p.state.set_initiative_id(e.initiative_id());
      *p.state.mutable_created_at() = e.event_time();
    }
    p.state.set_revision(event.revision());
    if (e.initiative_id().starts_with("ignore-")) {
      p.disposition = Projection::Disposition::kIgnored;
      p.reason_code = "TEST_IGNORED";
      p.reason = "the test projector ignores " + e.initiative_id();
      return p;
    }
    v1::Initiative& s = p.state;
    s.set_iteration(s.iteration() + 1);
    *s.mutable_updated_at() = e.event_time();
    s.clear_timers();
    v1::Timer* timer = s.add_timers();
    timer->set_kind(v1::ALERT_KIND_STALLED);
    timer->mutable_due_at()->set_seconds(e.event_time().seconds() + 3600);
    timer->mutable_due_at()->set_nanos(e.event_time().nanos());
    if (s.iteration() % transition_every_ == 0) {
      s.set_output_seq(s.output_seq() + 1);
      v1::Output& out = p.outputs.emplace_back();
      v1::StepTransition* t = out.mutable_transition();
      t->set_id(s.initiative_id() + "/t/" + std::to_string(s.output_seq()));
      t->set_initiative_id(s.initiative_id());
      t->set_from_step(v1::STEP_VISION);
      t->set_to_step(v1::STEP_CURRENT_STATE);
      t->set_iteration(s.iteration());
      t->set_cause_event_source(e.source());
      t->set_cause_event_id(e.id());
      *t->mutable_time() = e.event_time();
    }
    return p;
  }

 private:
  [[nodiscard]] Projection OnTimer(const v1::Initiative* current,
                                   const v1::StoredEvent& event) const {
    Projection p;
    const v1::TimerElapsed& e = event.timer();
    if (current == nullptr) {
      p.disposition = Projection::Disposition::kRejected;
      p.reason_code = "UNKNOWN_INITIATIVE";
      p.reason = "timer for an unknown initiative";
      return p;
    }
    p.state = *current;
    v1::Initiative& s = p.state;
    s.set_revision(event.revision());
    if (clear_fired_timers_) {
      auto* timers = s.mutable_timers();
      for (int i = timers->size() - 1; i >= 0; --i) {
        const v1::Timer& t = timers->Get(i);
        if (t.kind() == e.kind() && t.kpi() == e.kpi() &&
            t.due_at().seconds() == e.due_at().seconds() &&
            t.due_at().nanos() == e.due_at().nanos()) {
          timers->DeleteSubrange(i, 1);
        }
      }
    }
    s.set_output_seq(s.output_seq() + 1);
    const std::string alert_id = s.initiative_id() + "/a/" + std::to_string(s.output_seq());
    v1::FiringAlert* firing = s.add_firing_alerts();
    firing->set_alert_id(alert_id);
    firing->set_kind(e.kind());
    *firing->mutable_fired_at() = e.fired_at();
    v1::MomentumAlert* alert = p.outputs.emplace_back().mutable_alert();
    alert->set_id(alert_id + "/firing");
    alert->set_alert_id(alert_id);
    alert->set_initiative_id(s.initiative_id());
    alert->set_kind(e.kind());
    alert->set_state(v1::ALERT_STATE_FIRING);
    alert->set_kpi(e.kpi());
    *alert->mutable_time() = e.fired_at();
    return p;
  }

  std::uint64_t transition_every_;
  bool clear_fired_timers_;
};

}  // namespace cir::storage::testing
