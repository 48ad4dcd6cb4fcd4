// Whether a KPI meets its target: the one definition, used by the model's rules and by the
// register API's progress view (services/cird).
#pragma once

#include "cir/v1/register.pb.h"

namespace cir::model {

// True when `value` meets the target in its direction (INCREASE: >=, DECREASE: <=).
[[nodiscard]] bool Meets(const v1::KpiTarget& target, double value);

// True when the KPI has a target and its latest measurement meets it.
[[nodiscard]] bool LatestMeets(const v1::KpiState& k);

}  // namespace cir::model
