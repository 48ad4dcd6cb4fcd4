// circtl, the real binary, with a controlled environment: a flag on the command line beats its
// environment variable for every subcommand and option that has one, the variables still work
// without the flag, and the online commands' output (list pagination, stats) against a scripted
// HTTP server that records what circtl asked.
#include <civetweb.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cir/events/kafka.h"
#include "temp_dir.h"

namespace cir::services {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Every environment variable circtl reads; each run starts with none of them set.
constexpr const char* kCirctlEnv[] = {"CIR_DATA_DIR",   "CIR_STALL_LIMITS", "CIR_MOMENTUM_LIMIT",
                                      "CIRCTL_API",     "CIRCTL_BROKERS",   "CIRCTL_API_TOKEN"};

// An HTTP server on loopback that answers circtl's API calls from a script and records each
// request as "METHOD /path?query".
class ScriptedApi {
 public:
  ScriptedApi() {
    static std::once_flag init;
    std::call_once(init, [] { mg_init_library(0); });
    const char* options[] = {"listening_ports", "127.0.0.1:0", "num_threads", "2", nullptr};
    mg_callbacks callbacks{};
    ctx_ = mg_start(&callbacks, this, options);
    if (ctx_ == nullptr) return;
    mg_set_request_handler(ctx_, "/", &ScriptedApi::Handle, this);
    mg_server_port ports[1];
    if (mg_get_server_ports(ctx_, 1, ports) == 1) port_ = ports[0].port;
  }
  ~ScriptedApi() {
    if (ctx_) mg_stop(ctx_);
  }
  std::string url() const { return port_ ? "http://127.0.0.1:" + std::to_string(port_) : ""; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  static int Handle(mg_connection* conn, void* data) {
    auto* self = static_cast<ScriptedApi*>(data);
    const mg_request_info* info = mg_get_request_info(conn);
    std::string target = info->local_uri ? info->local_uri : "";
    if (info->query_string) target += std::string("?") + info->query_string;
    {
      std::lock_guard lock(self->mu_);
      self->requests_.push_back(std::string(info->request_method) + " " + target);
    }
    char buffer[4096];
    while (mg_read(conn, buffer, sizeof buffer) > 0) {
    }
    int status = 200;
    json body = json::object();
    const std::string path = info->local_uri ? info->local_uri : "";
    if (path == "/v1/initiatives") {
      // Two pages of one initiative each.
      const bool second = target.find("page_token=page%2F2") != std::string::npos;
      body = {{"initiatives", json::array({{{"initiative_id", second ? "SECOND" : "FIRST"},
                                             {"step", "STEP_PLAN"},
                                             {"iteration", 1},
                                             {"owner", "o"}}})},
              {"total_matching", 2}};
      if (!second) body["next_page_token"] = "page/2";
    } else if (path == "/v1/register/stats") {
      body = {{"initiatives", 2},
              {"by_step", {{"STEP_MOMENTUM", 1}, {"STEP_CLOSED", 1}}},
              {"by_outcome", {{"OUTCOME_SUCCESSFUL", 1}}},
              {"alerts_firing_by_kind",
               {{"ALERT_KIND_BENEFIT_EROSION", 1}, {"ALERT_KIND_MOMENTUM_NOT_SUSTAINED", 12}}},
              {"cycle_time_by_step",
               {{"STEP_CURRENT_STATE", {{"mean_seconds", 86400.0}, {"visits", 2}}}}}};
    } else if (path == "/v1/events") {
      status = 202;
      body = {{"accepted", json::array()}, {"topic", "cir.value-chain"}};
    } else if (path == "/v1/alerts") {
      body = {{"alerts", json::array()}, {"state", "firing"}};
    } else if (path.ends_with("/events")) {
      body = {{"events", json::array()}, {"total", 0}};
    } else if (path.ends_with("/transitions")) {
      body = {{"transitions",
               json::array({{{"to_step", "STEP_VISION"}, {"iteration", 1},
                             {"time", "2026-01-01T00:00:00Z"}},
                            {{"from_step", "STEP_VISION"}, {"to_step", "STEP_PLAN"},
                             {"iteration", 1}, {"time", "2026-01-02T00:00:00Z"}}})},
              {"total", 2}};
    } else {
      body = {{"initiative", {{"initiative_id", "X"}}}, {"principles", json::array()},
              {"targets", json::array()}};
    }
    const std::string text = body.dump();
    mg_printf(conn,
              "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              status, text.size());
    mg_write(conn, text.data(), text.size());
    return status;
  }

  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

class CirctlCliTest : public ::testing::Test {
 protected:
  // Runs circtl with exactly `env` of its variables set (the others unset) and `args`.
  Outcome Circtl(const std::map<std::string, std::string>& env, const std::string& args) {
    std::string command = "env";
    for (const char* name : kCirctlEnv) command += std::string(" -u ") + name;
    for (const auto& [name, value] : env) command += " " + name + "=" + Quote(value);
    command += " " + Quote(CIR_CIRCTL_BINARY) + " " + args + " >" + Quote(Path("out")) + " 2>" +
               Quote(Path("err")) + " </dev/null";
    const int status = std::system(command.c_str());
    Outcome run;
    run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(Path("out"));
    run.err = ReadFile(Path("err"));
    return run;
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::string Scenario() {
    const std::string path = Path("events.jsonl");
    std::ofstream(path)
        << R"({"id":"p1","source":"//t","initiativeId":"I1","activity":"ACTIVITY_PLAN","eventTime":"2026-01-01T00:00:00Z","initiativeProposed":{"title":"t","vision":"v","organisationalGoal":"g","owner":"o","registerLevel":"REGISTER_LEVEL_TEAM"}})"
        << "\n"
        << R"({"id":"b1","source":"//t","initiativeId":"I1","activity":"ACTIVITY_DELIVER_SUPPORT","eventTime":"2026-03-01T00:00:00Z","baselineMeasured":{"kpi":"k","value":5,"unit":"u","method":"MEASUREMENT_METHOD_AUDIT"}})"
        << "\n";
    return path;
  }

  // The server a flag names, and one only an environment variable names (started on first use:
  // stopping a CivetWeb server takes a while).
  ScriptedApi& Used() { return Started(used_); }
  ScriptedApi& Ignored() { return Started(ignored_); }

  ::cir::testing::TempDir temp_{"circtl-cli"};
  const fs::path dir_ = temp_.path();

 private:
  static ScriptedApi& Started(std::unique_ptr<ScriptedApi>& api) {
    if (!api) api = std::make_unique<ScriptedApi>();
    EXPECT_GT(api->url().size(), std::string("http://127.0.0.1:").size());
    return *api;
  }
  std::unique_ptr<ScriptedApi> used_, ignored_;
};

// ---- offline: --data-dir (CIR_DATA_DIR), --stall-limit (CIR_STALL_LIMITS),
// ---- --momentum-limit (CIR_MOMENTUM_LIMIT)

TEST_F(CirctlCliTest, ReplayDataDirFlagBeatsTheEnvironment) {
  const Outcome run = Circtl({{"CIR_DATA_DIR", Path("from-env")}},
                         "replay --data-dir " + Path("from-flag") + " " + Scenario());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(fs::exists(Path("from-flag")));
  EXPECT_FALSE(fs::exists(Path("from-env")));
}

TEST_F(CirctlCliTest, DataDirFromTheEnvironmentWhenNoFlag) {
  const Outcome run = Circtl({{"CIR_DATA_DIR", Path("from-env")}}, "replay " + Scenario());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(fs::exists(Path("from-env")));
  for (const char* command : {"show I1", "verify", "rebuild"}) {
    const Outcome other = Circtl({{"CIR_DATA_DIR", Path("from-env")}}, command);
    EXPECT_EQ(other.code, 0) << command << ": " << other.err;
  }
}

TEST_F(CirctlCliTest, ShowVerifyRebuildDataDirFlagBeatsTheEnvironment) {
  ASSERT_EQ(Circtl({}, "replay --data-dir " + Path("from-flag") + " " + Scenario()).code, 0);
  // The environment names a directory without a register: using it fails with exit code 3.
  const std::map<std::string, std::string> env{{"CIR_DATA_DIR", Path("from-env")}};
  for (const std::string command : {"show I1", "verify", "rebuild"}) {
    const Outcome run = Circtl(env, command + " --data-dir " + Path("from-flag"));
    EXPECT_EQ(run.code, 0) << command << ": " << run.err;
    EXPECT_EQ(run.err.find("from-env"), std::string::npos) << command << ": " << run.err;
  }
  EXPECT_FALSE(fs::exists(Path("from-env")));
  EXPECT_NE(Circtl(env, "show I1").code, 0);  // the variable alone is used, and has no register
}

TEST_F(CirctlCliTest, ModelLimitFlagsBeatTheEnvironment) {
  const std::string data = " --data-dir " + Path("r");
  // A stall limit of 1 day from the flag fires STALLED in VISION before the baseline 59 days
  // later; the environment's (turned off) would not, and its bad momentum limit would stop circtl.
  const std::map<std::string, std::string> env{{"CIR_STALL_LIMITS", "vision=0"},
                                               {"CIR_MOMENTUM_LIMIT", "soon"}};
  Outcome run = Circtl(env, "replay" + data + " --stall-limit vision=1d --momentum-limit 30d " +
                            Scenario());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("ALERT_KIND_STALLED"), std::string::npos) << run.out;
  for (const std::string command : {"verify", "rebuild"}) {
    run = Circtl(env, command + data + " --stall-limit vision=1d --momentum-limit 30d");
    EXPECT_EQ(run.code, 0) << command << ": " << run.out << run.err;
  }
  // Without the flags, the environment's values are used: the bad one is named.
  run = Circtl(env, "verify" + data);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("--momentum-limit"), std::string::npos) << run.err;
}

// ---- online: --api (CIRCTL_API) for every API command, publish's --api and --brokers

TEST_F(CirctlCliTest, ApiFlagBeatsTheEnvironmentForEveryApiCommand) {
  const std::map<std::string, std::string> env{{"CIRCTL_API", Ignored().url()},
                                               {"CIRCTL_API_TOKEN", "t"}};
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"get X --json", "GET /v1/initiatives/X"},
      {"list --json", "GET /v1/initiatives"},
      {"history X --json", "GET /v1/initiatives/X/events?page_size=200"},
      {"alerts --json", "GET /v1/alerts"},
      {"stats --json", "GET /v1/register/stats"},
      {"publish " + Scenario(), "POST /v1/events"},
  };
  std::vector<std::string> want;
  for (const auto& [command, request] : commands) {
    const Outcome run = Circtl(env, command + " --api " + Used().url());
    EXPECT_EQ(run.code, 0) << command << ": " << run.err;
    want.push_back(request);
  }
  EXPECT_EQ(Used().requests(), want);
  EXPECT_TRUE(Ignored().requests().empty());
}

TEST_F(CirctlCliTest, ApiFromTheEnvironmentForEveryApiCommandIncludingPublish) {
  const std::map<std::string, std::string> env{{"CIRCTL_API", Used().url()},
                                               {"CIRCTL_API_TOKEN", "t"}};
  for (const std::string command : {"get X", "list", "history X", "alerts", "stats"}) {
    const Outcome run = Circtl(env, command + " --json");
    EXPECT_EQ(run.code, 0) << command << ": " << run.err;
  }
  const Outcome publish = Circtl(env, "publish " + Scenario());
  EXPECT_EQ(publish.code, 0) << publish.err;
  EXPECT_EQ(Used().requests().size(), 6u);
  EXPECT_EQ(Used().requests().back(), "POST /v1/events");
}

TEST_F(CirctlCliTest, PublishDestinationFlagBeatsEitherVariable) {
  auto mock = events::MockCluster::Start(1);
  ASSERT_TRUE(mock.has_value()) << mock.error().message;
  ASSERT_TRUE((*mock)->CreateTopic("cir.value-chain", 1, 1).has_value());
  // --brokers on the command line, CIRCTL_API in the environment: Kafka, not the API.
  Outcome run = Circtl({{"CIRCTL_API", Ignored().url()}},
                   "publish --brokers " + (*mock)->Bootstraps() + " " + Scenario());
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "published 2 events\n");
  auto reader = events::TopicReader::Create({(*mock)->Bootstraps(), {}}, {"cir.value-chain"},
                                            std::chrono::seconds(10));
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  int records = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (records < 2 && std::chrono::steady_clock::now() < deadline) {
    if ((*reader)->Poll(std::chrono::milliseconds(200))) ++records;
  }
  EXPECT_EQ(records, 2);
  // --api on the command line, CIRCTL_BROKERS (unreachable) in the environment: the API.
  run = Circtl({{"CIRCTL_BROKERS", "127.0.0.1:1"}, {"CIRCTL_API_TOKEN", "t"}},
               "publish --api " + Used().url() + " " + Scenario());
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(Used().requests(), std::vector<std::string>{"POST /v1/events"});
  EXPECT_TRUE(Ignored().requests().empty());
  // Both variables and no flag: ambiguous, a usage error.
  run = Circtl({{"CIRCTL_API", Ignored().url()}, {"CIRCTL_BROKERS", "127.0.0.1:1"}},
               "publish " + Scenario());
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("exactly one"), std::string::npos) << run.err;
}

// ---- list pagination, stats layout, progress

TEST_F(CirctlCliTest, ListJsonNamesTheNextPageAndTheTotal) {
  const std::string api = " --api " + Used().url();
  Outcome run = Circtl({}, "list --json" + api);
  ASSERT_EQ(run.code, 0) << run.err;
  json page = json::parse(run.out);
  EXPECT_EQ(page["initiatives"].size(), 1u);
  EXPECT_EQ(page["total_matching"], 2);
  EXPECT_EQ(page["next_page_token"], "page/2");

  run = Circtl({}, "list --json --page-token page/2" + api);
  ASSERT_EQ(run.code, 0) << run.err;
  page = json::parse(run.out);
  EXPECT_EQ(page["initiatives"][0]["initiative_id"], "SECOND");
  EXPECT_FALSE(page.contains("next_page_token"));

  run = Circtl({}, "list --json --all" + api);
  ASSERT_EQ(run.code, 0) << run.err;
  page = json::parse(run.out);
  ASSERT_EQ(page["initiatives"].size(), 2u);
  EXPECT_EQ(page["initiatives"][1]["initiative_id"], "SECOND");
  EXPECT_EQ(page["total_matching"], 2);
  EXPECT_FALSE(page.contains("next_page_token"));

  run = Circtl({}, "list" + api);  // the table says how to get the rest
  EXPECT_NE(run.out.find("1 of 2 shown; next page: --page-token page/2"), std::string::npos)
      << run.out;
}

TEST_F(CirctlCliTest, StatsSeparatesEveryNameFromItsCount) {
  const Outcome run = Circtl({}, "stats --api " + Used().url());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("BENEFIT_EROSION "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("MOMENTUM_NOT_SUSTAINED 12"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("EROSION1"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("CURRENT_STATE"), std::string::npos) << run.out;
}

TEST_F(CirctlCliTest, HistoryNamesTheStartOfTheFirstTransition) {
  const Outcome run = Circtl({}, "history X --transitions --api " + Used().url());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out,
            "2026-01-01T00:00:00Z  (proposed) -> VISION  iteration 1\n"
            "2026-01-02T00:00:00Z  VISION -> PLAN  iteration 1\n");
}

TEST_F(CirctlCliTest, ProgressOnStderrOnlyWhenAskedOffATerminal) {
  const std::string data = " --data-dir " + Path("r");
  Outcome run = Circtl({}, "replay" + data + " " + Scenario());  // stderr is a file: no progress
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.err.find("lines ("), std::string::npos) << run.err;
  run = Circtl({}, "replay --progress --data-dir " + Path("r2") + " " + Scenario());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.err.find("circtl replay: 2 lines (100%), 2 appended"), std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find('\r'), std::string::npos);  // plain lines off a terminal
  for (const std::string command : {"verify", "rebuild"}) {
    run = Circtl({}, command + " --progress" + data);
    ASSERT_EQ(run.code, 0) << run.err;
    // Two events and the VISION stall timer that fired between them.
    EXPECT_NE(run.err.find("circtl " + command + ": 3 of 3 events folded (100%)"),
              std::string::npos)
        << run.err;
    run = Circtl({}, command + data);
    EXPECT_EQ(run.err.find("events folded"), std::string::npos) << run.err;
  }
}

}  // namespace
}  // namespace cir::services
