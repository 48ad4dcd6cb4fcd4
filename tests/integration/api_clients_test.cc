// Clients of the read API against a cird that has taken in the sample scenario (api_fixture.h):
// raw sockets for the HTTP details (exact bytes, every header), then circtl, the real binary,
// against the API and Kafka.
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>

#include "api_fixture.h"
#include "raw_http.h"

namespace cir::testing {
namespace {

// The HTTP details curl shows, against the real cird (raw sockets: exact bytes, every header).
TEST_F(ApiTest, HttpConformance) {
  auto r = Exchange(port_, Request("HEAD", "/v1/initiatives/CSAT"));
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, "");
  EXPECT_GT(std::stoul(r.headers["content-length"]), 100u);
  EXPECT_EQ(Exchange(port_, Request("HEAD", "/livez")).status, 200);
  r = Exchange(port_, Request("OPTIONS", "*"));
  EXPECT_EQ(r.status, 204) << r.raw;
  EXPECT_FALSE(r.headers["allow"].empty());
  r = Exchange(port_, Request("OPTIONS", "/v1/events"));
  EXPECT_EQ(r.status, 204) << r.raw;
  EXPECT_EQ(r.headers["allow"], "OPTIONS, POST");
  r = Exchange(port_, Request("DELETE", "/v1/initiatives"));
  EXPECT_EQ(r.status, 405) << r.raw;
  EXPECT_EQ(r.headers["allow"], "GET, HEAD, OPTIONS");
  for (const std::string method : {"TRACE", "FOO"}) {
    r = Exchange(port_, Request(method, "/v1/initiatives"));
    EXPECT_EQ(r.status, 501) << r.raw;
    EXPECT_EQ(r.headers["content-type"], "application/json") << r.raw;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], 501) << r.raw;
  }
  // Sent as is (curl would resolve the dots itself): never /metrics.
  for (const std::string path : {"/v1/../metrics", "/v1/initiatives/%2e%2e/%2e%2e/metrics"}) {
    r = Exchange(port_, Request("GET", path));
    EXPECT_EQ(r.status, 400) << path << ": " << r.raw;
    EXPECT_EQ(r.body.find("cir_"), std::string::npos) << path;
  }
  // Error bodies are valid UTF-8 whatever the request held.
  r = Exchange(port_, Request("GET", "/v1/initiatives/%FF%FE/events"));
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded()) << r.raw;
  r = Exchange(port_, Request("GET", "/nope/%C3%28"));
  EXPECT_EQ(r.status, 404) << r.raw;
  EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded()) << r.raw;
}

TEST_F(ApiTest, CirctlAgainstTheApiAndKafka) {
  const std::string api = "--api " + base_;
  auto [code, out] = Circtl("list " + api + " --step closed");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("CHANGE-FAIL"), std::string::npos) << out;
  EXPECT_EQ(out.find("CSAT"), std::string::npos) << out;

  std::tie(code, out) = Circtl("get " + api + " CSAT");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("step       ACTION"), std::string::npos) << out;
  EXPECT_NE(out.find("progress 15%"), std::string::npos) << out;

  std::tie(code, out) = Circtl("history " + api + " CHANGE-FAIL --transitions");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("REVIEW -> PLAN  iteration 2"), std::string::npos) << out;

  std::tie(code, out) = Circtl("alerts " + api + " --kind stalled --json");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(json::parse(out)["alerts"].size(), 1u);

  std::tie(code, out) = Circtl("stats " + api);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("events appended  60"), std::string::npos) << out;
  EXPECT_NE(out.find("firing LESSONS_NOT_RECORDED   0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("firing TARGET_AT_RISK         1\n"), std::string::npos) << out;

  std::tie(code, out) = Circtl("get " + api + " NOPE");
  EXPECT_EQ(code, 1) << out;  // not found: exit 1
  std::tie(code, out) = Circtl("get --api http://127.0.0.1:1 CSAT");
  EXPECT_EQ(code, 3) << out;  // unreachable: exit 3

  // publish to Kafka directly, then get shows the new state.
  const std::string file = (dir_ / "new.jsonl").string();
  std::ofstream(file)
      << R"({"id":"c-1","source":"//circtl-test","initiativeId":"CLI-1","activity":"ACTIVITY_PLAN","eventTime":"2026-07-01T00:00:00Z","initiativeProposed":{"title":"t","vision":"v","organisationalGoal":"g","owner":"cli","registerLevel":"REGISTER_LEVEL_TEAM"}})"
      << "\n{broken\n"
      << R"({"id":"c-2","source":"//circtl-test","initiativeId":"CLI-1","activity":"ACTIVITY_ENGAGE","eventTime":"2026-07-02T00:00:00Z","baselineMeasured":{"kpi":"k","value":3,"method":"MEASUREMENT_METHOD_SURVEY"}})"
      << "\n";
  std::tie(code, out) = Circtl("publish --brokers " + mock_->Bootstraps() + " " + file);
  EXPECT_EQ(code, 1) << out;  // one bad line
  EXPECT_NE(out.find(file + ":2:"), std::string::npos) << out;
  EXPECT_NE(out.find("published 2 events, 1 bad"), std::string::npos) << out;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto [c, o] = Circtl("get " + api + " CLI-1");
        return c == 0 && o.find("step       CURRENT_STATE") != std::string::npos;
      },
      milliseconds(30000)));

  // publish through the API.
  setenv("CIRCTL_API_TOKEN", kToken, 1);
  std::tie(code, out) = Circtl(
      "publish " + api +
      R"( --event '{"id":"c-3","source":"//circtl-test","initiativeId":"CLI-1","activity":"ACTIVITY_IMPROVE","eventTime":"2026-07-03T00:00:00Z","targetSet":{"kpi":"k","targetValue":5,"direction":"DIRECTION_INCREASE","deadline":"2026-12-01T00:00:00Z"}}')");
  unsetenv("CIRCTL_API_TOKEN");
  EXPECT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto [c, o] = Circtl("get " + api + " CLI-1");
        return c == 0 && o.find("step       TARGET_STATE") != std::string::npos;
      },
      milliseconds(30000)));
}

}  // namespace
}  // namespace cir::testing
