// The read API over real HTTP, against a cird on the mock cluster that has taken in the sample
// scenario (api_fixture.h): every endpoint, every filter, pagination, the write door, and bad
// requests with their status and JSON error body. Raw HTTP and circtl against the same cird are
// in api_clients_test.cc.
#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "api_fixture.h"

namespace cir::testing {
namespace {

TEST_F(ApiTest, EveryEndpointAndFilter) {
  EXPECT_EQ(Ids("/v1/initiatives"), (IdList{"CHANGE-FAIL", "CSAT", "DEPLOY-LEAD", "FIRST-CONTACT",
                                            "INC-MTTR", "ONCALL-PAGES"}));
  EXPECT_EQ(Ids("/v1/initiatives?step=closed"),
            (IdList{"CHANGE-FAIL", "DEPLOY-LEAD", "FIRST-CONTACT", "INC-MTTR", "ONCALL-PAGES"}));
  EXPECT_EQ(Ids("/v1/initiatives?step=STEP_ACTION"), (IdList{"CSAT"}));
  EXPECT_EQ(Ids("/v1/initiatives?outcome=successful"),
            (IdList{"CHANGE-FAIL", "DEPLOY-LEAD", "FIRST-CONTACT", "INC-MTTR"}));
  EXPECT_EQ(Ids("/v1/initiatives?outcome=unsuccessful"), (IdList{"ONCALL-PAGES"}));
  EXPECT_EQ(Ids("/v1/initiatives?activity=engage"), (IdList{"CSAT"}));
  EXPECT_EQ(Ids("/v1/initiatives?owner=platform"), (IdList{"CHANGE-FAIL", "DEPLOY-LEAD"}));
  EXPECT_EQ(Ids("/v1/initiatives?tag=incidents"), (IdList{"INC-MTTR"}));
  EXPECT_EQ(Ids("/v1/initiatives?alert_kind=stalled"), (IdList{"CSAT"}));
  EXPECT_EQ(Ids("/v1/initiatives?alert_kind=benefit_erosion"), (IdList{"DEPLOY-LEAD"}));
  EXPECT_EQ(Ids("/v1/initiatives?step=closed&owner=platform&outcome=successful"),
            (IdList{"CHANGE-FAIL", "DEPLOY-LEAD"}));
  EXPECT_EQ(Ids("/v1/initiatives?step=vision"), IdList{});
  // Sorted by when they were last updated: FIRST-CONTACT (April 14), INC-MTTR (April 15),
  // CSAT (May 1), CHANGE-FAIL (May 4), ONCALL-PAGES (May 20: lessons after closure),
  // DEPLOY-LEAD (June) — ascending.
  EXPECT_EQ(Ids("/v1/initiatives?sort=updated_at"),
            (IdList{"FIRST-CONTACT", "INC-MTTR", "CSAT", "CHANGE-FAIL", "ONCALL-PAGES",
                    "DEPLOY-LEAD"}));
  EXPECT_EQ(Ids("/v1/initiatives?sort=created_at"),
            (IdList{"INC-MTTR", "DEPLOY-LEAD", "ONCALL-PAGES", "CSAT", "FIRST-CONTACT",
                    "CHANGE-FAIL"}));

  auto one = Get("/v1/initiatives/CSAT");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body["initiative"]["step"], "STEP_ACTION");
  EXPECT_EQ(one.body["principles"],
            (json{"PRINCIPLE_FOCUS_ON_VALUE", "PRINCIPLE_PROGRESS_ITERATIVELY_WITH_FEEDBACK",
                  "PRINCIPLE_COLLABORATE_AND_PROMOTE_VISIBILITY"}));
  ASSERT_EQ(one.body["targets"].size(), 1u);
  EXPECT_EQ(one.body["targets"][0]["kpi"], "csat_score");
  EXPECT_DOUBLE_EQ(one.body["targets"][0]["progress"].get<double>(), (34.0 - 32.0) / (45 - 32));
  EXPECT_EQ(one.body["targets"][0]["met"], false);

  auto events = Get("/v1/initiatives/INC-MTTR/events?page_size=200");
  ASSERT_EQ(events.status, 200);
  EXPECT_EQ(events.body["total"], 13);
  EXPECT_EQ(events.body["events"][0]["value_chain"]["id"], "inc-mttr-001");

  // Transitions, refolded from the history, are exactly the ones emitted (the golden file).
  auto transitions = Get("/v1/initiatives/CHANGE-FAIL/transitions?page_size=200");
  ASSERT_EQ(transitions.status, 200);
  std::vector<std::string> want;
  std::ifstream expected(CIR_SAMPLE_EXPECTED);
  for (std::string line; std::getline(expected, line);) {
    auto o = json::parse(line);
    if (o.contains("transition") && o["transition"]["initiative_id"] == "CHANGE-FAIL") {
      want.push_back(o["transition"].dump());
    }
  }
  std::vector<std::string> got;
  for (const auto& t : transitions.body["transitions"]) got.push_back(t.dump());
  EXPECT_EQ(got, want);

  // Issue 15: an early achievement names the action it did not need; lessons after closure apply.
  auto early = Get("/v1/initiatives/FIRST-CONTACT");
  ASSERT_EQ(early.status, 200);
  ASSERT_EQ(early.body["initiative"]["actions"].size(), 2u);
  EXPECT_EQ(early.body["initiative"]["actions"][1]["action_id"], "crm");
  EXPECT_EQ(early.body["initiative"]["actions"][1]["not_needed"], true);
  auto early_transitions = Get("/v1/initiatives/FIRST-CONTACT/transitions?page_size=200");
  ASSERT_EQ(early_transitions.status, 200);
  EXPECT_EQ(early_transitions.body["transitions"][5]["to_step"], "STEP_REVIEW");
  EXPECT_EQ(early_transitions.body["transitions"][5]["actions_not_needed"], json{"crm"});
  auto lessons = Get("/v1/initiatives/ONCALL-PAGES/events?page_size=200");
  ASSERT_EQ(lessons.status, 200);
  ASSERT_EQ(lessons.body["total"], 10);
  EXPECT_EQ(lessons.body["events"][8]["timer"]["kind"], "ALERT_KIND_LESSONS_NOT_RECORDED");
  EXPECT_EQ(lessons.body["events"][9]["disposition"], "DISPOSITION_APPLIED");
  auto failed = Get("/v1/initiatives/ONCALL-PAGES");
  EXPECT_EQ(failed.body["initiative"]["momentum"], json{"MOMENTUM_KIND_LESSONS_LEARNED"});

  auto alerts = Get("/v1/alerts?state=firing");
  ASSERT_EQ(alerts.status, 200);
  EXPECT_EQ(alerts.body["alerts"].size(), 3u);
  auto stalled = Get("/v1/alerts?kind=STALLED");
  ASSERT_EQ(stalled.body["alerts"].size(), 1u);
  EXPECT_EQ(stalled.body["alerts"][0]["initiative_id"], "CSAT");

  auto stats = Get("/v1/register/stats");
  ASSERT_EQ(stats.status, 200);
  EXPECT_EQ(stats.body["initiatives"], 6);
  EXPECT_EQ(stats.body["by_step"]["STEP_CLOSED"], 5);
  EXPECT_EQ(stats.body["by_outcome"]["OUTCOME_SUCCESSFUL"], 4);
  EXPECT_EQ(stats.body["by_outcome"]["OUTCOME_UNSUCCESSFUL"], 1);
  EXPECT_EQ(stats.body["alerts_firing_by_kind"]["ALERT_KIND_TARGET_AT_RISK"], 1);
  EXPECT_GT(stats.body["cycle_time_by_step"]["STEP_PLAN"]["mean_seconds"].get<double>(), 0);
}

TEST_F(ApiTest, PaginationHasNoGapsOrRepeats) {
  for (const std::string sort : {"id", "updated_at", "step"}) {
    std::vector<std::string> seen;
    std::string token;
    int pages = 0;
    do {
      auto r = Get("/v1/initiatives?sort=" + sort + "&page_size=1" +
                   (token.empty() ? "" : "&page_token=" + token));
      ASSERT_EQ(r.status, 200) << r.body.dump();
      ASSERT_EQ(r.body["initiatives"].size(), 1u);
      seen.push_back(r.body["initiatives"][0]["initiative_id"]);
      token = r.body.value("next_page_token", "");
      ASSERT_LT(++pages, 10);
    } while (!token.empty());
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(seen.size(), 6u) << sort;
    EXPECT_EQ(unique.size(), 6u) << sort;
    EXPECT_EQ(seen, Ids("/v1/initiatives?sort=" + sort)) << sort;
  }
  // Histories page too: 13 events in pages of 5.
  std::vector<std::string> ids;
  std::string token;
  do {
    auto r = Get("/v1/initiatives/INC-MTTR/events?page_size=5" +
                 (token.empty() ? "" : "&page_token=" + token));
    ASSERT_EQ(r.status, 200);
    for (const auto& e : r.body["events"]) ids.push_back(e["revision"]);
    token = r.body.value("next_page_token", "");
  } while (!token.empty());
  EXPECT_EQ(ids.size(), 13u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 13u);
}

TEST_F(ApiTest, PublishThroughTheApiThenRead) {
  const std::string event =
      R"({"id":"api-1","source":"//api-test","initiativeId":"API-1","activity":"ACTIVITY_PLAN","eventTime":"2026-07-01T00:00:00Z","initiativeProposed":{"title":"t","vision":"v","organisationalGoal":"g","owner":"api","registerLevel":"REGISTER_LEVEL_TEAM"}})";
  auto r = Call("POST", "/v1/events", event,
                {{"Content-Type", "application/json"}, {"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_EQ(r.status, 202) << r.body.dump();
  EXPECT_EQ(r.body["accepted"][0]["id"], "api-1");
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/initiatives/API-1").status == 200; },
                      milliseconds(30000)));
  EXPECT_EQ(Get("/v1/initiatives/API-1").body["initiative"]["step"], "STEP_VISION");

  // An id holding '/' (and a space) is stored as is and addressed percent-encoded.
  const std::string slashed =
      R"({"id":"api-2","source":"//api-test","initiativeId":"team a/API-2","activity":"ACTIVITY_PLAN","eventTime":"2026-07-01T00:00:00Z","initiativeProposed":{"title":"t","vision":"v","organisationalGoal":"g","owner":"api","registerLevel":"REGISTER_LEVEL_TEAM"}})";
  r = Call("POST", "/v1/events", slashed,
           {{"Content-Type", "application/json"}, {"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_EQ(r.status, 202) << r.body.dump();
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/initiatives/team%20a%2FAPI-2").status == 200; },
                      milliseconds(30000)));
  EXPECT_EQ(Get("/v1/initiatives/team%20a%2FAPI-2").body["initiative"]["initiative_id"],
            "team a/API-2");
  EXPECT_EQ(Get("/v1/initiatives/team%20a%2FAPI-2/events").body["total"], 1);
  EXPECT_EQ(Get("/v1/initiatives/team%20a/API-2").status, 404);  // a separator, not the id
}

struct BadRequest {
  const char* what;
  std::string method, path, body;
  std::map<std::string, std::string> headers;
  int status;
  const char* message_has;
};

TEST_F(ApiTest, BadRequestsGetA4xxWithAJsonErrorBody) {
  const std::map<std::string, std::string> auth = {{"Content-Type", "application/json"},
                                                   {"Authorization", std::string("Bearer ") + kToken}};
  const std::string valid =
      R"({"id":"x","source":"//s","initiativeId":"X","activity":"ACTIVITY_PLAN","eventTime":"2026-07-01T00:00:00Z","kpiMeasured":{"kpi":"k","value":1}})";
  const std::vector<BadRequest> cases = {
      {"bad JSON", "POST", "/v1/events", "{nope", auth, 400, "not a JSON object"},
      {"unknown field", "POST", "/v1/events", valid.substr(0, valid.size() - 1) + R"(,"colour":"red"})",
       auth, 400, "invalid"},
      {"missing id", "POST", "/v1/events",
       R"({"source":"//s","initiativeId":"X","activity":"ACTIVITY_PLAN","eventTime":"2026-07-01T00:00:00Z","kpiMeasured":{"kpi":"k","value":1}})",
       auth, 400, "invalid"},
      {"oversized body", "POST", "/v1/events", std::string(2 << 20, ' '), auth, 413, "body"},
      {"bad page token", "GET", "/v1/initiatives?page_token=!!!", "", {}, 400, "page_token"},
      {"token of another query", "GET", "/v1/initiatives?step=closed&page_token=YWJj", "", {}, 400,
       "page_token"},
      {"unknown initiative", "GET", "/v1/initiatives/NOPE", "", {}, 404, "NOPE"},
      {"wrong method", "DELETE", "/v1/initiatives", "", {}, 405, "not allowed"},
      {"bad token", "POST", "/v1/events", valid,
       {{"Content-Type", "application/json"}, {"Authorization", "Bearer wrong"}}, 401, "token"},
      {"no token", "POST", "/v1/events", valid, {{"Content-Type", "application/json"}}, 401,
       "Authorization"},
      {"wrong content type", "POST", "/v1/events", valid,
       {{"Content-Type", "text/plain"}, {"Authorization", std::string("Bearer ") + kToken}}, 415,
       "application/json"},
      {"unknown query parameter", "GET", "/v1/initiatives?colour=red", "", {}, 400, "colour"},
      {"page size too large", "GET", "/v1/initiatives?page_size=5000", "", {}, 400, "page_size"},
      {"unknown step", "GET", "/v1/initiatives?step=dreaming", "", {}, 400, "dreaming"},
      {"resolved alerts", "GET", "/v1/alerts?state=resolved", "", {}, 400, "firing"},
      {"unknown path", "GET", "/v2/initiatives", "", {}, 404, "no such path"},
      {"unknown sub-resource", "GET", "/v1/initiatives/CSAT/secrets", "", {}, 404, "no such path"},
      // No path leaves /v1: dot segments, literal or encoded, are refused before routing.
      {"path escape", "GET", "/v1/initiatives/../../etc/passwd", "", {}, 400, "'..'"},
      {"escape to /metrics", "GET", "/v1/../metrics", "", {}, 400, "'..'"},
      {"encoded escape to /metrics", "GET", "/v1/initiatives/%2e%2e/%2e%2e/metrics", "", {}, 400,
       "'..'"},
      // %2F is a '/' inside an id (ids with '/' are addressable), never a separator.
      {"encoded slash", "GET", "/v1/initiatives/x%2F..%2F..%2Fetc", "", {}, 404,
       "no initiative 'x/../../etc'"},
      // Ids never hold NUL (the register cannot key it; ingest dead-letters such events), and
      // CSAT%00junk is never taken for CSAT.
      {"NUL in an id", "GET", "/v1/initiatives/%00abc", "", {}, 400, "NUL"},
      {"NUL after a real id", "GET", "/v1/initiatives/CSAT%00junk", "", {}, 400, "NUL"},
      {"id too long", "GET", "/v1/initiatives/" + std::string(129, 'x'), "", {}, 400, "UTF-8"},
      {"invalid UTF-8 in an id", "GET", "/v1/initiatives/CSAT%FF", "", {}, 400, "UTF-8"},
      {"deep JSON", "POST", "/v1/events", std::string(300, '[') + std::string(300, ']'), auth, 400,
       "deeper than 64"},
      {"duplicate keys", "POST", "/v1/events", R"({"id":"x","id":"y"})", auth, 400,
       "duplicate key"},
      {"media type with a suffix", "POST", "/v1/events", valid,
       {{"Content-Type", "application/jsonxyz"}, {"Authorization", std::string("Bearer ") + kToken}},
       415, "application/json"},
  };
  for (const auto& c : cases) {
    auto r = Call(c.method, c.path, c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body.dump();
    ASSERT_TRUE(r.body.is_object() && r.body.contains("error")) << c.what;
    EXPECT_EQ(r.body["error"]["code"], c.status) << c.what;
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find(c.message_has), std::string::npos)
        << c.what << ": " << r.body.dump();
  }
  // A batch with bad events names each of them by index, and publishes none.
  auto r = Call("POST", "/v1/events",
                R"({"events":[)" + valid + R"(,{"id":"y"},)" + valid + "]}", auth);
  EXPECT_EQ(r.status, 400);
  ASSERT_EQ(r.body["error"]["details"].size(), 1u);
  EXPECT_EQ(r.body["error"]["details"][0]["index"], 1);
}

}  // namespace
}  // namespace cir::testing
