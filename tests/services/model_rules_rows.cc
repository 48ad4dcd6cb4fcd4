// Rows of the model's table: the step rules — every step in order, skipped steps, reviews and
// iterations, and events that make no sense for the state.
#include "model_table.h"

namespace cir::model::table {

// every step, in order
std::vector<Row> StepRows() {
  return {
    Row{"proposed_enters_vision", {Proposed(0)}, {"T UNSPECIFIED->VISION #1 skipped=[]"},
        v1::STEP_VISION},
    Row{"baseline_enters_current_state", {Proposed(0), Baseline(1, "mttr", 120)},
        {"T VISION->CURRENT_STATE #1 skipped=[]"}, v1::STEP_CURRENT_STATE},
    Row{"target_enters_target_state",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100)},
        {"T CURRENT_STATE->TARGET_STATE #1 skipped=[]"}, v1::STEP_TARGET_STATE},
    Row{"plan_enters_plan",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
         Plan(3, {"a1"})},
        {"T TARGET_STATE->PLAN #1 skipped=[]"}, v1::STEP_PLAN},
    Row{"action_enters_action", UpToAction(), {"T PLAN->ACTION #1 skipped=[]"},
        v1::STEP_ACTION},
    Row{"measurement_after_all_done_reviews_achieved", UpToAchieved(),
        {"T ACTION->REVIEW #1 skipped=[]"}, v1::STEP_REVIEW},
    Row{"momentum_enters_momentum",
        Concat(UpToAchieved(), {Momentum(12, v1::MOMENTUM_KIND_SUCCESS_COMMUNICATED)}),
        {"T REVIEW->MOMENTUM #1 skipped=[]"}, v1::STEP_MOMENTUM},
    Row{"closed_successful",
        Concat(UpToAchieved(), {Momentum(12, v1::MOMENTUM_KIND_POLICY),
                                Closed(13, v1::OUTCOME_SUCCESSFUL)}),
        {"T MOMENTUM->CLOSED #1 skipped=[]"}, v1::STEP_CLOSED},
    Row{"withdrawn_from_plan_names_nothing",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
         Plan(3, {"a1"}), Withdrawn(4)},
        {"T PLAN->CLOSED #1 skipped=[]"}, v1::STEP_CLOSED}};
}

// skipped steps
std::vector<Row> SkippedRows() {
  return {
    Row{"target_without_baseline_skips_current_state",
        {Proposed(0), Target(2, "mttr", 90, kDec, 100)},
        {"T VISION->TARGET_STATE #1 skipped=[CURRENT_STATE]", "+STEP_SKIPPED CURRENT_STATE"},
        v1::STEP_TARGET_STATE},
    Row{"action_straight_after_vision_skips_three",
        {Proposed(0), Action(1, "a1", v1::ACTION_STATUS_STARTED)},
        {"T VISION->ACTION #1 skipped=[CURRENT_STATE,TARGET_STATE,PLAN]",
         "+STEP_SKIPPED CURRENT_STATE", "+STEP_SKIPPED TARGET_STATE", "+STEP_SKIPPED PLAN"},
        v1::STEP_ACTION},
    Row{"late_baseline_resolves_step_skipped",
        {Proposed(0), Target(2, "mttr", 90, kDec, 100), Baseline(3, "mttr", 120)},
        {"-STEP_SKIPPED CURRENT_STATE"}, v1::STEP_TARGET_STATE},
    Row{"review_without_action_skips_plan_and_action",
        {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
         Review(3, v1::REVIEW_RESULT_ACHIEVED, true)},
        {"T TARGET_STATE->REVIEW #1 skipped=[PLAN,ACTION]", "+STEP_SKIPPED PLAN",
         "+STEP_SKIPPED ACTION"},
        v1::STEP_REVIEW},
    Row{"closing_early_names_skipped_steps_without_alerts",
        {Proposed(0), Baseline(1, "mttr", 120), Closed(2, v1::OUTCOME_UNSUCCESSFUL)},
        {"T CURRENT_STATE->CLOSED #1 skipped=[TARGET_STATE,PLAN,ACTION,REVIEW,MOMENTUM]"},
        v1::STEP_CLOSED}};
}

// reviews and iterations
std::vector<Row> ReviewRows() {
  return {
    Row{"auto_review_missed_iterates_to_plan",
        Concat(UpToAction(), {Action(10, "a1", kDone), Measure(11, "mttr", 110)}),
        {"T ACTION->REVIEW #1 skipped=[]", "+TARGET_MISSED REVIEW mttr",
         "T REVIEW->PLAN #2 skipped=[]"},
        v1::STEP_PLAN, 2},
    Row{"measurement_before_actions_done_does_not_review",
        Concat(UpToAction(), {Measure(5, "mttr", 80)}), {}, v1::STEP_ACTION},
    Row{"review_not_relevant_goes_back_to_target_state",
        Concat(UpToAction(), {Review(12, v1::REVIEW_RESULT_NOT_ACHIEVED, false)}),
        {"T ACTION->REVIEW #1 skipped=[]", "+TARGET_MISSED REVIEW mttr",
         "-TARGET_MISSED REVIEW mttr", "T REVIEW->TARGET_STATE #2 skipped=[]"},
        v1::STEP_TARGET_STATE, 2},
    Row{"review_amends_auto_iteration_not_relevant",
        Concat(UpToAction(), {Action(10, "a1", kDone), Measure(11, "mttr", 110),
                              Review(12, v1::REVIEW_RESULT_NOT_ACHIEVED, false)}),
        {"-TARGET_MISSED REVIEW mttr", "T PLAN->TARGET_STATE #2 skipped=[]"},
        v1::STEP_TARGET_STATE, 2},
    Row{"review_amends_auto_iteration_still_relevant",
        Concat(UpToAction(), {Action(10, "a1", kDone), Measure(11, "mttr", 110),
                              Review(12, v1::REVIEW_RESULT_NOT_ACHIEVED, true)}),
        {}, v1::STEP_PLAN, 2},
    Row{"partial_review_with_two_kpis",
        {Proposed(0), Baseline(1, "mttr", 120), Baseline(1, "csat", 32),
         Target(2, "mttr", 90, kDec, 100), Target(2, "csat", 45, kInc, 100), Plan(3, {"a1"}),
         Action(4, "a1", kDone), Measure(5, "mttr", 80), Measure(6, "csat", 40)},
        {"T ACTION->REVIEW #1 skipped=[]", "+TARGET_MISSED REVIEW csat",
         "T REVIEW->PLAN #2 skipped=[]"},
        v1::STEP_PLAN, 2},
    Row{"second_iteration_reaches_target_and_resolves_missed",
        Concat(UpToAction(),
               {Action(10, "a1", kDone), Measure(11, "mttr", 110), Plan(12, {"a2"}),
                Action(13, "a2", kDone), Measure(14, "mttr", 85)}),
        {"T ACTION->REVIEW #2 skipped=[]", "-TARGET_MISSED REVIEW mttr"}, v1::STEP_REVIEW, 2},
    Row{"people_overrule_an_achieved_review",
        Concat(UpToAchieved(), {Review(12, v1::REVIEW_RESULT_NOT_ACHIEVED, true)}),
        {"+TARGET_MISSED REVIEW", "T REVIEW->PLAN #2 skipped=[]"}, v1::STEP_PLAN, 2}};
}

// events that make no sense for the state
std::vector<Row> RejectRows() {
  return {
    Row{"unknown_initiative_is_rejected", {Baseline(1, "mttr", 120)}, {}, v1::STEP_UNSPECIFIED,
        0, D::kRejected, "UNKNOWN_INITIATIVE"},
    Row{"second_proposal_is_rejected", {Proposed(0), Proposed(1)}, {}, v1::STEP_VISION, 1,
        D::kRejected, "ALREADY_PROPOSED"},
    Row{"unknown_kpi_measurement_is_ignored", {Proposed(0), Measure(1, "nope", 3)}, {},
        v1::STEP_VISION, 1, D::kIgnored, "UNKNOWN_KPI"},
    Row{"closed_initiative_ignores_actions",
        {Proposed(0), Withdrawn(1), Action(2, "a1", kDone)}, {}, v1::STEP_CLOSED, 1,
        D::kIgnored, "INITIATIVE_CLOSED"},
    Row{"new_target_reopens_a_closed_initiative",
        {Proposed(0), Baseline(1, "mttr", 120), Closed(2, v1::OUTCOME_UNSUCCESSFUL),
         Target(3, "mttr", 90, kDec, 100)},
        {"T CLOSED->TARGET_STATE #2 skipped=[]"}, v1::STEP_TARGET_STATE, 2}};
}

}  // namespace cir::model::table
