// Value-chain events for tests, shared by the suites that need a valid event without caring
// about its content (pipeline unit and integration tests): a bare event of one initiative, a
// proposal and a baseline measurement. Header-only; no test framework dependency.
#pragma once

#include <cstdint>
#include <string>

#include "cir/v1/value_chain.pb.h"

namespace cir::testing {

// 2026-01-01T00:00:00Z, the tests' day 0.
inline constexpr std::int64_t kDayZeroSeconds = 1767225600;

// An event of `initiative` with id `id` from source "//test/pipeline", at day `day`, no payload.
inline v1::ValueChainEvent Event(const std::string& initiative, const std::string& id, int day) {
  v1::ValueChainEvent e;
  e.set_id(id);
  e.set_source("//test/pipeline");
  e.set_initiative_id(initiative);
  e.set_activity(v1::ACTIVITY_IMPROVE);
  e.mutable_event_time()->set_seconds(kDayZeroSeconds + day * 86400);
  return e;
}

// InitiativeProposed: the first event of every initiative.
inline v1::ValueChainEvent Proposed(const std::string& initiative, const std::string& id,
                                    int day) {
  auto e = Event(initiative, id, day);
  auto& p = *e.mutable_initiative_proposed();
  p.set_title("t");
  p.set_vision("v");
  p.set_organisational_goal("g");
  p.set_owner("o");
  p.set_register_level(v1::REGISTER_LEVEL_TEAM);
  return e;
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

}  // namespace cir::testing
