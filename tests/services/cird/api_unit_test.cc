// The register API in-process: a real register in a temp directory, the Api's routes on an
// HttpServer on 127.0.0.1:0, and one request per endpoint with the status and JSON body it must
// answer (ops/openapi.yaml): list with pages, one initiative with its targets' progress, its
// events and transitions, alerts, stats, the errors (503 before the register, 404, 400), and the
// write door closed without a token.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "api.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "event_builders.h"
#include "http_server.h"
#include "json_reply.h"
#include "raw_http.h"
#include "temp_dir.h"

namespace cir::testing {
namespace {

using nlohmann::json;

class ApiUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_ = OpenTestRegister(dir_);
    cird::ApiOptions api_options;
    api_options.default_page_size = 50;
    api_ = std::make_unique<cird::Api>(api_options, *projector_);
    api_->Register(server_);
    ASSERT_TRUE(server_.Start("127.0.0.1", 0).has_value());
  }
  void TearDown() override {
    server_.Stop();
    api_->Attach(nullptr);
  }

  // A and B proposed; A with a baseline of 10, a target of >= 20 and a measurement of 25.
  void Fill() {
    auto target = Event("A", "A-3", 2);
    target.mutable_target_set()->set_kpi("k");
    target.mutable_target_set()->set_target_value(20);
    target.mutable_target_set()->set_direction(v1::DIRECTION_INCREASE);
    target.mutable_target_set()->mutable_deadline()->set_seconds(kDayZeroSeconds + 900 * 86400);
    auto measured = Event("A", "A-4", 3);
    measured.mutable_kpi_measured()->set_kpi("k");
    measured.mutable_kpi_measured()->set_value(25);
    storage::AppendRequest request;
    std::int64_t offset = 0;
    for (auto e : {Proposed("A", "A-1", 0), Baseline("A", "A-2", 1), target, measured,
                   Proposed("B", "B-1", 4)}) {
      request.events.push_back({std::move(e), "cir.value-chain", offset++, std::nullopt});
    }
    request.offsets.emplace_back("cir.value-chain", offset);
    auto appended = reg_->Append(request, *projector_);
    ASSERT_TRUE(appended.has_value()) << appended.error().ToString();
    ASSERT_EQ(appended->appended, 5u);
    api_->Attach(reg_.get());
  }

  RawReply Get(const std::string& target) {
    return Exchange(server_.port(), Request("GET", target));
  }
  // GET `target`, which must answer 200; its JSON body.
  json GetOk(const std::string& target) {
    const RawReply r = Get(target);
    EXPECT_EQ(r.status, 200) << r.raw;
    return Body(r);
  }

  TempDir dir_{"api-unit"};
  std::unique_ptr<storage::Register> reg_;
  std::unique_ptr<storage::Projector> projector_ = model::MakeProjector(model::Config{});
  std::unique_ptr<cird::Api> api_;
  cird::HttpServer server_;
};

TEST_F(ApiUnitTest, EveryRouteIs503UntilTheRegisterIsAttached) {
  for (const char* path : {"/v1/initiatives", "/v1/initiatives/A", "/v1/initiatives/A/events",
                           "/v1/alerts", "/v1/register/stats"}) {
    ExpectJsonError(Get(path), 503, "not open yet");
  }
}

TEST_F(ApiUnitTest, ListPagesWithOpaqueTokens) {
  Fill();
  json page = GetOk("/v1/initiatives?page_size=1");
  ASSERT_EQ(page["initiatives"].size(), 1u);
  EXPECT_EQ(page["initiatives"][0]["initiative_id"], "A");
  EXPECT_EQ(page["total_matching"], 2);
  ASSERT_TRUE(page.contains("next_page_token"));
  page = GetOk("/v1/initiatives?page_size=1&page_token=" +
               page["next_page_token"].get<std::string>());
  ASSERT_EQ(page["initiatives"].size(), 1u);
  EXPECT_EQ(page["initiatives"][0]["initiative_id"], "B");
  EXPECT_FALSE(page.contains("next_page_token"));
  // A token of another query is refused; so are unknown parameters and values.
  const std::string token =
      Body(Get("/v1/initiatives?page_size=1"))["next_page_token"].get<std::string>();
  ExpectJsonError(Get("/v1/initiatives?sort=step&page_size=1&page_token=" + token), 400,
              "page_token");
  ExpectJsonError(Get("/v1/initiatives?colour=red"), 400, "unknown query parameter 'colour'");
  ExpectJsonError(Get("/v1/initiatives?step=sideways"), 400, "is not a step");
  ExpectJsonError(Get("/v1/initiatives?page_size=0"), 400, "page_size");
}

// The unfiltered list in id order reads a page's worth per partition and merges them; a filter
// takes the scanning path. Both page the same 40 initiatives, spread over 4 partitions out of id
// order, in id order, with the same total.
TEST_F(ApiUnitTest, TheUnfilteredListPagesAcrossPartitionsInIdOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "I-%02d", i);
    ids.push_back(id);
    storage::AppendRequest request;
    request.partition = static_cast<std::uint32_t>((i * 7) % 4);
    request.events.push_back({Proposed(id, std::string(id) + "-1", 0), "cir.value-chain", i,
                              std::nullopt});
    ASSERT_TRUE(reg_->Append(request, *projector_).has_value());
  }
  api_->Attach(reg_.get());
  for (const std::string query : {"page_size=7", "step=vision&page_size=7"}) {
    std::vector<std::string> got;
    std::string token;
    for (int pages = 0; pages < 10; ++pages) {
      json page = GetOk("/v1/initiatives?" + query + (token.empty() ? "" : "&page_token=" + token));
      EXPECT_EQ(page["total_matching"], 40) << query;
      for (const auto& i : page["initiatives"]) got.push_back(i["initiative_id"]);
      EXPECT_LE(page["initiatives"].size(), 7u);
      if (!page.contains("next_page_token")) break;
      token = page["next_page_token"].get<std::string>();
    }
    EXPECT_EQ(got, ids) << query;
  }
}

// Every path of the list (storage's indexes: a term, a sort field, the fewest-initiatives term
// with the other filters checked) against the same list worked out from a scan of every
// projection: the same ids in the same order over pages of 7, and the same total_matching.
TEST_F(ApiUnitTest, EveryFilterAndSortPagesWhatAScanOfTheProjectionsGives) {
  const v1::Activity activities[] = {v1::ACTIVITY_IMPROVE, v1::ACTIVITY_PLAN,
                                     v1::ACTIVITY_DELIVER_SUPPORT};
  for (int i = 0; i < 60; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "I-%02d", (i * 37) % 60);
    storage::AppendRequest request;
    request.partition = static_cast<std::uint32_t>((i * 7) % 4);
    const std::string source = "//test/" + std::string(id);
    request.events.push_back(
        {WithProposal(EventAt(id, "p", kDayZeroSeconds + ((i * 13) % 17) * 3600, source,
                              activities[i % 3]),
                      "t", "v", "g", "o" + std::to_string(i % 4)),
         "cir.value-chain", 2 * i, std::nullopt});
    if (i % 3 == 0) {
      auto baseline = Baseline(id, "b", 1 + i % 5);
      baseline.set_source(source);
      baseline.set_activity(activities[(i + 1) % 3]);
      request.events.push_back({baseline, "cir.value-chain", 2 * i + 1, std::nullopt});
    }
    auto appended = reg_->Append(request, *projector_);
    ASSERT_TRUE(appended.has_value()) << appended.error().ToString();
  }
  api_->Attach(reg_.get());
  std::vector<v1::Initiative> all;
  auto partitions = reg_->Partitions();
  ASSERT_TRUE(partitions.has_value());
  ASSERT_TRUE(reg_->ScanInitiatives(*partitions, [&](const v1::Initiative& s) {
    all.push_back(s);
    return true;
  }));
  ASSERT_EQ(all.size(), 60u);

  struct Case {
    std::string query;
    std::function<bool(const v1::Initiative&)> matches;
    std::string sort;
  };
  auto has_activity = [](const v1::Initiative& s, v1::Activity a) {
    return std::find(s.activities().begin(), s.activities().end(), a) != s.activities().end();
  };
  const auto step_of_first = all[0].step();
  const std::vector<Case> cases = {
      {"owner=o1", [](const auto& s) { return s.owner() == "o1"; }, "id"},
      {"activity=plan", [&](const auto& s) { return has_activity(s, v1::ACTIVITY_PLAN); }, "id"},
      {"owner=o2&activity=improve",
       [&](const auto& s) { return s.owner() == "o2" && has_activity(s, v1::ACTIVITY_IMPROVE); },
       "id"},
      {"sort=updated_at", [](const auto&) { return true; }, "updated_at"},
      {"sort=created_at", [](const auto&) { return true; }, "created_at"},
      {"sort=step", [](const auto&) { return true; }, "step"},
      {"owner=o3&sort=updated_at", [](const auto& s) { return s.owner() == "o3"; }, "updated_at"},
      {"step=" + v1::Step_Name(step_of_first).substr(5) + "&sort=created_at",
       [&](const auto& s) { return s.step() == step_of_first; }, "created_at"},
  };
  for (const Case& c : cases) {
    std::vector<v1::Initiative> expected;
    for (const auto& s : all) {
      if (c.matches(s)) expected.push_back(s);
    }
    auto time_of = [&](const v1::Initiative& s) {
      const auto& t = c.sort == "updated_at" ? s.updated_at() : s.created_at();
      return std::pair{t.seconds(), t.nanos()};
    };
    std::sort(expected.begin(), expected.end(), [&](const auto& a, const auto& b) {
      if (c.sort == "step" && a.step() != b.step()) return a.step() < b.step();
      if ((c.sort == "updated_at" || c.sort == "created_at") && time_of(a) != time_of(b)) {
        return time_of(a) < time_of(b);
      }
      return a.initiative_id() < b.initiative_id();
    });
    std::vector<std::string> want, got;
    for (const auto& s : expected) want.push_back(s.initiative_id());
    ASSERT_FALSE(want.empty()) << c.query;
    std::string token;
    for (int pages = 0; pages < 20; ++pages) {
      json page = GetOk("/v1/initiatives?" + c.query + "&page_size=7" +
                        (token.empty() ? "" : "&page_token=" + token));
      EXPECT_EQ(page["total_matching"], want.size()) << c.query;
      for (const auto& i : page["initiatives"]) got.push_back(i["initiative_id"]);
      if (!page.contains("next_page_token")) break;
      token = page["next_page_token"].get<std::string>();
    }
    EXPECT_EQ(got, want) << c.query;
  }
}

TEST_F(ApiUnitTest, OneInitiativeWithItsTargetsProgress) {
  Fill();
  const json body = GetOk("/v1/initiatives/A");
  EXPECT_EQ(body["initiative"]["initiative_id"], "A");
  EXPECT_TRUE(body["principles"].is_array());
  ASSERT_EQ(body["targets"].size(), 1u);
  const json& t = body["targets"][0];
  EXPECT_EQ(t["kpi"], "k");
  EXPECT_EQ(t["direction"], "DIRECTION_INCREASE");
  EXPECT_EQ(t["target_value"], 20.0);
  EXPECT_EQ(t["baseline_value"], 10.0);
  EXPECT_EQ(t["latest_value"], 25.0);
  EXPECT_EQ(t["met"], true);
  EXPECT_DOUBLE_EQ(t["progress"].get<double>(), 1.5);  // (25 - 10) / (20 - 10)
  ExpectJsonError(Get("/v1/initiatives/NOPE"), 404, "no initiative 'NOPE'");
  ExpectJsonError(Get("/v1/initiatives/A%00x"), 400, "initiative id");
  ExpectJsonError(Get("/v1/initiatives/A/bogus"), 404, "no such path");
  ExpectJsonError(Get("/v1/initiatives/A?page_size=1"), 400, "unknown query parameter");
}

TEST_F(ApiUnitTest, EventsAndTransitionsArePaged) {
  Fill();
  json page = GetOk("/v1/initiatives/A/events?page_size=3");
  EXPECT_EQ(page["total"], 4);
  ASSERT_EQ(page["events"].size(), 3u);
  ASSERT_TRUE(page.contains("next_page_token"));
  page = GetOk("/v1/initiatives/A/events?page_size=3&page_token=" +
               page["next_page_token"].get<std::string>());
  EXPECT_EQ(page["events"].size(), 1u);
  EXPECT_FALSE(page.contains("next_page_token"));
  // An events token does not page the transitions.
  const std::string token =
      Body(Get("/v1/initiatives/A/events?page_size=1"))["next_page_token"].get<std::string>();
  ExpectJsonError(Get("/v1/initiatives/A/transitions?page_size=1&page_token=" + token), 400,
              "page_token");

  page = GetOk("/v1/initiatives/A/transitions");
  ASSERT_TRUE(page["transitions"].is_array());
  EXPECT_EQ(page["total"], page["transitions"].size());
  EXPECT_GE(page["transitions"].size(), 1u) << "a proposal moves the initiative to its first step";
  ExpectJsonError(Get("/v1/initiatives/NOPE/events"), 404, "no initiative 'NOPE'");
}

TEST_F(ApiUnitTest, AlertsAndStats) {
  Fill();
  const json alerts = GetOk("/v1/alerts");
  EXPECT_EQ(alerts["state"], "firing");
  EXPECT_TRUE(alerts["alerts"].is_array());
  ExpectJsonError(Get("/v1/alerts?state=resolved"), 400, "only firing alerts");
  ExpectJsonError(Get("/v1/alerts?kind=nonsense"), 400, "is not an alert kind");
  const json stats = GetOk("/v1/register/stats");
  EXPECT_EQ(stats["initiatives"], 2);
  EXPECT_EQ(stats["events_appended"], 5);
  EXPECT_TRUE(stats["by_step"].is_object());
  ExpectJsonError(Get("/v1/register/stats?x=1"), 400, "no query parameters");
}

TEST_F(ApiUnitTest, PublishingIsOffWithoutAToken) {
  Fill();
  const auto r = Exchange(server_.port(),
                          Request("POST", "/v1/events", "Content-Type: application/json\r\n",
                                  Proposed("C", "C-1", 0).id()));
  ExpectJsonError(r, 403, "publishing through the API is off");
}

}  // namespace
}  // namespace cir::testing
