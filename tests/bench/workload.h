// The benchmarks' workload: initiatives that live nine events each (proposal → closure, eight
// transitions), interleaved 1,000 initiatives at a time ("waves"). Where the events sit in time
// is the caller's: `Times` places step k of wave w at start + w × wave + k × step (seconds).
// Header-only; used by pipeline_bench and replay_bench.
#pragma once

#include <cstdint>
#include <string>

#include "cir/v1/value_chain.pb.h"
#include "event_builders.h"

namespace cir::bench {

inline constexpr std::uint64_t kWave = 1000;     // initiatives interleaved at a time
inline constexpr std::uint64_t kStepsPerLife = 9;

struct Times {
  std::int64_t start = 0;  // Unix seconds of wave 0's first step
  std::int64_t step = 0;   // seconds between the steps of one initiative
  std::int64_t wave = 0;   // seconds between the starts of consecutive waves
};

// The initiative and the step of the j-th event.
inline std::uint64_t InitiativeOf(std::uint64_t j) {
  const std::uint64_t wave = j / (kWave * kStepsPerLife), in_wave = j % (kWave * kStepsPerLife);
  return wave * kWave + in_wave % kWave;
}
inline std::uint64_t StepOf(std::uint64_t j) { return j % (kWave * kStepsPerLife) / kWave; }

// The j-th event, id "<run>-<j>", source "//bench/pipeline".
inline v1::ValueChainEvent MakeEvent(std::uint64_t j, const std::string& run, const Times& at) {
  const std::uint64_t wave = j / (kWave * kStepsPerLife);
  const std::uint64_t step = StepOf(j);
  const std::int64_t seconds = at.start + static_cast<std::int64_t>(wave) * at.wave +
                               static_cast<std::int64_t>(step) * at.step;
  v1::ValueChainEvent e = testing::EventAt("B-" + std::to_string(InitiativeOf(j)),
                                           run + "-" + std::to_string(j), seconds,
                                           "//bench/pipeline");
  switch (step) {
    case 0:
      e = testing::WithProposal(std::move(e), "Cut incident resolution time",
                                "Incidents resolved before customers notice", "Customer trust",
                                "sre");
      break;
    case 1:
      e.mutable_baseline_measured()->set_kpi("mttr");
      e.mutable_baseline_measured()->set_value(240);
      e.mutable_baseline_measured()->set_method(v1::MEASUREMENT_METHOD_OPERATIONAL_STATISTICS);
      break;
    case 2:
      e.mutable_target_set()->set_kpi("mttr");
      e.mutable_target_set()->set_target_value(180);
      e.mutable_target_set()->set_direction(v1::DIRECTION_DECREASE);
      e.mutable_target_set()->mutable_deadline()->set_seconds(seconds + 400 * 86400);
      break;
    case 3:
      e.mutable_plan_defined()->add_actions()->set_action_id("runbooks");
      break;
    case 4:
    case 5:
      e.mutable_action_updated()->set_action_id("runbooks");
      e.mutable_action_updated()->set_status(step == 4 ? v1::ACTION_STATUS_STARTED
                                                       : v1::ACTION_STATUS_DONE);
      break;
    case 6:
      e.mutable_kpi_measured()->set_kpi("mttr");
      e.mutable_kpi_measured()->set_value(170);
      break;
    case 7:
      e.mutable_momentum_recorded()->set_kind(v1::MOMENTUM_KIND_TRAINING);
      break;
    default:
      e.mutable_initiative_closed()->set_outcome(v1::OUTCOME_SUCCESSFUL);
  }
  return e;
}

}  // namespace cir::bench
