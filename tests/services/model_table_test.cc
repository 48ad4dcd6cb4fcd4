// Table-driven tests of the improvement model: one row per case — the events that lead up to it,
// the event under test, and what must come out (transitions, alerts, disposition, final step).
// The builders and runner are in model_table.h, the rows by concern in model_*_rows.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model_table.h"

namespace cir::model::table {
namespace {

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

std::vector<Row> AllRows() {
  std::vector<Row> all;
  for (auto rows : {StepRows(), SkippedRows(), ReviewRows(), TimeAlertRows(), TrendRows(),
                    RejectRows(), AchievementRows(), LessonsRows(), TimeRangeRows()}) {
    all.insert(all.end(), rows.begin(), rows.end());
  }
  return all;
}

INSTANTIATE_TEST_SUITE_P(Steps, ModelTable, ::testing::ValuesIn(AllRows()),
                         [](const ::testing::TestParamInfo<Row>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace cir::model::table
