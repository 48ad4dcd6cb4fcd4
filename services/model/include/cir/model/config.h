// Configuration of the improvement model: the time limits behind the time-based alerts and the
// bounds of what the projection keeps. Defaults are documented in services/model/README.md.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

#include "cir/base/error.h"

namespace cir::model {

struct Config {
  using Duration = std::chrono::seconds;
  static constexpr Duration Days(long n) { return Duration(n * 24 * 3600); }
  // The longest any limit may be (100 years): with event times up to 9999-12-31 no due-time
  // arithmetic can overflow, and due-times past 9999-12-31T23:59:59Z saturate there.
  static constexpr Duration kMaxLimit{36525L * 24 * 3600};

  // STALLED fires when an initiative has made no progress in its step for this long.
  // Indexed by cir.v1.Step (1 = VISION … 7 = MOMENTUM); 0 and CLOSED are unused.
  std::array<Duration, 9> stall_limit{
      Duration(0),  // STEP_UNSPECIFIED
      Days(14),     // VISION
      Days(30),     // CURRENT_STATE
      Days(30),     // TARGET_STATE
      Days(30),     // PLAN
      Days(60),     // ACTION
      Days(30),     // REVIEW
      Days(30),     // MOMENTUM
      Duration(0),  // CLOSED
  };
  // MOMENTUM_NOT_SUSTAINED fires when nothing reinforced an achieved target for this long.
  Duration momentum_limit = Days(60);
  // LESSONS_NOT_RECORDED fires when an initiative that failed (closed UNSUCCESSFUL, or withdrawn
  // after a missed target) has no lessons learned this long after closing. 0 turns it off.
  Duration lessons_limit = Days(30);
  // Measurements kept per KPI for the at-risk trend (oldest dropped first).
  std::size_t max_measurements_per_kpi = 32;
  // TARGET_AT_RISK needs at least this many points (the baseline counts as one).
  std::size_t at_risk_min_points = 3;

  // Checks that every limit is within 0 (or 1 s where 0 makes no sense) and kMaxLimit and that the
  // bounds make sense; names the bad field.
  [[nodiscard]] Result<void> Validate() const;
};

}  // namespace cir::model
