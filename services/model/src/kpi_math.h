// KPI arithmetic for the model (private to cir::model): finding a KPI, target checks, the at-risk
// trend and how a KPI reads in a reason.
#pragma once

#include <cstddef>
#include <string>

#include "cir/model/kpi.h"  // Meets, LatestMeets
#include "cir/v1/register.pb.h"

namespace cir::model {

// The KPI named `kpi` in `s`, or null.
[[nodiscard]] v1::KpiState* FindKpi(v1::Initiative& s, const std::string& kpi);
// The KPI named `kpi`, added (the list kept sorted by name) when missing.
[[nodiscard]] v1::KpiState& UpsertKpi(v1::Initiative& s, const std::string& kpi);

// "mttr measured 80, target <= 90": the KPI as a reason quotes it.
[[nodiscard]] std::string Describe(const v1::KpiState& k);

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
