// The one duration rule (services/base/include/cir/base/duration.h), as cird's timing flags and the model's limits
// parse it: a table of texts and what they become or why they are refused.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cir/v1/improvement.pb.h"
#include "config.h"
#include "cir/base/duration.h"
#include "cir/model/flags.h"

namespace cir::services {
namespace {

using base::ParseDuration;
using base::ParseSeconds;
using model::ModelFlags;
using std::chrono::milliseconds;

struct DurationRow {
  std::string text;
  std::optional<long long> ms;  // nullopt: refused
  std::string error_part = "";  // refused: a part of the message
};
void PrintTo(const DurationRow& row, std::ostream* os) { *os << "'" << row.text << "'"; }

class DurationTable : public ::testing::TestWithParam<DurationRow> {};

TEST_P(DurationTable, ParsesOrNamesFlagAndValue) {
  const DurationRow& row = GetParam();
  auto got = ParseDuration("--some-flag", row.text);
  if (row.ms) {
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(got->count(), *row.ms);
    return;
  }
  ASSERT_FALSE(got.has_value()) << got->count();
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(got.error().message.rfind("--some-flag '" + row.text + "': ", 0), 0u)
      << got.error().message;
  EXPECT_NE(got.error().message.find(row.error_part), std::string::npos) << got.error().message;
}

constexpr long long kDayMs = 86'400'000;

INSTANTIATE_TEST_SUITE_P(
    Rule, DurationTable,
    ::testing::Values(
        DurationRow{"250ms", 250}, DurationRow{"10s", 10'000}, DurationRow{"2m", 120'000},
        DurationRow{"12h", 12 * 3'600'000LL}, DurationRow{"30d", 30 * kDayMs}, DurationRow{"0", 0},
        DurationRow{"0s", 0}, DurationRow{"0d", 0},
        DurationRow{"36525d", 36525 * kDayMs},               // 100 years: the bound itself
        DurationRow{"3155760000s", 36525 * kDayMs},          // the bound in seconds
        DurationRow{"36526d", std::nullopt, "100 years"},    // one day over
        DurationRow{"3000000d", std::nullopt, "100 years"},  // issue 9's stall limit
        DurationRow{"99999999999999999999d", std::nullopt, "100 years"},  // past uint64
        DurationRow{"18446744073709551615ms", std::nullopt, "100 years"},
        DurationRow{"5", std::nullopt, "a unit is required"},  // bare numbers have no unit
        DurationRow{"500", std::nullopt, "a unit is required"},
        DurationRow{"-3d", std::nullopt, "whole number"}, DurationRow{"+3d", std::nullopt, "unit"},
        DurationRow{"1.5s", std::nullopt, "unknown unit '.5s'"},
        DurationRow{"5 weeks", std::nullopt, "unknown unit ' weeks'"},
        DurationRow{"5w", std::nullopt, "unknown unit 'w'"},
        DurationRow{"d", std::nullopt, "whole number"}, DurationRow{"", std::nullopt, "unit"},
        DurationRow{"10S", std::nullopt, "unknown unit 'S'"}),
    [](const ::testing::TestParamInfo<DurationRow>& p) { return "row" + std::to_string(p.index); });

TEST(Duration, SecondsSettingsRefuseFractions) {
  ASSERT_TRUE(ParseSeconds("--lessons-limit", "2000ms").has_value());
  EXPECT_EQ(ParseSeconds("--lessons-limit", "2000ms")->count(), 2);
  auto bad = ParseSeconds("--lessons-limit", "1500ms");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "--lessons-limit '1500ms': must be a whole number of seconds");
}

TEST(ModelFlags, LessonsLimitDefaultsSetAndOff) {
  ModelFlags flags;
  auto config = flags.ToConfig();
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->lessons_limit, model::Config::Days(30));
  flags.lessons_limit = "7d";
  EXPECT_EQ(flags.ToConfig()->lessons_limit, model::Config::Days(7));
  flags.lessons_limit = "0";
  EXPECT_EQ(flags.ToConfig()->lessons_limit.count(), 0);
  flags.lessons_limit = "7";
  ASSERT_FALSE(flags.ToConfig().has_value());
  EXPECT_NE(flags.ToConfig().error().message.find("--lessons-limit '7'"), std::string::npos);
}

TEST(ModelFlags, HugeLimitsAreRefusedNamingTheFlag) {
  ModelFlags flags;
  flags.stall_limits = {"plan=3000000d"};
  ASSERT_FALSE(flags.ToConfig().has_value());
  EXPECT_NE(flags.ToConfig().error().message.find("--stall-limit plan '3000000d'"),
            std::string::npos)
      << flags.ToConfig().error().message;
  flags.stall_limits = {"plan=30"};  // a bare number was seconds here once
  ASSERT_FALSE(flags.ToConfig().has_value());
  EXPECT_NE(flags.ToConfig().error().message.find("a unit is required"), std::string::npos);
  flags.stall_limits = {"plan=36525d", "vision=0"};  // the bound, and off
  auto config = flags.ToConfig();
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->stall_limit[v1::STEP_PLAN], model::Config::kMaxLimit);
  EXPECT_EQ(config->stall_limit[v1::STEP_VISION].count(), 0);
  flags = {};
  flags.momentum_limit = "36526d";
  ASSERT_FALSE(flags.ToConfig().has_value());
  EXPECT_NE(flags.ToConfig().error().message.find("--momentum-limit '36526d'"), std::string::npos);
}

// cird and circtl share the flags (and their environment variables) through ModelFlags::Register.
TEST(ModelFlags, RegisteredFlagsAndEnvironment) {
  CLI::App app;
  ModelFlags flags;
  flags.Register(app);
  EXPECT_NE(app.help().find("--lessons-limit"), std::string::npos);
  EXPECT_NE(app.help().find("LESSONS_NOT_RECORDED"), std::string::npos);
  std::vector<std::string> args{"--momentum-limit", "45d", "--lessons-limit", "14d"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  auto config = flags.ToConfig();
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->lessons_limit, model::Config::Days(14));
  EXPECT_EQ(config->momentum_limit, model::Config::Days(45));
}

// cird's timing flags go through the same parser: a bare number, once milliseconds there, is now
// refused with the flag's name; units and the bound are the same.
TEST(CirdDurations, TimingFlagsUseTheOneRule) {
  {
    CLI::App app;
    cird::Config config;
    config.Register(app);
    app.parse(std::vector<std::string>{"250ms", "--tick-interval", "2m", "--shutdown-grace"});
    EXPECT_EQ(config.shutdown_grace, milliseconds(120'000));
    EXPECT_EQ(config.tick_interval, milliseconds(250));
    EXPECT_NE(app.help().find("--lessons-limit"), std::string::npos);
  }
  for (const char* bad : {"500", "3000000d", "1.5s"}) {
    CLI::App app;
    cird::Config config;
    config.Register(app);
    try {
      app.parse(std::vector<std::string>{bad, "--tick-interval"});
      ADD_FAILURE() << "--tick-interval " << bad << " was accepted";
    } catch (const CLI::ValidationError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("--tick-interval '") + bad + "'"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace cir::services
