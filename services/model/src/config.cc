// Validation of the model's configuration (see config.h).
#include "cir/model/config.h"

#include <string>

namespace cir::model {

Result<void> Config::Validate() const {
  static constexpr const char* kStepNames[] = {"",     "vision", "current_state", "target_state",
                                               "plan", "action", "review",        "momentum"};
  for (int step = 1; step <= 7; ++step) {
    const Duration limit = stall_limit[static_cast<std::size_t>(step)];
    if (limit.count() < 0 || limit > kMaxLimit) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string("stall limit for step ") + kStepNames[step] +
                      " must be between 0 (0 turns STALLED off for that step) and 100 years");
    }
  }
  if (momentum_limit.count() <= 0 || momentum_limit > kMaxLimit) {
    return Fail(ErrorCode::kInvalidArgument, "momentum limit must be > 0 and at most 100 years");
  }
  if (lessons_limit.count() < 0 || lessons_limit > kMaxLimit) {
    return Fail(ErrorCode::kInvalidArgument,
                "lessons limit must be between 0 (0 turns LESSONS_NOT_RECORDED off) and 100 years");
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
