// KPI arithmetic for the model: lookups, target checks, the least-squares trend (see kpi_math.h).
#include "kpi_math.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "time_util.h"

namespace cir::model {

v1::KpiState* FindKpi(v1::Initiative& s, const std::string& kpi) {
  for (auto& k : *s.mutable_kpis()) {
    if (k.kpi() == kpi) return &k;
  }
  return nullptr;
}

v1::KpiState& UpsertKpi(v1::Initiative& s, const std::string& kpi) {
  if (v1::KpiState* k = FindKpi(s, kpi)) return *k;
  v1::KpiState& k = *s.add_kpis();
  k.set_kpi(kpi);
  std::sort(s.mutable_kpis()->begin(), s.mutable_kpis()->end(),
            [](const v1::KpiState& a, const v1::KpiState& b) { return a.kpi() < b.kpi(); });
  return *FindKpi(s, kpi);
}

bool LatestMeets(const v1::KpiState& k) {
  return k.has_target() && k.has_latest() && Meets(k.target(), k.latest().value());
}

std::string Describe(const v1::KpiState& k) {
  std::string text = k.kpi() + " measured " +
                     (k.has_latest() ? FormatNumber(k.latest().value()) : std::string("nothing"));
  text += ", target ";
  text += k.target().direction() == v1::DIRECTION_DECREASE ? "<= " : ">= ";
  text += FormatNumber(k.target().target_value());
  return text;
}

bool Meets(const v1::KpiTarget& target, double value) {
  return target.direction() == v1::DIRECTION_DECREASE ? value <= target.target_value()
                                                      : value >= target.target_value();
}

TrendVerdict AssessTrend(const v1::KpiState& kpi, std::size_t min_points) {
  struct Point {
    double x;  // seconds since the first point
    double y;
  };
  std::vector<Point> points;
  const std::int64_t origin =
      kpi.has_baseline() ? kpi.baseline_at().seconds()
                         : (kpi.recent_size() > 0 ? kpi.recent(0).measured_at().seconds() : 0);
  if (kpi.has_baseline()) points.push_back({0.0, kpi.baseline_value()});
  for (const auto& m : kpi.recent()) {
    points.push_back({static_cast<double>(m.measured_at().seconds() - origin), m.value()});
  }
  TrendVerdict verdict;
  if (points.size() < min_points) return verdict;

  double sx = 0, sy = 0;
  for (const Point& p : points) {
    sx += p.x;
    sy += p.y;
  }
  const double n = static_cast<double>(points.size());
  const double mx = sx / n;
  const double my = sy / n;
  double sxx = 0, sxy = 0;
  for (const Point& p : points) {
    sxx += (p.x - mx) * (p.x - mx);
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx <= 0) return verdict;  // every point at the same time: no trend
  const double slope = sxy / sxx;
  const double deadline_x = static_cast<double>(kpi.target().deadline().seconds() - origin);
  verdict.assessed = true;
  verdict.projected = my + slope * (deadline_x - mx);
  verdict.reaches_target = Meets(kpi.target(), verdict.projected);
  return verdict;
}

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

}  // namespace cir::model
