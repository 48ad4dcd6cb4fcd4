// cird's HTTP server over real loopback sockets with exact bytes: HTTP conformance (Allow,
// Retry-After, HEAD, OPTIONS, unknown methods, JSON errors for every status), path handling (no
// dot segments, %2F inside a segment, NUL kept), the concurrency gate that keeps workers free for
// health, and the head-before-body checks and the body deadline. The JSON body check and the
// API's publish checks are in publish_checks_test.cc.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

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

}  // namespace
}  // namespace cir::testing
