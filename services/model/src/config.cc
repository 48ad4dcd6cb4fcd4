#include "cir/model/config.h"

#include <string>

namespace cir::model {

Result<void> Config::Validate() const {
  static constexpr const char* kStepNames[] = {"", "vision", "current_state", "target_state",
                                               "plan", "action", "review", "momentum"};
  for (int step = 1; step <= 7; ++step) {
    if (stall_limit[static_cast<std::size_t>(step)].count() < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string("stall limit for step ") + kStepNames[step] +
                      " must be >= 0 (0 turns STALLED off for that step)");
    }
  }
  if (momentum_limit.count() <= 0) {
    return Fail(ErrorCode::kInvalidArgument, "momentum limit must be > 0");
  }
  if (max_measurements_per_kpi < 2) {
    return Fail(ErrorCode::kInvalidArgument, "max measurements per KPI must be >= 2");
  }
  if (at_risk_min_points < 2 || at_risk_min_points > max_measurements_per_kpi + 1) {
    return Fail(ErrorCode::kInvalidArgument,
                "at-risk minimum points must be between 2 and max measurements per KPI + 1");
  }
  return {};
}

}  // namespace cir::model
