// Properties of the improvement model that hold across the table's rows (model_table_test.cc):
// principles, alert reasons, output ids, timers, closure, lessons; the time range's saturation;
// Config validation.
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model_table.h"

namespace cir::model::table {
namespace {

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
}  // namespace cir::model::table
