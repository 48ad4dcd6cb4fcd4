// Value-chain events for tests, shared by the suites that need a valid event without caring
// about its content (pipeline unit and integration tests, the codec and hostile-input tests, the
// storage tests): a bare event of one initiative, a proposal, a baseline and a KPI measurement.
// The day-based builders place events on the tests' calendar; the `...At` builders take Unix
// seconds and a source for suites that need them. Header-only; no test framework dependency.
#pragma once

#include <cstdint>
#include <string>

#include "cir/v1/value_chain.pb.h"

namespace cir::testing {

// 2026-01-01T00:00:00Z, the tests' day 0.
inline constexpr std::int64_t kDayZeroSeconds = 1767225600;

// An event of `initiative` with id `id` from `source` at `seconds` (Unix), `activity`, no payload.
inline v1::ValueChainEvent EventAt(const std::string& initiative, const std::string& id,
                                   std::int64_t seconds, const std::string& source,
                                   v1::Activity activity = v1::ACTIVITY_IMPROVE) {
  v1::ValueChainEvent e;
  e.set_id(id);
  e.set_source(source);
  e.set_initiative_id(initiative);
  e.set_activity(activity);
  e.mutable_event_time()->set_seconds(seconds);
  return e;
}

// An event of `initiative` with id `id` from source "//test/pipeline", at day `day`, no payload.
inline v1::ValueChainEvent Event(const std::string& initiative, const std::string& id, int day) {
  return EventAt(initiative, id, kDayZeroSeconds + day * 86400, "//test/pipeline");
}

// Fills `e` with an InitiativeProposed; by default title "t", vision "v", goal "g", owner "o",
// team level.
inline v1::ValueChainEvent WithProposal(v1::ValueChainEvent e, const std::string& title = "t",
                                        const std::string& vision = "v",
                                        const std::string& goal = "g",
                                        const std::string& owner = "o",
                                        v1::RegisterLevel level = v1::REGISTER_LEVEL_TEAM) {
  auto& p = *e.mutable_initiative_proposed();
  p.set_title(title);
  p.set_vision(vision);
  p.set_organisational_goal(goal);
  p.set_owner(owner);
  p.set_register_level(level);
  return e;
}

// InitiativeProposed: the first event of every initiative.
inline v1::ValueChainEvent Proposed(const std::string& initiative, const std::string& id,
                                    int day) {
  return WithProposal(Event(initiative, id, day));
}

// BaselineMeasured of KPI "k" = 10 (an audit).
inline v1::ValueChainEvent Baseline(const std::string& initiative, const std::string& id,
                                    int day) {
  auto e = Event(initiative, id, day);
  auto& b = *e.mutable_baseline_measured();
  b.set_kpi("k");
  b.set_value(10);
  b.set_method(v1::MEASUREMENT_METHOD_AUDIT);
  return e;
}

// KpiMeasured of `kpi` = `value` from `source` at `seconds` (activity: deliver and support).
inline v1::ValueChainEvent MeasuredAt(const std::string& initiative, const std::string& id,
                                      std::int64_t seconds, const std::string& source,
                                      const std::string& kpi, double value) {
  auto e = EventAt(initiative, id, seconds, source, v1::ACTIVITY_DELIVER_SUPPORT);
  e.mutable_kpi_measured()->set_kpi(kpi);
  e.mutable_kpi_measured()->set_value(value);
  return e;
}

}  // namespace cir::testing
