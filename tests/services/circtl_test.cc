// circtl's offline commands, called in-process on real registers in temp directories.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cir/v1/improvement.pb.h"
#include "cir/model/flags.h"
#include "offline.h"
#include "temp_dir.h"

namespace cir::services {
namespace {

namespace fs = std::filesystem;

class CirctlTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  int Replay(const std::string& file) {
    out_.str("");
    err_.str("");
    ReplayOptions options;
    options.data_dir = (dir_ / "register").string();
    options.file = file;
    return cir::services::Replay(options, out_, err_);
  }

  std::vector<std::string> OutLines() const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  ::cir::testing::TempDir temp_{"circtl-test"};
  const fs::path dir_ = temp_.path();
  std::ostringstream out_, err_;
};

const char* kProposed =
    R"({"id":"p1","source":"//t","initiativeId":"I1","activity":"ACTIVITY_PLAN","eventTime":"2026-01-01T00:00:00Z","initiativeProposed":{"title":"t","vision":"v","organisationalGoal":"g","owner":"o","registerLevel":"REGISTER_LEVEL_TEAM"}})";
const char* kBaseline =
    R"({"id":"b1","source":"//t","initiativeId":"I1","activity":"ACTIVITY_DELIVER_SUPPORT","eventTime":"2026-01-02T00:00:00Z","baselineMeasured":{"kpi":"k","value":5,"unit":"u","method":"MEASUREMENT_METHOD_AUDIT"}})";
const char* kUnknownInitiative =
    R"({"id":"x1","source":"//t","initiativeId":"NOPE","activity":"ACTIVITY_PLAN","eventTime":"2026-01-02T00:00:00Z","kpiMeasured":{"kpi":"k","value":1}})";

TEST_F(CirctlTest, SampleScenarioReplaysCleanlyAndEveryInitiativeEndsWhereItShould) {
  ASSERT_EQ(Replay(CIR_SAMPLE_SCENARIO), kExitOk) << err_.str();
  const auto lines = OutLines();
  EXPECT_GT(lines.size(), 40u);
  for (const auto& line : lines) {
    EXPECT_TRUE(line.rfind(R"({"transition":)", 0) == 0 || line.rfind(R"({"alert":)", 0) == 0)
        << line;
  }
  struct Want {
    const char* id;
    const char* step;
  };
  for (const Want& want : {Want{"INC-MTTR", "CLOSED"}, Want{"CSAT", "ACTION"},
                           Want{"CHANGE-FAIL", "CLOSED"}, Want{"DEPLOY-LEAD", "CLOSED"}}) {
    std::ostringstream out, err;
    ShowOptions show;
    show.data_dir = (dir_ / "register").string();
    show.initiative_id = want.id;
    ASSERT_EQ(Show(show, out, err), kExitOk) << err.str();
    EXPECT_NE(out.str().find(std::string("step       ") + want.step), std::string::npos)
        << out.str();
  }
  std::ostringstream out, err;
  VerifyOptions verify;
  verify.data_dir = (dir_ / "register").string();
  EXPECT_EQ(Verify(verify, out, err), kExitOk) << out.str() << err.str();
  EXPECT_NE(out.str().find("register OK"), std::string::npos);
}

TEST_F(CirctlTest, BadLinesAreReportedWithTheirNumberAndSkipped) {
  const std::string file = Write(
      "bad.jsonl", std::string(kProposed) + "\n" + "{not json\n" +
                       R"({"id":"m1","source":"//t","initiativeId":"I1","activity":"ACTIVITY_PLAN","eventTime":"2026-01-02T00:00:00Z","kpiMeasured":{}})" +
                       "\n\n# a comment\n" + kUnknownInitiative + "\n" + kBaseline + "\n");
  EXPECT_EQ(Replay(file), kExitBadInput);
  const std::string err = err_.str();
  EXPECT_NE(err.find(file + ":2: not a ValueChainEvent in JSON"), std::string::npos) << err;
  EXPECT_NE(err.find(file + ":3: kpi_measured.kpi: required"), std::string::npos) << err;
  EXPECT_NE(err.find(file + ":6: rejected: UNKNOWN_INITIATIVE"), std::string::npos) << err;
  EXPECT_NE(err.find("5 lines, 2 appended, 0 duplicates skipped, 3 bad"), std::string::npos)
      << err;
  // The good lines around the bad ones were appended: proposal and baseline transitions.
  const auto lines = OutLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(R"("to_step":"STEP_VISION")"), std::string::npos);
  EXPECT_NE(lines[1].find(R"("to_step":"STEP_CURRENT_STATE")"), std::string::npos);
}

TEST_F(CirctlTest, ReplayingTheSameEventsAgainAppendsNothing) {
  const std::string file = Write("ok.jsonl", std::string(kProposed) + "\n" + kBaseline + "\n");
  ASSERT_EQ(Replay(file), kExitOk);
  EXPECT_EQ(OutLines().size(), 2u);
  ASSERT_EQ(Replay(file), kExitOk);
  EXPECT_TRUE(OutLines().empty());
  EXPECT_NE(err_.str().find("0 appended, 2 duplicates skipped"), std::string::npos) << err_.str();
}

// A due-time re-armed at the same instant after its alert resolved fires again (the timer's
// dedupe id carries the revision that armed it), and the register still verifies.
TEST_F(CirctlTest, ReArmedDueTimeFiresAgain) {
  auto line = [](const std::string& id, const std::string& day, const std::string& payload) {
    return R"({"id":")" + id + R"(","source":"//t","initiativeId":"I1","activity":"ACTIVITY_IMPROVE","eventTime":"2026-)" +
           day + R"(T00:00:00Z",)" + payload + "}\n";
  };
  const std::string file = Write(
      "overdue.jsonl",
      std::string(kProposed) + "\n" + kBaseline + "\n" +
          line("t", "01-03", R"("targetSet":{"kpi":"k","targetValue":10,"direction":"DIRECTION_INCREASE","deadline":"2026-01-20T00:00:00Z"})") +
          line("m1", "01-25", R"("kpiMeasured":{"kpi":"k","value":12})") +
          line("m2", "01-26", R"("kpiMeasured":{"kpi":"k","value":4})") +
          line("m3", "01-27", R"("kpiMeasured":{"kpi":"k","value":5})"));
  ASSERT_EQ(Replay(file), kExitOk) << err_.str();
  int firing = 0, resolved = 0;
  for (const auto& l : OutLines()) {
    if (l.find("ALERT_KIND_TARGET_OVERDUE") == std::string::npos) continue;
    if (l.find("ALERT_STATE_FIRING") != std::string::npos) ++firing;
    if (l.find("ALERT_STATE_RESOLVED") != std::string::npos) ++resolved;
  }
  EXPECT_EQ(firing, 2) << out_.str();   // at the deadline, and again once the KPI slid back
  EXPECT_EQ(resolved, 1) << out_.str();  // when the KPI met the target
  std::ostringstream out, err;
  VerifyOptions verify;
  verify.data_dir = (dir_ / "register").string();
  EXPECT_EQ(Verify(verify, out, err), kExitOk) << out.str();
}

TEST_F(CirctlTest, ShowJsonHasTheProjectionAndHistory) {
  ASSERT_EQ(Replay(Write("ok.jsonl", std::string(kProposed) + "\n" + kBaseline + "\n")), kExitOk);
  std::ostringstream out, err;
  ShowOptions show;
  show.data_dir = (dir_ / "register").string();
  show.initiative_id = "I1";
  show.json = true;
  ASSERT_EQ(Show(show, out, err), kExitOk);
  EXPECT_NE(out.str().find(R"("step":"STEP_CURRENT_STATE")"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find(R"("revision":"2")"), std::string::npos) << out.str();
}

TEST_F(CirctlTest, ShowUnknownInitiativeAndMissingRegisterFailWithDistinctCodes) {
  ASSERT_EQ(Replay(Write("ok.jsonl", std::string(kProposed) + "\n")), kExitOk);
  std::ostringstream out, err;
  ShowOptions show;
  show.data_dir = (dir_ / "register").string();
  show.initiative_id = "NOPE";
  EXPECT_EQ(Show(show, out, err), kExitBadInput);
  EXPECT_NE(err.str().find("no initiative 'NOPE'"), std::string::npos);
  VerifyOptions verify;
  verify.data_dir = (dir_ / "does-not-exist").string();
  EXPECT_EQ(Verify(verify, out, err), kExitRegisterError);
  EXPECT_NE(err.str().find("does-not-exist"), std::string::npos) << err.str();
}

TEST_F(CirctlTest, UnreadableFileIsAUsageError) {
  EXPECT_EQ(Replay((dir_ / "missing.jsonl").string()), kExitUsage);
  EXPECT_NE(err_.str().find("cannot read"), std::string::npos);
}

TEST(ModelFlags, BadFlagsAreNamed) {
  model::ModelFlags flags;
  flags.stall_limits = {"plan=5d", "action=12h"};
  auto config = flags.ToConfig();
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->stall_limit[v1::STEP_PLAN].count(), 5 * 86400);
  EXPECT_EQ(config->stall_limit[v1::STEP_ACTION].count(), 12 * 3600);
  flags.stall_limits = {"planning=5d"};
  ASSERT_FALSE(flags.ToConfig().has_value());
  EXPECT_NE(flags.ToConfig().error().message.find("--stall-limit 'planning=5d'"),
            std::string::npos);
  flags.stall_limits = {"plan=5 weeks"};
  EXPECT_FALSE(flags.ToConfig().has_value());
  flags.stall_limits = {};
  flags.momentum_limit = "-3d";
  ASSERT_FALSE(flags.ToConfig().has_value());
  EXPECT_NE(flags.ToConfig().error().message.find("--momentum-limit"), std::string::npos);
}

}  // namespace
}  // namespace cir::services
