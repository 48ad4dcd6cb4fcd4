// Generated input for the integration tests: value-chain events of initiatives that live through
// every step without a timer firing (so that the outputs do not depend on how far each partition's
// event time has got: cird's outputs then equal `circtl replay`'s whatever the faults).
#pragma once

#include <string>
#include <vector>

#include "cir/v1/value_chain.pb.h"
#include "event_builders.h"

namespace cir::testing {

// A full, timer-free life of one initiative: nine events a day apart.
inline std::vector<v1::ValueChainEvent> Life(const std::string& initiative, int start) {
  std::vector<v1::ValueChainEvent> out;
  int day = start;
  auto next = [&](v1::ValueChainEvent e) { out.push_back(std::move(e)); };
  next(Proposed(initiative, initiative + "-1", day++));
  next(Baseline(initiative, initiative + "-2", day++));
  auto target = Event(initiative, initiative + "-3", day++);
  target.mutable_target_set()->set_kpi("k");
  target.mutable_target_set()->set_target_value(20);
  target.mutable_target_set()->set_direction(v1::DIRECTION_INCREASE);
  target.mutable_target_set()->mutable_deadline()->set_seconds(kDayZeroSeconds + 900 * 86400);
  next(target);
  auto plan = Event(initiative, initiative + "-4", day++);
  plan.mutable_plan_defined()->add_actions()->set_action_id("a");
  next(plan);
  for (auto status : {v1::ACTION_STATUS_STARTED, v1::ACTION_STATUS_DONE}) {
    auto action = Event(initiative, initiative + "-" + std::to_string(out.size() + 1), day++);
    action.mutable_action_updated()->set_action_id("a");
    action.mutable_action_updated()->set_status(status);
    next(action);
  }
  auto measured = Event(initiative, initiative + "-7", day++);
  measured.mutable_kpi_measured()->set_kpi("k");
  measured.mutable_kpi_measured()->set_value(25);
  next(measured);
  auto momentum = Event(initiative, initiative + "-8", day++);
  momentum.mutable_momentum_recorded()->set_kind(v1::MOMENTUM_KIND_TRAINING);
  next(momentum);
  auto closed = Event(initiative, initiative + "-9", day++);
  closed.mutable_initiative_closed()->set_outcome(v1::OUTCOME_SUCCESSFUL);
  next(closed);
  return out;
}

// `initiatives` lives ("<prefix><i>", nine events each), on one timeline (days 0..8), in the
// order a publisher would send them: initiative by initiative.
inline std::vector<v1::ValueChainEvent> Lives(int initiatives, const std::string& prefix) {
  std::vector<v1::ValueChainEvent> all;
  for (int i = 0; i < initiatives; ++i) {
    for (auto& e : Life(prefix + std::to_string(i), 0)) all.push_back(std::move(e));
  }
  return all;
}

}  // namespace cir::testing
