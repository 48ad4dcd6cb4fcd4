// KPI arithmetic for the model (private to cir::model): target checks and the at-risk trend.
#pragma once

#include <cstddef>
#include <string>

#include "cir/v1/register.pb.h"

namespace cir::model {

// True when `value` meets the target in its direction (INCREASE: >=, DECREASE: <=).
[[nodiscard]] bool Meets(const v1::KpiTarget& target, double value);

struct TrendVerdict {
  bool assessed = false;        // enough distinct points to fit a line
  bool reaches_target = false;  // the line meets the target at the deadline
  double projected = 0;         // the line's value at the deadline
};

// Fits a least-squares line through the baseline (when present) and the recent measurements and
// projects it to the target's deadline. Needs `min_points` points at two or more distinct times.
[[nodiscard]] TrendVerdict AssessTrend(const v1::KpiState& kpi, std::size_t min_points);

// A number as people write it: "42", "3.5", "0.125".
[[nodiscard]] std::string FormatNumber(double value);

}  // namespace cir::model
