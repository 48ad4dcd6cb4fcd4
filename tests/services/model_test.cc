// Table-driven tests of the improvement model: one row per case — the events that lead up to it,
// the event under test, and what must come out (transitions, alerts, disposition, final step).
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cir/model/model.h"
#include "event_builders.h"

namespace cir::model {
namespace {

namespace pb = google::protobuf;
using pb::util::TimeUtil;

// ---- event builders ------------------------------------------------------------------------

// Days after 2026-01-01T00:00:00Z.
pb::Timestamp Day(double day) {
  pb::Timestamp t;
  t.set_seconds(1767225600 + static_cast<std::int64_t>(day * 86400));
  return t;
}

// Far days, as Day() offsets: 9999-12-31, 9999-06-01, 2262-04-12 (just after the last second
// that fits 64-bit nanoseconds, 2262-04-11T23:47:16Z) and 2300-01-01.
constexpr double kDay9999Dec31 = 2912442;
constexpr double kDay9999Jun1 = 2912229;
constexpr double kDay2262 = 86298;
constexpr double kDay2300 = 100076;
// 9999-12-31T23:59:59Z, where derived due-times saturate.
constexpr std::int64_t kMaxSeconds = 253402300799;

// A step of a scenario: a value-chain event, or "fire the due timer of this kind".
struct Step {
  std::function<void(v1::ValueChainEvent&)> fill;  // value-chain event when set
  v1::AlertKind fire_timer = v1::ALERT_KIND_UNSPECIFIED;
  std::string timer_kpi;
  double at = 0;  // event time (day)
};

Step Ev(double day, std::function<void(v1::ValueChainEvent&)> fill) {
  return Step{std::move(fill), v1::ALERT_KIND_UNSPECIFIED, "", day};
}

Step Proposed(double day) {
  return Ev(day, [](v1::ValueChainEvent& e) {
    e = testing::WithProposal(std::move(e), "Cut MTTR", "Incidents resolved fast",
                              "Customer trust", "ops", v1::REGISTER_LEVEL_DEPARTMENT);
  });
}
Step Baseline(double day, const std::string& kpi, double value) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    auto& p = *e.mutable_baseline_measured();
    p.set_kpi(kpi);
    p.set_value(value);
    p.set_unit("min");
    p.set_method(v1::MEASUREMENT_METHOD_OPERATIONAL_STATISTICS);
    *p.mutable_measured_at() = Day(day);
  });
}
Step Target(double day, const std::string& kpi, double value, v1::Direction direction,
            double deadline_day) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    auto& p = *e.mutable_target_set();
    p.set_kpi(kpi);
    p.set_target_value(value);
    p.set_direction(direction);
    *p.mutable_deadline() = Day(deadline_day);
    p.set_priority(1);
  });
}
Step Plan(double day, std::vector<std::string> actions) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    for (const auto& id : actions) e.mutable_plan_defined()->add_actions()->set_action_id(id);
  });
}
Step Action(double day, const std::string& id, v1::ActionStatus status) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_action_updated()->set_action_id(id);
    e.mutable_action_updated()->set_status(status);
  });
}
Step Measure(double day, const std::string& kpi, double value) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_kpi_measured()->set_kpi(kpi);
    e.mutable_kpi_measured()->set_value(value);
    *e.mutable_kpi_measured()->mutable_measured_at() = Day(day);
  });
}
// A measurement that arrives at `day` but was taken at `measured_day`.
Step MeasureAt(double day, double measured_day, const std::string& kpi, double value) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_kpi_measured()->set_kpi(kpi);
    e.mutable_kpi_measured()->set_value(value);
    *e.mutable_kpi_measured()->mutable_measured_at() = Day(measured_day);
  });
}
Step Review(double day, v1::ReviewResult result, bool relevant) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_review_concluded()->set_result(result);
    e.mutable_review_concluded()->set_still_relevant(relevant);
  });
}
Step Momentum(double day, v1::MomentumKind kind) {
  return Ev(day, [=](v1::ValueChainEvent& e) { e.mutable_momentum_recorded()->set_kind(kind); });
}
Step Closed(double day, v1::Outcome outcome) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_initiative_closed()->set_outcome(outcome);
  });
}
Step Withdrawn(double day) {
  return Ev(day, [](v1::ValueChainEvent& e) { e.mutable_initiative_withdrawn(); });
}
// Fires the timer of `kind` that the state holds, at its due-time + `late` days.
Step Fire(v1::AlertKind kind, const std::string& kpi = "", double late = 0) {
  return Step{nullptr, kind, kpi, late};
}

// The common lead-ups.
constexpr auto kInc = v1::DIRECTION_INCREASE;
constexpr auto kDec = v1::DIRECTION_DECREASE;
constexpr auto kDone = v1::ACTION_STATUS_DONE;
std::vector<Step> UpToAction() {
  return {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
          Plan(3, {"a1"}), Action(4, "a1", v1::ACTION_STATUS_STARTED)};
}
std::vector<Step> UpToAchieved() {
  auto s = UpToAction();
  s.push_back(Action(10, "a1", kDone));
  s.push_back(Measure(11, "mttr", 80));
  return s;
}
// Iteration 1 reviewed automatically as missed: iteration 2 at PLAN, TARGET_MISSED firing.
std::vector<Step> UpToMissed() {
  auto s = UpToAction();
  s.push_back(Action(10, "a1", kDone));
  s.push_back(Measure(11, "mttr", 110));
  return s;
}
// Two alternative actions planned, one carried out ("train the team or invest in a CRM").
std::vector<Step> UpToOneOfTwoDone() {
  return {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
          Plan(3, {"train", "crm"}), Action(4, "train", v1::ACTION_STATUS_STARTED),
          Action(10, "train", kDone)};
}
constexpr auto kLessons = v1::MOMENTUM_KIND_LESSONS_LEARNED;
std::vector<Step> Concat(std::vector<Step> a, std::initializer_list<Step> b) {
  a.insert(a.end(), b);
  return a;
}

// ---- the runner -------------------------------------------------------------------------------

// Outputs in a compact, readable form:
//   "T CURRENT_STATE->TARGET_STATE #1 skipped=[]"  a transition in iteration 1
//   "+STEP_SKIPPED CURRENT_STATE"                  an alert firing (kind, step[, kpi])
//   "-STALLED PLAN"                                 an alert resolved
std::string Describe(const v1::Output& out) {
  auto step = [](v1::Step s) { return v1::Step_Name(s).substr(5); };
  if (out.has_transition()) {
    const auto& t = out.transition();
    std::string text = "T " + step(t.from_step()) + "->" + step(t.to_step()) + " #" +
                       std::to_string(t.iteration()) + " skipped=[";
    for (int i = 0; i < t.skipped_steps_size(); ++i) {
      text += (i ? "," : "") + step(t.skipped_steps(i));
    }
    text += "]";
    if (t.actions_not_needed_size() > 0) {
      text += " not_needed=[";
      for (int i = 0; i < t.actions_not_needed_size(); ++i) {
        text += (i ? "," : "") + t.actions_not_needed(i);
      }
      text += "]";
    }
    return text;
  }
  const auto& a = out.alert();
  std::string text = (a.state() == v1::ALERT_STATE_FIRING ? "+" : "-") +
                     v1::AlertKind_Name(a.kind()).substr(11) + " " + step(a.step());
  if (!a.kpi().empty()) text += " " + a.kpi();
  return text;
}

struct Played {
  v1::Initiative state;
  bool exists = false;
  Decision last;
  std::vector<v1::Output> all_outputs;
};

Played Play(const Config& config, const std::vector<Step>& steps) {
  Played run;
  std::uint64_t revision = 0;
  int n = 0;
  for (const Step& step : steps) {
    v1::StoredEvent stored;
    stored.set_revision(revision + 1);
    if (step.fill) {
      auto& e = *stored.mutable_value_chain();
      e.set_id("e" + std::to_string(++n));
      e.set_source("//test");
      e.set_initiative_id("INI-1");
      e.set_activity(v1::ACTIVITY_IMPROVE);
      *e.mutable_event_time() = Day(step.at);
      step.fill(e);
    } else {
      const v1::Timer* timer = nullptr;
      for (const auto& t : run.state.timers()) {
        if (t.kind() == step.fire_timer && t.kpi() == step.timer_kpi) timer = &t;
      }
      if (timer == nullptr) {
        ADD_FAILURE() << "no " << v1::AlertKind_Name(step.fire_timer) << " timer to fire; timers: "
                      << run.state.ShortDebugString();
        return run;
      }
      auto& t = *stored.mutable_timer();
      t.set_kind(timer->kind());
      t.set_kpi(timer->kpi());
      *t.mutable_due_at() = timer->due_at();
      *t.mutable_fired_at() = timer->due_at();
      t.mutable_fired_at()->set_seconds(timer->due_at().seconds() +
                                        static_cast<std::int64_t>(step.at * 86400));
    }
    run.last = Apply(config, run.exists ? &run.state : nullptr, stored);
    if (run.last.disposition != Decision::Disposition::kRejected) {
      EXPECT_EQ(run.last.state.revision(), revision + 1);
      revision = run.last.state.revision();
      run.state = run.last.state;
      run.exists = true;
    }
    for (const auto& o : run.last.outputs) run.all_outputs.push_back(o);
  }
  return run;
}

struct Row {
  std::string name;
  std::vector<Step> steps;  // the last one is the event under test
  std::vector<std::string> outputs;  // of the last event, in order
  v1::Step final_step;
  std::uint32_t iteration = 1;
  Decision::Disposition disposition = Decision::Disposition::kApplied;
  std::string reason_code = "";
  // When set, the timers of the final state ("KIND[ kpi] day N"; see DescribeTimer).
  std::optional<std::vector<std::string>> timers = std::nullopt;
  std::function<void(Config&)> configure = nullptr;  // changes to the default Config
};

// "LESSONS_NOT_RECORDED day 43": a timer, its due-time in days after 2026-01-01 (and seconds
// when not a whole day: "day 2912442 +86399s").
std::string DescribeTimer(const v1::Timer& t) {
  std::string text = v1::AlertKind_Name(t.kind()).substr(11);
  if (!t.kpi().empty()) text += " " + t.kpi();
  const std::int64_t seconds = t.due_at().seconds() - Day(0).seconds();
  text += " day " + std::to_string(seconds / 86400);
  if (seconds % 86400 != 0) text += " +" + std::to_string(seconds % 86400) + "s";
  return text;
}

Row WithTimers(Row row, std::vector<std::string> timers) {
  row.timers = std::move(timers);
  return row;
}
Row WithConfig(Row row, std::function<void(Config&)> configure) {
  row.configure = std::move(configure);
  return row;
}

// Test names show the row's name, not its bytes.
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

class ModelTable : public ::testing::TestWithParam<Row> {};

TEST_P(ModelTable, OutputsAndState) {
  const Row& row = GetParam();
  Config config;
  if (row.configure) row.configure(config);
  ASSERT_TRUE(config.Validate().has_value());
  Played run = Play(config, row.steps);
  std::vector<std::string> got;
  for (const auto& o : run.last.outputs) got.push_back(Describe(o));
  EXPECT_EQ(got, row.outputs);
  EXPECT_EQ(run.last.disposition, row.disposition);
  EXPECT_EQ(run.last.reason_code(), row.reason_code);
  if (row.disposition != Decision::Disposition::kRejected || run.exists) {
    EXPECT_EQ(v1::Step_Name(run.state.step()), v1::Step_Name(row.final_step));
    EXPECT_EQ(run.state.iteration(), row.iteration);
  }
  if (row.timers) {
    std::vector<std::string> timers;
    for (const auto& t : run.state.timers()) timers.push_back(DescribeTimer(t));
    EXPECT_EQ(timers, *row.timers);
  }
}

using D = Decision::Disposition;

INSTANTIATE_TEST_SUITE_P(
    Steps, ModelTable,
    ::testing::Values(
        // ---- every step, in order ----
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
            {"T PLAN->CLOSED #1 skipped=[]"}, v1::STEP_CLOSED},

        // ---- skipped steps ----
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
            v1::STEP_CLOSED},

        // ---- reviews and iterations ----
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
            {"+TARGET_MISSED REVIEW", "T REVIEW->PLAN #2 skipped=[]"}, v1::STEP_PLAN, 2},

        // ---- time-based alerts ----
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
            v1::STEP_MOMENTUM},

        // ---- trends and erosion ----
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
            {"+BENEFIT_EROSION MOMENTUM mttr"}, v1::STEP_MOMENTUM},

        // ---- events that make no sense for the state ----
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
            {"T CLOSED->TARGET_STATE #2 skipped=[]"}, v1::STEP_TARGET_STATE, 2},

        // ---- "did we get there?": a met target answers it (issue 15) ----
        Row{"early_achievement_one_of_two_actions",
            Concat(UpToOneOfTwoDone(), {Measure(11, "mttr", 80)}),
            {"T ACTION->REVIEW #1 skipped=[] not_needed=[crm]"}, v1::STEP_REVIEW},
        Row{"early_achievement_two_of_three_actions",
            {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
             Plan(3, {"a1", "a2", "a3"}), Action(4, "a1", kDone), Measure(5, "mttr", 85)},
            {"T ACTION->REVIEW #1 skipped=[] not_needed=[a2,a3]"},
            v1::STEP_REVIEW},
        Row{"early_achievement_with_a_started_action_open",
            {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
             Plan(3, {"a1", "a2"}), Action(4, "a1", v1::ACTION_STATUS_STARTED),
             Action(5, "a2", v1::ACTION_STATUS_PROGRESSING), Action(8, "a1", kDone),
             Measure(9, "mttr", 90)},
            {"T ACTION->REVIEW #1 skipped=[] not_needed=[a2]"}, v1::STEP_REVIEW},
        Row{"early_achievement_needs_every_target_met",
            {Proposed(0), Baseline(1, "mttr", 120), Baseline(1, "csat", 32),
             Target(2, "mttr", 90, kDec, 100), Target(2, "csat", 45, kInc, 100),
             Plan(3, {"a1", "a2"}), Action(4, "a1", kDone), Measure(5, "mttr", 80),
             Measure(6, "csat", 40)},
            {}, v1::STEP_ACTION},
        Row{"early_achievement_with_two_kpis_met",
            {Proposed(0), Baseline(1, "mttr", 120), Baseline(1, "csat", 32),
             Target(2, "mttr", 90, kDec, 100), Target(2, "csat", 45, kInc, 100),
             Plan(3, {"a1", "a2"}), Action(4, "a1", kDone), Measure(5, "mttr", 80),
             Measure(6, "csat", 46)},
            {"T ACTION->REVIEW #1 skipped=[] not_needed=[a2]"}, v1::STEP_REVIEW},
        Row{"target_not_yet_met_no_review", Concat(UpToOneOfTwoDone(), {Measure(11, "mttr", 100)}),
            {}, v1::STEP_ACTION},
        Row{"measurement_taken_before_the_first_action_was_done_no_review",
            Concat(UpToOneOfTwoDone(), {MeasureAt(12, 9, "mttr", 80)}), {}, v1::STEP_ACTION},
        Row{"measurement_before_any_action_done_no_review",
            {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
             Plan(3, {"a1", "a2"}), Action(4, "a1", v1::ACTION_STATUS_STARTED),
             Measure(5, "mttr", 80)},
            {}, v1::STEP_ACTION},
        Row{"people_overrule_an_early_review",
            Concat(UpToOneOfTwoDone(), {Measure(11, "mttr", 80),
                                        Review(12, v1::REVIEW_RESULT_NOT_ACHIEVED, true)}),
            {"+TARGET_MISSED REVIEW", "T REVIEW->PLAN #2 skipped=[]"}, v1::STEP_PLAN, 2},
        Row{"early_review_then_momentum_skips_nothing",
            Concat(UpToOneOfTwoDone(), {Measure(11, "mttr", 80),
                                        Momentum(12, v1::MOMENTUM_KIND_SUCCESS_COMMUNICATED)}),
            {"T REVIEW->MOMENTUM #1 skipped=[]"}, v1::STEP_MOMENTUM},

        // ---- a failure keeps its lessons (issue 15) ----
        WithTimers(Row{"failure_closed_arms_the_lessons_timer",
                       Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL)}),
                       {"-TARGET_MISSED REVIEW mttr",
                        "T PLAN->CLOSED #2 skipped=[ACTION,REVIEW,MOMENTUM]"},
                       v1::STEP_CLOSED, 2},
                   {"LESSONS_NOT_RECORDED day 43"}),
        WithTimers(Row{"failure_with_lessons_before_closure_no_alert",
                       Concat(UpToMissed(), {Momentum(12, kLessons),
                                             Closed(13, v1::OUTCOME_UNSUCCESSFUL)}),
                       {"-STEP_SKIPPED ACTION", "-STEP_SKIPPED REVIEW",
                        "-TARGET_MISSED REVIEW mttr", "T MOMENTUM->CLOSED #2 skipped=[]"},
                       v1::STEP_CLOSED, 2},
                   {}),
        WithTimers(Row{"failure_with_lessons_after_closure_before_due_no_alert",
                       Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL),
                                             Momentum(30, kLessons)}),
                       {}, v1::STEP_CLOSED, 2},
                   {}),
        WithTimers(Row{"failure_without_lessons_fires_at_the_due_time",
                       Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL),
                                             Fire(v1::ALERT_KIND_LESSONS_NOT_RECORDED)}),
                       {"+LESSONS_NOT_RECORDED CLOSED"}, v1::STEP_CLOSED, 2},
                   {}),  // fired: not armed again
        WithTimers(Row{"failure_lessons_after_the_due_time_resolve",
                       Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL),
                                             Fire(v1::ALERT_KIND_LESSONS_NOT_RECORDED),
                                             Momentum(60, kLessons)}),
                       {"-LESSONS_NOT_RECORDED CLOSED"}, v1::STEP_CLOSED, 2},
                   {}),
        WithTimers(Row{"failure_lessons_never_recorded_fires_once",
                       Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL),
                                             Fire(v1::ALERT_KIND_LESSONS_NOT_RECORDED),
                                             Measure(200, "mttr", 100)}),
                       {}, v1::STEP_CLOSED, 2},
                   {}),
        Row{"closed_initiative_ignores_other_momentum",
            Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL),
                                  Momentum(20, v1::MOMENTUM_KIND_TRAINING)}),
            {}, v1::STEP_CLOSED, 2, D::kIgnored, "INITIATIVE_CLOSED"},
        WithTimers(Row{"withdrawn_after_a_missed_review_arms_the_lessons_timer",
                       Concat(UpToMissed(), {Withdrawn(13)}),
                       {"-TARGET_MISSED REVIEW mttr", "T PLAN->CLOSED #2 skipped=[]"},
                       v1::STEP_CLOSED, 2},
                   {"LESSONS_NOT_RECORDED day 43"}),
        Row{"withdrawn_after_a_missed_review_fires",
            Concat(UpToMissed(), {Withdrawn(13), Fire(v1::ALERT_KIND_LESSONS_NOT_RECORDED)}),
            {"+LESSONS_NOT_RECORDED CLOSED"}, v1::STEP_CLOSED, 2},
        WithTimers(Row{"withdrawn_after_an_overdue_deadline_arms_the_lessons_timer",
                       {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 20),
                        Fire(v1::ALERT_KIND_TARGET_OVERDUE, "mttr"), Withdrawn(25)},
                       {"-TARGET_OVERDUE TARGET_STATE mttr",
                        "T TARGET_STATE->CLOSED #1 skipped=[]"},
                       v1::STEP_CLOSED},
                   {"LESSONS_NOT_RECORDED day 55"}),
        WithTimers(Row{"withdrawn_before_any_target_was_missed_owes_no_lessons",
                       {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
                        Plan(3, {"a1"}), Withdrawn(4)},
                       {"T PLAN->CLOSED #1 skipped=[]"}, v1::STEP_CLOSED},
                   {}),
        WithTimers(Row{"successful_closure_owes_no_lessons",
                       Concat(UpToAchieved(), {Momentum(12, v1::MOMENTUM_KIND_POLICY),
                                               Closed(13, v1::OUTCOME_SUCCESSFUL)}),
                       {"T MOMENTUM->CLOSED #1 skipped=[]"}, v1::STEP_CLOSED},
                   {}),
        WithTimers(WithConfig(Row{"lessons_limit_0_arms_nothing",
                                  Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL)}),
                                  {"-TARGET_MISSED REVIEW mttr",
                                   "T PLAN->CLOSED #2 skipped=[ACTION,REVIEW,MOMENTUM]"},
                                  v1::STEP_CLOSED, 2},
                              [](Config& c) { c.lessons_limit = Config::Duration(0); }),
                   {}),
        WithTimers(WithConfig(Row{"lessons_limit_7d",
                                  Concat(UpToMissed(), {Withdrawn(13)}),
                                  {"-TARGET_MISSED REVIEW mttr", "T PLAN->CLOSED #2 skipped=[]"},
                                  v1::STEP_CLOSED, 2},
                              [](Config& c) { c.lessons_limit = Config::Days(7); }),
                   {"LESSONS_NOT_RECORDED day 20"}),
        WithTimers(Row{"lessons_due_time_saturates_in_9999",
                       {Proposed(kDay9999Dec31 - 3), Baseline(kDay9999Dec31 - 2, "mttr", 120),
                        Closed(kDay9999Dec31, v1::OUTCOME_UNSUCCESSFUL)},
                       {"T CURRENT_STATE->CLOSED #1 "
                        "skipped=[TARGET_STATE,PLAN,ACTION,REVIEW,MOMENTUM]"},
                       v1::STEP_CLOSED},
                   {"LESSONS_NOT_RECORDED day 2912442 +86399s"}),
        Row{"reopening_resolves_lessons_not_recorded",
            Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL),
                                  Fire(v1::ALERT_KIND_LESSONS_NOT_RECORDED),
                                  Target(60, "mttr", 95, kDec, 200)}),
            {"-LESSONS_NOT_RECORDED CLOSED", "T CLOSED->TARGET_STATE #3 skipped=[]"},
            v1::STEP_TARGET_STATE, 3},

        // ---- the whole supported time range (1970 .. 9999-12-31T23:59:59Z) ----
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
            {"+TARGET_AT_RISK ACTION mttr"}, v1::STEP_ACTION}),
    [](const ::testing::TestParamInfo<Row>& param) { return param.param.name; });

// ---- properties that hold across rows --------------------------------------------------------

TEST(Model, TransitionsCarryThePrinciplesOfTheStepEntered) {
  Played run = Play(Config{}, UpToAchieved());
  int transitions = 0;
  for (const auto& o : run.all_outputs) {
    if (!o.has_transition()) continue;
    ++transitions;
    const auto& want = PrinciplesOf(o.transition().to_step());
    ASSERT_FALSE(want.empty());
    std::vector<v1::Principle> got;
    for (int p : o.transition().principles()) got.push_back(static_cast<v1::Principle>(p));
    EXPECT_EQ(got, want);
  }
  EXPECT_EQ(transitions, 6);
  // DESIGN.md §2.3: CURRENT_STATE is "start where you are; collaborate and promote visibility".
  EXPECT_EQ(PrinciplesOf(v1::STEP_CURRENT_STATE),
            (std::vector<v1::Principle>{v1::PRINCIPLE_START_WHERE_YOU_ARE,
                                        v1::PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY}));
}

TEST(Model, SkippedStepAlertCarriesTheRisk) {
  Played run = Play(Config{}, {Proposed(0), Target(2, "mttr", 90, kDec, 100)});
  ASSERT_EQ(run.last.outputs.size(), 2u);
  const auto& alert = run.last.outputs[1].alert();
  EXPECT_EQ(alert.reason(),
            "CURRENT_STATE was skipped: there is no objective baseline, so no improvement can be "
            "measured");
  EXPECT_EQ(alert.cause_event_id(), "e2");
}

TEST(Model, OutputIdsAreDeterministicAndUnique) {
  auto steps = Concat(UpToAction(), {Action(10, "a1", kDone), Measure(11, "mttr", 110),
                                     Plan(12, {"a2"}), Action(13, "a2", kDone),
                                     Measure(14, "mttr", 85)});
  Played a = Play(Config{}, steps);
  Played b = Play(Config{}, steps);
  ASSERT_EQ(a.all_outputs.size(), b.all_outputs.size());
  std::set<std::string> ids;
  for (std::size_t i = 0; i < a.all_outputs.size(); ++i) {
    const std::string id = a.all_outputs[i].has_transition() ? a.all_outputs[i].transition().id()
                                                             : a.all_outputs[i].alert().id();
    const std::string id_b = b.all_outputs[i].has_transition()
                                 ? b.all_outputs[i].transition().id()
                                 : b.all_outputs[i].alert().id();
    EXPECT_EQ(id, id_b);
    EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
  }
  // FIRING and RESOLVED of one alert share its alert_id.
  std::map<std::string, int> states;
  for (const auto& o : a.all_outputs) {
    if (o.has_alert()) states[o.alert().alert_id()] |= 1 << o.alert().state();
  }
  EXPECT_TRUE(std::any_of(states.begin(), states.end(), [](const auto& kv) {
    return kv.second == ((1 << v1::ALERT_STATE_FIRING) | (1 << v1::ALERT_STATE_RESOLVED));
  }));
}

TEST(Model, TimersFollowTheStateAndDisappearOnClose) {
  Config config;
  Played run = Play(config, UpToAction());
  // ACTION: a stall timer 60 days after the last progress, an overdue timer at the deadline.
  ASSERT_EQ(run.state.timers_size(), 2);
  EXPECT_EQ(run.state.timers(0).kind(), v1::ALERT_KIND_STALLED);
  EXPECT_EQ(run.state.timers(0).due_at().seconds(), Day(4 + 60).seconds());
  EXPECT_EQ(run.state.timers(1).kind(), v1::ALERT_KIND_TARGET_OVERDUE);
  EXPECT_EQ(run.state.timers(1).due_at().seconds(), Day(100).seconds());
  run = Play(config, Concat(UpToAction(), {Withdrawn(5)}));
  EXPECT_EQ(run.state.timers_size(), 0);
}

TEST(Model, ConfiguredStallLimitIsUsed) {
  Config config;
  config.stall_limit[v1::STEP_VISION] = Config::Days(3);
  Played run = Play(config, {Proposed(0)});
  ASSERT_EQ(run.state.timers_size(), 1);
  EXPECT_EQ(run.state.timers(0).due_at().seconds(), Day(3).seconds());
  config.stall_limit[v1::STEP_VISION] = Config::Duration(0);  // off
  run = Play(config, {Proposed(0)});
  EXPECT_EQ(run.state.timers_size(), 0);
}

TEST(Model, StaleTimerIsIgnored) {
  Config config;
  Played run = Play(config, {Proposed(0)});
  v1::StoredEvent stale;
  stale.set_revision(2);
  stale.mutable_timer()->set_kind(v1::ALERT_KIND_STALLED);
  *stale.mutable_timer()->mutable_due_at() = Day(1);  // not the state's due-time
  *stale.mutable_timer()->mutable_fired_at() = Day(1);
  Decision d = Apply(config, &run.state, stale);
  EXPECT_EQ(d.disposition, Decision::Disposition::kIgnored);
  EXPECT_EQ(d.reason_code(), "STALE_TIMER");
  EXPECT_TRUE(d.outputs.empty());
  EXPECT_EQ(d.state.revision(), 2u);
}

TEST(Model, ClosingResolvesEveryFiringAlert) {
  Played run = Play(Config{}, {Proposed(0), Action(1, "a1", v1::ACTION_STATUS_STARTED),
                            Withdrawn(2)});
  std::vector<std::string> got;
  for (const auto& o : run.last.outputs) got.push_back(Describe(o));
  EXPECT_EQ(got, (std::vector<std::string>{"-STEP_SKIPPED CURRENT_STATE",
                                           "-STEP_SKIPPED TARGET_STATE", "-STEP_SKIPPED PLAN",
                                           "T ACTION->CLOSED #1 skipped=[]"}));
  EXPECT_EQ(run.state.firing_alerts_size(), 0);
  EXPECT_EQ(run.state.outcome(), v1::OUTCOME_WITHDRAWN);
}

TEST(Model, EarlyAchievementRecordsTheActionsNotNeeded) {
  Played run = Play(Config{}, Concat(UpToOneOfTwoDone(), {Measure(11, "mttr", 80)}));
  ASSERT_EQ(run.state.actions_size(), 2);
  EXPECT_EQ(run.state.actions(0).action_id(), "train");
  EXPECT_FALSE(run.state.actions(0).not_needed());
  EXPECT_EQ(run.state.actions(1).action_id(), "crm");
  EXPECT_TRUE(run.state.actions(1).not_needed());
  EXPECT_EQ(run.state.actions(1).status(), v1::ACTION_STATUS_UNSPECIFIED);
  EXPECT_TRUE(run.state.achieved());
  EXPECT_EQ(run.state.last_review(), v1::REVIEW_RESULT_ACHIEVED);
  // The momentum clock starts from the early review.
  ASSERT_EQ(run.state.timers_size(), 2);
  EXPECT_EQ(run.state.timers(1).kind(), v1::ALERT_KIND_MOMENTUM_NOT_SUSTAINED);
  EXPECT_EQ(run.state.timers(1).due_at().seconds(), Day(11 + 60).seconds());
  // Someone works on the open action after all: it is no longer "not needed"; REVIEW stays.
  run = Play(Config{}, Concat(UpToOneOfTwoDone(), {Measure(11, "mttr", 80),
                                                   Action(12, "crm", v1::ACTION_STATUS_STARTED)}));
  EXPECT_FALSE(run.state.actions(1).not_needed());
  EXPECT_EQ(run.state.step(), v1::STEP_REVIEW);
  EXPECT_TRUE(run.last.outputs.empty());
  // Every action done: today's rule, nothing left open to name.
  run = Play(Config{}, UpToAchieved());
  ASSERT_EQ(run.last.outputs.size(), 1u);
  EXPECT_EQ(run.last.outputs[0].transition().actions_not_needed_size(), 0);
}

TEST(Model, LessonsAfterClosureAreAppliedAndShown) {
  auto steps = Concat(UpToMissed(), {Closed(13, v1::OUTCOME_UNSUCCESSFUL),
                                     Fire(v1::ALERT_KIND_LESSONS_NOT_RECORDED)});
  Played run = Play(Config{}, steps);
  ASSERT_EQ(run.last.outputs.size(), 1u);
  const auto& alert = run.last.outputs[0].alert();
  EXPECT_EQ(alert.kind(), v1::ALERT_KIND_LESSONS_NOT_RECORDED);
  EXPECT_EQ(alert.reason(),
            "closed UNSUCCESSFUL on 2026-01-14T00:00:00Z and no lessons learned were shared "
            "since: a failure keeps its value only through its lessons");
  EXPECT_EQ(alert.time().seconds(), Day(43).seconds());
  EXPECT_EQ(alert.cause_event_source(), "cir/timer");
  const std::string alert_id = alert.alert_id();

  steps.push_back(Momentum(60, kLessons));
  run = Play(Config{}, steps);
  EXPECT_EQ(run.last.disposition, Decision::Disposition::kApplied);
  ASSERT_EQ(run.last.outputs.size(), 1u);
  EXPECT_EQ(run.last.outputs[0].alert().alert_id(), alert_id);
  EXPECT_EQ(run.last.outputs[0].alert().id(), alert_id + "/resolved");
  EXPECT_EQ(run.last.outputs[0].alert().reason(), "lessons learned recorded");
  EXPECT_EQ(run.state.step(), v1::STEP_CLOSED);
  EXPECT_EQ(run.state.outcome(), v1::OUTCOME_UNSUCCESSFUL);
  EXPECT_EQ(run.state.closed_at().seconds(), Day(13).seconds());
  EXPECT_EQ(std::vector<int>(run.state.momentum().begin(), run.state.momentum().end()),
            std::vector<int>{kLessons});
  EXPECT_EQ(run.state.firing_alerts_size(), 0);
  EXPECT_EQ(run.state.timers_size(), 0);
  EXPECT_EQ(run.state.updated_at().seconds(), Day(60).seconds());
}

TEST(ModelTime, DueTimesSaturateAtTheEndOf9999AndStayPrintable) {
  Played run = Play(Config{}, {Proposed(kDay9999Dec31)});
  ASSERT_EQ(run.state.timers_size(), 1);
  EXPECT_EQ(run.state.timers(0).kind(), v1::ALERT_KIND_STALLED);
  EXPECT_EQ(run.state.timers(0).due_at().seconds(), kMaxSeconds);  // not 9999-12-31 + 14 days
  EXPECT_EQ(run.state.timers(0).due_at().nanos(), 0);
  std::string json;
  ASSERT_TRUE(pb::util::MessageToJsonString(run.state, &json).ok());
  EXPECT_NE(json.find("9999-12-31T23:59:59Z"), std::string::npos) << json;
  for (const auto& out : run.all_outputs) {
    ASSERT_TRUE(pb::util::MessageToJsonString(out, &json).ok());
  }
  // The timer fires at its saturated due-time like any other.
  run = Play(Config{}, {Proposed(kDay9999Dec31), Fire(v1::ALERT_KIND_STALLED)});
  ASSERT_EQ(run.last.outputs.size(), 1u);
  EXPECT_EQ(run.last.outputs[0].alert().reason(),
            "no progress in VISION since 9999-12-31T00:00:00Z");
  ASSERT_TRUE(pb::util::MessageToJsonString(run.state, &json).ok());
}

TEST(ModelTime, LongestLimitsFromTheLatestTimeSaturate) {
  Config config;
  for (auto& limit : config.stall_limit) limit = Config::kMaxLimit;
  config.momentum_limit = Config::kMaxLimit;
  ASSERT_TRUE(config.Validate().has_value());
  Played run;
  std::string json;
  for (double day : {0.0, kDay2262, kDay2300, kDay9999Jun1, kDay9999Dec31}) {
    std::vector<Step> steps = {Proposed(day), Baseline(day, "mttr", 120),
                               Target(day, "mttr", 90, kDec, kDay9999Dec31),
                               Plan(day, {"a1"}), Action(day, "a1", kDone),
                               Measure(day, "mttr", 80)};
    run = Play(config, steps);
    ASSERT_EQ(v1::Step_Name(run.state.step()), "STEP_REVIEW") << day;
    for (const auto& t : run.state.timers()) {
      EXPECT_LE(t.due_at().seconds(), kMaxSeconds) << day;
      EXPECT_GE(t.due_at().seconds(), Day(day).seconds()) << day;
    }
    ASSERT_TRUE(pb::util::MessageToJsonString(run.state, &json).ok()) << day;
  }
}

TEST(ModelConfig, LimitsAreBoundedByAHundredYears) {
  Config config;
  config.stall_limit[v1::STEP_ACTION] = Config::kMaxLimit;
  EXPECT_TRUE(config.Validate().has_value());
  config.stall_limit[v1::STEP_ACTION] = Config::kMaxLimit + Config::Duration(1);
  ASSERT_FALSE(config.Validate().has_value());
  EXPECT_NE(config.Validate().error().message.find("action"), std::string::npos);
  config = Config{};
  config.momentum_limit = Config::Days(36526);
  ASSERT_FALSE(config.Validate().has_value());
  EXPECT_NE(config.Validate().error().message.find("momentum"), std::string::npos);
}

TEST(ModelConfig, ValidateNamesTheBadField) {
  Config config;
  EXPECT_TRUE(config.Validate().has_value());
  config.momentum_limit = Config::Duration(0);
  ASSERT_FALSE(config.Validate().has_value());
  EXPECT_NE(config.Validate().error().message.find("momentum"), std::string::npos);
  config = Config{};
  config.stall_limit[v1::STEP_PLAN] = Config::Duration(-1);
  ASSERT_FALSE(config.Validate().has_value());
  EXPECT_NE(config.Validate().error().message.find("plan"), std::string::npos);
}

}  // namespace
}  // namespace cir::model
