// Rows of the model's table: what timers do — time-based alerts (stalled, overdue, momentum),
// trends and erosion, and the whole supported time range.
#include "model_table.h"

namespace cir::model::table {

// time-based alerts
std::vector<Row> TimeAlertRows() {
  return {
    Row{"stalled_fires_when_the_timer_elapses",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 300),
         Plan(3, {"a1"}), Fire(v1::ALERT_KIND_STALLED)},
        {"+STALLED PLAN"}, v1::STEP_PLAN},
    Row{"stalled_resolves_on_progress",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 300),
         Plan(3, {"a1"}), Fire(v1::ALERT_KIND_STALLED), Plan(40, {"a2"})},
        {"-STALLED PLAN"}, v1::STEP_PLAN},
    Row{"stalled_resolves_on_transition",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 300),
         Plan(3, {"a1"}), Fire(v1::ALERT_KIND_STALLED),
         Action(40, "a1", v1::ACTION_STATUS_STARTED)},
        {"T PLAN->ACTION #1 skipped=[]", "-STALLED PLAN"}, v1::STEP_ACTION},
    Row{"target_overdue_fires_at_deadline",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 20),
         Fire(v1::ALERT_KIND_TARGET_OVERDUE, "mttr")},
        {"+TARGET_OVERDUE TARGET_STATE mttr"}, v1::STEP_TARGET_STATE},
    Row{"target_overdue_resolves_when_met",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 20),
         Fire(v1::ALERT_KIND_TARGET_OVERDUE, "mttr"), Measure(25, "mttr", 88)},
        {"-TARGET_OVERDUE TARGET_STATE mttr"}, v1::STEP_TARGET_STATE},
    Row{"momentum_not_sustained_fires",
        Concat(UpToAchieved(), {Fire(v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED)}),
        {"+MOMENTUM_NOT_SUSTAINED REVIEW"}, v1::STEP_REVIEW},
    Row{"momentum_not_sustained_resolves_on_momentum",
        Concat(UpToAchieved(), {Fire(v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED),
                                Momentum(90, v1::MOMENTUM_KIND_TRAINING)}),
        {"-MOMENTUM_NOT_SUSTAINED REVIEW", "T REVIEW->MOMENTUM #1 skipped=[]"},
        v1::STEP_MOMENTUM}};
}

// trends and erosion
std::vector<Row> TrendRows() {
  return {
    Row{"flat_trend_puts_target_at_risk",
        Concat(UpToAction(), {Measure(20, "mttr", 119), Measure(30, "mttr", 118)}),
        {"+TARGET_AT_RISK ACTION mttr"}, v1::STEP_ACTION},
    Row{"steep_trend_is_not_at_risk",
        Concat(UpToAction(), {Measure(20, "mttr", 110), Measure(30, "mttr", 100)}), {},
        v1::STEP_ACTION},
    Row{"trend_recovering_resolves_at_risk",
        Concat(UpToAction(),
               {Measure(20, "mttr", 119), Measure(30, "mttr", 118), Measure(40, "mttr", 95)}),
        {"-TARGET_AT_RISK ACTION mttr"}, v1::STEP_ACTION},
    Row{"benefit_erodes_after_success",
        Concat(UpToAchieved(), {Momentum(12, v1::MOMENTUM_KIND_POLICY),
                                Closed(13, v1::OUTCOME_SUCCESSFUL), Measure(200, "mttr", 97)}),
        {"+BENEFIT_EROSION CLOSED mttr"}, v1::STEP_CLOSED},
    Row{"benefit_recovers",
        Concat(UpToAchieved(),
               {Momentum(12, v1::MOMENTUM_KIND_POLICY), Closed(13, v1::OUTCOME_SUCCESSFUL),
                Measure(200, "mttr", 97), Measure(210, "mttr", 85)}),
        {"-BENEFIT_EROSION CLOSED mttr"}, v1::STEP_CLOSED},
    Row{"erosion_also_watched_before_closure",
        Concat(UpToAchieved(), {Momentum(12, v1::MOMENTUM_KIND_POLICY),
                                Measure(50, "mttr", 99)}),
        {"+BENEFIT_EROSION MOMENTUM mttr"}, v1::STEP_MOMENTUM}};
}

// the whole supported time range (1970 .. 9999-12-31T23:59:59Z)
std::vector<Row> TimeRangeRows() {
  return {
    Row{"proposed_on_9999_12_31", {Proposed(kDay9999Dec31)},
        {"T UNSPECIFIED->VISION #1 skipped=[]"}, v1::STEP_VISION},
    Row{"deadline_in_9999_fires_overdue",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, kDay9999Jun1),
         Fire(v1::ALERT_KIND_TARGET_OVERDUE, "mttr")},
        {"+TARGET_OVERDUE TARGET_STATE mttr"}, v1::STEP_TARGET_STATE},
    // Measurements before 2262-04-11 (where 64-bit nanoseconds end), the deadline after it.
    Row{"trend_across_2262_puts_target_at_risk",
        {Proposed(kDay2262 - 28), Baseline(kDay2262 - 27, "mttr", 120),
         Target(kDay2262 - 26, "mttr", 90, kDec, kDay2262 + 100), Plan(kDay2262 - 25, {"a1"}),
         Action(kDay2262 - 24, "a1", v1::ACTION_STATUS_STARTED),
         Measure(kDay2262 - 13, "mttr", 119), Measure(kDay2262 - 3, "mttr", 118)},
        {"+TARGET_AT_RISK ACTION mttr"}, v1::STEP_ACTION},
    Row{"trend_in_2300_puts_target_at_risk",
        {Proposed(kDay2300), Baseline(kDay2300 + 1, "mttr", 120),
         Target(kDay2300 + 2, "mttr", 90, kDec, kDay2300 + 100), Plan(kDay2300 + 3, {"a1"}),
         Action(kDay2300 + 4, "a1", v1::ACTION_STATUS_STARTED),
         Measure(kDay2300 + 20, "mttr", 119), Measure(kDay2300 + 30, "mttr", 118)},
        {"+TARGET_AT_RISK ACTION mttr"}, v1::STEP_ACTION}};
}

}  // namespace cir::model::table
