// The request checks in front of cird's API, over real loopback sockets: JSON escaping of error
// texts, the JSON body check (depth, duplicate keys, strict RFC 8259) and the API's own checks on
// POST /v1/events (hostile bodies, content types, the token before the body, publishes waiting
// side by side).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "api.h"
#include "cir/events/codec.h"
#include "cir/model/projector.h"
#include "http_server.h"
#include "json_reply.h"
#include "raw_http.h"

namespace cir::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(JsonEscape, EscapesAndReplacesInvalidUtf8) {
  EXPECT_EQ(cird::JsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\u000a\\u0001");
  EXPECT_EQ(cird::JsonEscape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  // Lone continuation, overlong '/', surrogate, beyond U+10FFFF, truncated sequence.
  EXPECT_EQ(cird::JsonEscape("\x80"), "\xEF\xBF\xBD");
  EXPECT_EQ(cird::JsonEscape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(cird::JsonEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(cird::JsonEscape("\xF4\x90\x80\x80"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(cird::JsonEscape("ab\xE2\x82"), "ab\xEF\xBF\xBD\xEF\xBF\xBD");
  const std::string body = cird::JsonError(400, "\xFF\xFE").body;
  EXPECT_FALSE(json::parse(body, nullptr, false).is_discarded()) << body;
}

std::string Nested(std::size_t depth, const std::string& open, const std::string& close) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += open;
  out += "1";
  for (std::size_t i = 0; i < depth; ++i) out += close;
  return out;
}

// Bodies pass events::CheckJson, the same strict gate as Kafka input.
TEST(CheckJsonBody, DepthDuplicatesAndStrictSyntax) {
  const auto CheckJsonBody = [](const std::string& body, std::size_t depth) {
    return events::CheckJson(body, depth);
  };
  EXPECT_TRUE(CheckJsonBody(R"({"a":{"b":[1,2,{"c":null}]},"d":"é"})", 64).has_value());
  EXPECT_TRUE(CheckJsonBody(Nested(64, "[", "]"), 64).has_value());
  EXPECT_FALSE(CheckJsonBody(Nested(65, "[", "]"), 64).has_value());
  auto deep = CheckJsonBody(Nested(500, "{\"a\":", "}"), 64);
  ASSERT_FALSE(deep.has_value());
  EXPECT_NE(deep.error().message.find("deeper than 64"), std::string::npos);
  // Far beyond any stack: the check itself does not recurse.
  EXPECT_FALSE(CheckJsonBody(Nested(200000, "[", "]"), 64).has_value());
  EXPECT_FALSE(CheckJsonBody(std::string(200000, '['), 64).has_value());

  auto dup = CheckJsonBody(R"({"a":1,"b":{"x":1,"x":2}})", 64);
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message.find("duplicate key \"x\""), std::string::npos);
  EXPECT_TRUE(CheckJsonBody(R"({"x":1,"b":{"x":2},"c":[{"x":3},{"x":4}]})", 64).has_value());

  for (const std::string bad :
       {"{'a':1}", "{\"a\":1,}", "[1,]", "{\"a\":1} x", "// c\n{}", "{\"a\":01}", "{\"a\":NaN}",
        "{\"a\":\"\xFF\"}", "{\"a\":\"\xC0\xAF\"}", "{\"a\":\"tab\there\"}", "", "{\"a\" 1}"}) {
    EXPECT_FALSE(CheckJsonBody(bad, 64).has_value()) << bad;
  }
}

// The API's own checks on POST /v1/events, which all happen before Kafka is needed.
class PublishChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    projector_ = model::MakeProjector(model::Config{});
    cird::ApiOptions options;
    options.publish_token = "test-token-0123456789";
    options.publish_topic = "cir.value-chain";
    options.kafka = {"127.0.0.1:1", {}};  // nothing listens: no event is ever acknowledged
    options.publish_timeout = milliseconds(1500);
    api_ = std::make_unique<cird::Api>(options, *projector_);
    api_->Register(server_);
    ASSERT_TRUE(server_.Start("127.0.0.1", 0, {}).has_value());
  }
  RawReply Post(const std::string& body, const std::string& type = "application/json") {
    return Exchange(server_.port(),
                    Request("POST", "/v1/events",
                            "Authorization: Bearer test-token-0123456789\r\nContent-Type: " +
                                type + "\r\n",
                            body));
  }
  std::unique_ptr<storage::Projector> projector_;
  std::unique_ptr<cird::Api> api_;
  cird::HttpServer server_;
};

TEST_F(PublishChecksTest, HostileBodiesAre400AndTheServerStaysUp) {
  // 500 levels, about 1 KB: this crashed a CivetWeb worker (and cird) before the depth check.
  ExpectJsonError(Post(Nested(500, "{\"a\":", "}")), 400, "deeper than 64");
  ExpectJsonError(Post(Nested(500, "[", "]")), 400, "deeper than 64");
  ExpectJsonError(Post(R"({"id":"a","id":"b"})"), 400, "duplicate key");
  ExpectJsonError(Post("{'id':'a'}"), 400, "JSON");
  ExpectJsonError(Post("{\"id\":\"\xFF\"}"), 400, "JSON");
  ExpectJsonError(Post("{}", "application/jsonxyz"), 415, "application/json");
  ExpectJsonError(Post("{}", "text/json"), 415, "application/json");
  // Parameters and case do not matter; the body is then checked (and is not an event).
  ExpectJsonError(Post("{\"nope\":1}", "Application/JSON; charset=utf-8"), 400, "invalid");
  // Invalid UTF-8 quoted back in a validation error is replaced, never echoed raw.
  auto r = Post("{\"id\":\"x\",\"source\":\"//s\",\"initiativeId\":\"\\udcff\"}");
  EXPECT_EQ(r.status, 400) << r.raw;
  Body(r);
  // Reads answer 503 until a register is attached — as JSON, with HEAD too.
  ExpectJsonError(Exchange(server_.port(), Request("GET", "/v1/register/stats")), 503, "not open");
  EXPECT_EQ(Exchange(server_.port(), Request("HEAD", "/v1/initiatives")).status, 503);
}

// Each publish waits for its own acknowledgements with no lock held, so four of them against a
// Kafka that never answers take one timeout together (one after another they took four).
TEST_F(PublishChecksTest, PublishesWaitSideBySideNotInLine) {
  const std::string valid =
      R"({"id":"x","source":"//s","initiativeId":"X","activity":"ACTIVITY_PLAN","eventTime":"2026-07-01T00:00:00Z","kpiMeasured":{"kpi":"k","value":1}})";
  const auto start = Clock::now();
  std::vector<std::future<RawReply>> replies;
  for (int i = 0; i < 4; ++i) {
    replies.push_back(std::async(std::launch::async, [&] { return Post(valid); }));
  }
  for (auto& r : replies) {
    const RawReply reply = r.get();
    ExpectJsonError(reply, 503, "acknowledge");
    EXPECT_EQ(reply.headers.count("retry-after"), 1u);
  }
  const auto took = Clock::now() - start;
  EXPECT_GE(took, milliseconds(1400));
  EXPECT_LT(took, milliseconds(4000));
}

TEST_F(PublishChecksTest, WithoutTheTokenTheBodyIsNeverRead) {
  const int fd = ConnectLoopback(server_.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"));
  const auto start = Clock::now();
  const RawReply r = ParseReply(ReadReply(fd, milliseconds(3000)));
  ::close(fd);
  ExpectJsonError(r, 401, "Authorization");
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
}

}  // namespace
}  // namespace cir::testing
