// cird's HTTP server and the API's request checks, over real loopback sockets with exact bytes:
// HTTP conformance (Allow, Retry-After, HEAD, OPTIONS, unknown methods, JSON errors for every
// status), path handling (no dot segments, %2F inside a segment, NUL kept), the concurrency gate
// that keeps workers free for health, the head-before-body checks and the body deadline, and the
// JSON body check (depth, duplicate keys, strict RFC 8259).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "api.h"
#include "cir/model/projector.h"
#include "http_server.h"
#include "json_reply.h"
#include "raw_http.h"

namespace cir::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using cird::HttpRequest;
using cird::HttpResponse;
using cird::HttpServer;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(cird::HttpLimits limits) {
    server_ = std::make_unique<HttpServer>();
    cird::RouteOptions health;
    health.rate_limited = false;
    health.gated = false;
    server_->Route("/livez", {"GET"},
                   [](const HttpRequest&) { return HttpResponse{200, "application/json",
                                                                "{\"alive\":true}\n", {}}; },
                   health);
    server_->Route("/v1/things", {"GET"}, [](const HttpRequest&) {
      return HttpResponse{200, "application/json", "{\"things\":[1,2,3]}\n", {}};
    });
    server_->Route("/v1/things/", {"GET"}, [](const HttpRequest& r) {
      json segments = json::array();
      for (const auto& s : r.segments) segments.push_back(s);
      return HttpResponse{200, "application/json",
                          segments.dump(-1, ' ', false, json::error_handler_t::replace), {}};
    });
    server_->Route("/v1/throw", {"GET"}, [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("boom");
    });
    // What a handler's JSON code can throw: nlohmann's own exceptions, and a non-std throw.
    server_->Route("/v1/throw-json", {"GET"}, [](const HttpRequest& r) -> HttpResponse {
      if (r.Param("how") == "type") return {200, "application/json", json(1).at("x").dump(), {}};
      return {200, "application/json", json::parse("{\"unterminated\"").dump(), {}};
    });
    server_->Route("/v1/throw-int", {"GET"}, [](const HttpRequest&) -> HttpResponse { throw 7; });
    server_->Route("/v1/slow", {"GET"}, [this](const HttpRequest&) {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
      return HttpResponse{200, "application/json", "{}", {}};
    });
    cird::RouteOptions post;
    post.admit = [](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.Header("authorization") != "Bearer t") return cird::JsonError(401, "bad token");
      return std::nullopt;
    };
    server_->Route("/v1/post", {"POST"}, [](const HttpRequest& r) {
      return HttpResponse{200, "application/json",
                          json{{"bytes", r.body.size()}}.dump(), {}};
    }, post);
    ASSERT_TRUE(server_->Start("127.0.0.1", 0, limits).has_value());
    port_ = server_->port();
  }

  void TearDown() override {
    Release();
    server_->Stop();
  }

  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  RawReply Send(const std::string& request) { return Exchange(port_, request); }

  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool released_ = false;
};

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  auto r = Send(Request("DELETE", "/v1/things"));
  ExpectJsonError(r, 405, "not allowed");
  EXPECT_EQ(r.headers["allow"], "GET, HEAD, OPTIONS");
  r = Send(Request("GET", "/v1/post"));
  ExpectJsonError(r, 405, "not allowed");
  EXPECT_EQ(r.headers["allow"], "OPTIONS, POST");
  // A method CivetWeb knows but no route takes is a 405 too.
  r = Send(Request("PATCH", "/v1/things"));
  ExpectJsonError(r, 405, "PATCH");
  EXPECT_EQ(r.headers["allow"], "GET, HEAD, OPTIONS");
}

TEST_F(HttpServerTest, HeadWhereverGetIs) {
  const auto get = Send(Request("GET", "/v1/things"));
  auto head = Send(Request("HEAD", "/v1/things"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(head.status, 200) << head.raw;
  EXPECT_EQ(head.headers["content-length"], std::to_string(get.body.size()));
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(Send(Request("HEAD", "/livez")).status, 200);
  // HEAD of a POST-only route is a 405 like any other method.
  EXPECT_EQ(Send(Request("HEAD", "/v1/post")).status, 405);
}

TEST_F(HttpServerTest, OptionsEverywhereAndOptionsStar) {
  auto r = Send(Request("OPTIONS", "/v1/things"));
  EXPECT_EQ(r.status, 204) << r.raw;
  EXPECT_EQ(r.headers["allow"], "GET, HEAD, OPTIONS");
  r = Send(Request("OPTIONS", "*"));
  EXPECT_EQ(r.status, 204) << r.raw;
  EXPECT_EQ(r.headers["allow"], "GET, HEAD, OPTIONS, POST") << r.raw;  // what the routes take
  // '*' with any other method is a JSON 400, not a closed connection.
  ExpectJsonError(Send(Request("GET", "*")), 400, "'*'");
  ExpectJsonError(Send(Request("OPTIONS", "/nope")), 404, "no such path");
}

TEST_F(HttpServerTest, UnknownMethodsAndBadRequestLinesGetJsonErrors) {
  // CivetWeb refuses these before any handler runs; its http_error hook answers in JSON.
  // Methods it does not know (TRACE is one: CivetWeb leaves it out on purpose) are 501.
  for (const std::string method : {"TRACE", "FOO", "BREW"}) {
    auto r = Send(Request(method, "/v1/things"));
    ExpectJsonError(r, 501, method);
    EXPECT_NE(r.headers["allow"].find("GET"), std::string::npos);
  }
  ExpectJsonError(Send(Request("G\x01T", "/v1/things")), 400, "");
  ExpectJsonError(Send("GET /v1/things HTTP/9.9\r\nHost: x\r\n\r\n"), 505, "");
  ExpectJsonError(Send("garbage\r\n\r\n"), 400, "");
  ExpectJsonError(Send(Request("POST", "/nope")), 404, "no such path");
}

TEST_F(HttpServerTest, DotSegmentsNeverLeaveTheirPrefix) {
  for (const std::string path :
       {"/v1/../livez", "/v1/things/%2e%2e/%2e%2e/livez", "/v1/things/%2E%2E/%2e./livez",
        "/v1/things/.", "/v1/things/%2e", "/v1/./things"}) {
    auto r = Send(Request("GET", path));
    ExpectJsonError(r, 400, "'..'");
    EXPECT_EQ(Body(r).dump().find("alive"), std::string::npos) << path;
  }
  // Dots inside a segment are just characters.
  EXPECT_EQ(Body(Send(Request("GET", "/v1/things/a..b"))), (json{"v1", "things", "a..b"}));
}

TEST_F(HttpServerTest, SegmentsAreDecodedOneByOne) {
  // %2F is a '/' inside the segment, not a separator.
  EXPECT_EQ(Body(Send(Request("GET", "/v1/things/a%2Fb/c"))), (json{"v1", "things", "a/b", "c"}));
  // NUL is kept (so "API-1%00junk" can never be taken for "API-1").
  auto segments = Body(Send(Request("GET", "/v1/things/API-1%00junk")));
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[2].get<std::string>(), std::string("API-1\0junk", 10));
  ExpectJsonError(Send(Request("GET", "/v1/things/%zz")), 400, "percent-encoding");
  ExpectJsonError(Send(Request("GET", "/v1/things/%4")), 400, "percent-encoding");
  ExpectJsonError(Send(Request("GET", "/v1/things?x=%zz")), 400, "percent-encoding");
  // A prefix route needs a segment below it; the exact path is its own route.
  EXPECT_EQ(Body(Send(Request("GET", "/v1/things")))["things"].size(), 3u);
  EXPECT_EQ(Send(Request("GET", "/v1/thingsX")).status, 404);
}

TEST_F(HttpServerTest, ErrorBodiesAreValidUtf8) {
  auto r = Send(Request("GET", "/nope%FF%FE%C0%AF\"\\%0A"));
  ExpectJsonError(r, 404, "no such path");
  const std::string message = Body(r)["error"]["message"];
  EXPECT_NE(message.find("\xEF\xBF\xBD"), std::string::npos) << message;
  EXPECT_NE(message.find("\"\\\n"), std::string::npos) << message;
}

TEST_F(HttpServerTest, AThrowingHandlerIs500NotACrash) {
  ExpectJsonError(Send(Request("GET", "/v1/throw")), 500, "internal error");
  EXPECT_EQ(Send(Request("GET", "/livez")).status, 200);
}

// nlohmann-json exceptions (parse_error, type_error) and non-std throws stop at the server's
// boundary: a 500 JSON error, and the server keeps answering.
TEST_F(HttpServerTest, JsonLibraryExceptionsNeverCrossIntoCivetWeb) {
  ExpectJsonError(Send(Request("GET", "/v1/throw-json")), 500, "internal error");
  ExpectJsonError(Send(Request("GET", "/v1/throw-json?how=type")), 500, "internal error");
  ExpectJsonError(Send(Request("GET", "/v1/throw-int")), 500, "internal error");
  const RawReply head = Send(Request("HEAD", "/v1/throw-json"));
  EXPECT_EQ(head.status, 500) << head.raw;
  EXPECT_TRUE(head.body.empty()) << head.raw;
  EXPECT_EQ(Send(Request("GET", "/livez")).status, 200);
}

TEST_F(HttpServerTest, AdmitRunsBeforeTheBodyIsRead) {
  // Headers promise 100 kB (or a chunked body) that never comes: the 401 still arrives at once.
  for (const std::string framing : {"Content-Length: 100000\r\n", "Transfer-Encoding: chunked\r\n"}) {
    const int fd = ConnectLoopback(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "POST /v1/post HTTP/1.1\r\nHost: x\r\n" + framing + "\r\n"));
    const auto start = Clock::now();
    const RawReply r = ParseReply(ReadReply(fd, milliseconds(3000)));
    ::close(fd);
    ExpectJsonError(r, 401, "bad token");
    EXPECT_LT(Clock::now() - start, milliseconds(1000)) << framing;
  }
  // Two Authorization headers could be read two ways: neither is.
  ExpectJsonError(Send("POST /v1/post HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                       "Authorization: Bearer u\r\nContent-Length: 1\r\n\r\nx"),
                  400, "more than once");
  // With the token, the body is read (chunked too).
  auto r = Send("POST /v1/post HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(Body(r)["bytes"], 5);
  ExpectJsonError(Send(Request("POST", "/v1/post", "Authorization: Bearer t\r\n",
                               std::string(2 << 20, 'x'))),
                  413, "body");
}

TEST_F(HttpServerTest, RateLimitAnswers429WithRetryAfterButNotOnHealth) {
  server_->Stop();
  cird::HttpLimits limits;
  limits.requests_per_second = 1;
  Start(limits);
  EXPECT_EQ(Send(Request("GET", "/v1/things")).status, 200);
  auto r = Send(Request("GET", "/v1/things"));
  ExpectJsonError(r, 429, "too many");
  EXPECT_EQ(r.headers["retry-after"], "1");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Send(Request("GET", "/livez")).status, 200);
}

TEST_F(HttpServerTest, BusyApiAnswers503AndHealthStillGetsAWorker) {
  server_->Stop();
  cird::HttpLimits limits;
  limits.threads = 8;
  limits.api_concurrency = 2;
  Start(limits);
  EXPECT_EQ(server_->api_concurrency(), 2);
  auto slow1 = std::async(std::launch::async, [&] { return Send(Request("GET", "/v1/slow")); });
  auto slow2 = std::async(std::launch::async, [&] { return Send(Request("GET", "/v1/slow")); });
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(5), [&] { return waiting_ == 2; }));
  }
  const auto start = Clock::now();
  auto r = Send(Request("GET", "/v1/things"));
  ExpectJsonError(r, 503, "busy");
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_EQ(Send(Request("GET", "/livez")).status, 200);
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  Release();
  EXPECT_EQ(slow1.get().status, 200);
  EXPECT_EQ(slow2.get().status, 200);
  EXPECT_EQ(Send(Request("GET", "/v1/things")).status, 200);
}

TEST_F(HttpServerTest, ADrippedBodyIsCutOffAtTheBodyTimeout) {
  server_->Stop();
  cird::HttpLimits limits;
  limits.request_timeout = milliseconds(300);
  limits.body_timeout = milliseconds(600);
  Start(limits);
  const int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /v1/post HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"));
  const auto start = Clock::now();
  std::string raw;
  // One byte every 100 ms: each read gets data, but the whole body is far too slow.
  while (Clock::now() - start < milliseconds(3000)) {
    if (!SendAll(fd, "1\r\nx\r\n")) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      raw = ReadAll(fd, milliseconds(1000));
      break;
    }
  }
  ::close(fd);
  const auto took = Clock::now() - start;
  ExpectJsonError(ParseReply(raw), 408, "body");
  EXPECT_GE(took, milliseconds(500));
  EXPECT_LT(took, milliseconds(2000));
}

TEST_F(HttpServerTest, ADrippedHeadIsCutOffAtTheRequestTimeout) {
  server_->Stop();
  cird::HttpLimits limits;
  limits.request_timeout = milliseconds(500);
  Start(limits);
  const int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  SendAll(fd, "GET /v1/things HTTP/1.1\r\n");
  bool closed = false;
  while (Clock::now() - start < milliseconds(3000)) {
    if (!SendAll(fd, "X")) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      ReadAll(fd, milliseconds(500));
      closed = true;
      break;
    }
  }
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
}

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
  HttpServer server_;
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
