// The improvement model's table tests, shared by the files that hold their rows: the event
// builders (days on the tests' calendar), the common lead-ups, the runner that plays a row's
// steps through Apply, and the row with its compact descriptions of outputs and timers.
// model_table_test.cc runs the rows; the rows live by concern in model_*_rows.cc.
#pragma once

#include <gtest/gtest.h>

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cir/model/model.h"
#include "event_builders.h"

namespace cir::model::table {

namespace pb = google::protobuf;

// ---- event builders ------------------------------------------------------------------------

// Days after 2026-01-01T00:00:00Z.
inline pb::Timestamp Day(double day) {
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

inline Step Ev(double day, std::function<void(v1::ValueChainEvent&)> fill) {
  return Step{std::move(fill), v1::ALERT_KIND_UNSPECIFIED, "", day};
}

inline Step Proposed(double day) {
  return Ev(day, [](v1::ValueChainEvent& e) {
    e = testing::WithProposal(std::move(e), "Cut MTTR", "Incidents resolved fast",
                              "Customer trust", "ops", v1::REGISTER_LEVEL_DEPARTMENT);
  });
}
inline Step Baseline(double day, const std::string& kpi, double value) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    auto& p = *e.mutable_baseline_measured();
    p.set_kpi(kpi);
    p.set_value(value);
    p.set_unit("min");
    p.set_method(v1::MEASUREMENT_METHOD_OPERATIONAL_STATISTICS);
    *p.mutable_measured_at() = Day(day);
  });
}
inline Step Target(double day, const std::string& kpi, double value, v1::Direction direction,
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
inline Step Plan(double day, std::vector<std::string> actions) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    for (const auto& id : actions) e.mutable_plan_defined()->add_actions()->set_action_id(id);
  });
}
inline Step Action(double day, const std::string& id, v1::ActionStatus status) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_action_updated()->set_action_id(id);
    e.mutable_action_updated()->set_status(status);
  });
}
inline Step Measure(double day, const std::string& kpi, double value) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_kpi_measured()->set_kpi(kpi);
    e.mutable_kpi_measured()->set_value(value);
    *e.mutable_kpi_measured()->mutable_measured_at() = Day(day);
  });
}
// A measurement that arrives at `day` but was taken at `measured_day`.
inline Step MeasureAt(double day, double measured_day, const std::string& kpi, double value) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_kpi_measured()->set_kpi(kpi);
    e.mutable_kpi_measured()->set_value(value);
    *e.mutable_kpi_measured()->mutable_measured_at() = Day(measured_day);
  });
}
inline Step Review(double day, v1::ReviewResult result, bool relevant) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_review_concluded()->set_result(result);
    e.mutable_review_concluded()->set_still_relevant(relevant);
  });
}
inline Step Momentum(double day, v1::MomentumKind kind) {
  return Ev(day, [=](v1::ValueChainEvent& e) { e.mutable_momentum_recorded()->set_kind(kind); });
}
inline Step Closed(double day, v1::Outcome outcome) {
  return Ev(day, [=](v1::ValueChainEvent& e) {
    e.mutable_initiative_closed()->set_outcome(outcome);
  });
}
inline Step Withdrawn(double day) {
  return Ev(day, [](v1::ValueChainEvent& e) { e.mutable_initiative_withdrawn(); });
}
// Fires the timer of `kind` that the state holds, at its due-time + `late` days.
inline Step Fire(v1::AlertKind kind, const std::string& kpi = "", double late = 0) {
  return Step{nullptr, kind, kpi, late};
}

// The common lead-ups.
constexpr auto kInc = v1::DIRECTION_INCREASE;
constexpr auto kDec = v1::DIRECTION_DECREASE;
constexpr auto kDone = v1::ACTION_STATUS_DONE;
inline std::vector<Step> UpToAction() {
  return {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
          Plan(3, {"a1"}), Action(4, "a1", v1::ACTION_STATUS_STARTED)};
}
inline std::vector<Step> UpToAchieved() {
  auto s = UpToAction();
  s.push_back(Action(10, "a1", kDone));
  s.push_back(Measure(11, "mttr", 80));
  return s;
}
// Iteration 1 reviewed automatically as missed: iteration 2 at PLAN, TARGET_MISSED firing.
inline std::vector<Step> UpToMissed() {
  auto s = UpToAction();
  s.push_back(Action(10, "a1", kDone));
  s.push_back(Measure(11, "mttr", 110));
  return s;
}
// Two alternative actions planned, one carried out ("train the team or invest in a CRM").
inline std::vector<Step> UpToOneOfTwoDone() {
  return {Proposed(0), Baseline(1, "mttr", 120), Target(2, "mttr", 90, kDec, 100),
          Plan(3, {"train", "crm"}), Action(4, "train", v1::ACTION_STATUS_STARTED),
          Action(10, "train", kDone)};
}
constexpr auto kLessons = v1::MOMENTUM_KIND_LESSONS_LEARNED;
inline std::vector<Step> Concat(std::vector<Step> a, std::initializer_list<Step> b) {
  a.insert(a.end(), b);
  return a;
}

// ---- the runner -------------------------------------------------------------------------------

// Outputs in a compact, readable form:
//   "T CURRENT_STATE->TARGET_STATE #1 skipped=[]"  a transition in iteration 1
//   "+STEP_SKIPPED CURRENT_STATE"                  an alert firing (kind, step[, kpi])
//   "-STALLED PLAN"                                 an alert resolved
inline std::string Describe(const v1::Output& out) {
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

inline Played Play(const Config& config, const std::vector<Step>& steps) {
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
inline std::string DescribeTimer(const v1::Timer& t) {
  std::string text = v1::AlertKind_Name(t.kind()).substr(11);
  if (!t.kpi().empty()) text += " " + t.kpi();
  const std::int64_t seconds = t.due_at().seconds() - Day(0).seconds();
  text += " day " + std::to_string(seconds / 86400);
  if (seconds % 86400 != 0) text += " +" + std::to_string(seconds % 86400) + "s";
  return text;
}

inline Row WithTimers(Row row, std::vector<std::string> timers) {
  row.timers = std::move(timers);
  return row;
}
inline Row WithConfig(Row row, std::function<void(Config&)> configure) {
  row.configure = std::move(configure);
  return row;
}

// Test names show the row's name, not its bytes.
inline void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

using D = Decision::Disposition;

// The rows by concern, in the order the table runs them.
std::vector<Row> StepRows();         // model_rules_rows.cc: every step in order
std::vector<Row> SkippedRows();      // model_rules_rows.cc
std::vector<Row> ReviewRows();       // model_rules_rows.cc: reviews and iterations
std::vector<Row> TimeAlertRows();    // model_timer_rows.cc: stalled, overdue, momentum
std::vector<Row> TrendRows();        // model_timer_rows.cc: trends and erosion
std::vector<Row> RejectRows();       // model_rules_rows.cc: events that make no sense
std::vector<Row> AchievementRows();  // model_outcome_rows.cc: a met target (issue 15)
std::vector<Row> LessonsRows();      // model_outcome_rows.cc: a failure's lessons (issue 15)
std::vector<Row> TimeRangeRows();    // model_timer_rows.cc: 1970 .. 9999-12-31T23:59:59Z

}  // namespace cir::model::table
