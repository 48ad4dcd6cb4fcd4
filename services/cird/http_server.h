// A small HTTP server on CivetWeb (Debian's libcivetweb, which prometheus-cpp's own exposer is
// built on). cird serves /metrics, /livez, /readyz and the register API (/v1/…) on it.
//
// Routing is on path segments: the raw path is split at '/', then each segment is
// percent-decoded on its own, so "%2F" is a '/' inside a segment (an initiative id may hold one)
// and never a separator. A segment that is "." or ".." (literal or encoded) is refused with 400:
// no path can step out of /v1. Routes match an exact path or, for paths ending in '/', every path
// below it; each route names the methods it accepts. HEAD is answered wherever GET is, OPTIONS
// everywhere (and "OPTIONS *"). Every other answer is a JSON error, including the ones CivetWeb
// raises itself (unknown methods, oversized or timed-out headers): 400 bad path, 404 unknown
// path, 405 wrong method (with Allow), 408 body too slow, 413 body too large, 429 over the rate
// limit and 503 busy (both with Retry-After), 500 when a handler throws (anything: no
// exception crosses into CivetWeb's C code; http_boundary.h).
//
// Health never waits behind the API: API routes pass a concurrency gate (at most
// HttpLimits::api_concurrency of them run at once; the rest get 503 at once, before their body
// is read), so the remaining workers are always free for the ungated routes (/livez, /readyz,
// /metrics). A route's `admit` check (e.g. the bearer token) runs on the headers, before the body
// is read, and the whole body must arrive within HttpLimits::body_timeout.
//
// Threading: handlers run on CivetWeb's worker threads; they must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cir/base/error.h"
#include "cir/base/thread_annotations.h"

struct mg_context;
struct mg_connection;
struct mg_request_info;

namespace cir::cird {

class BodyWatchdog;  // http_watchdog.h

struct HttpRequest {
  std::string method;
  std::string path;                               // segments joined by '/' (display, routing)
  std::vector<std::string> segments;              // decoded path segments ("/a/b" → {"a","b"})
  std::multimap<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;     // names in lower case
  std::string body;

  // The first value of query parameter `name`, or "".
  [[nodiscard]] std::string Param(const std::string& name) const;
  // The first value of header `name` (lower case), or "".
  [[nodiscard]] std::string Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// {"error":{"code":status,"message":message}} with `status`, written by nlohmann-json.
// `message` may hold any bytes: invalid UTF-8 is replaced by U+FFFD, and it is cut at 1,000
// bytes.
[[nodiscard]] HttpResponse JsonError(int status, const std::string& message);
// Same, with `details` (e.g. an array naming each bad item) as "details" after "message".
[[nodiscard]] HttpResponse JsonError(int status, const std::string& message,
                                     const nlohmann::json& details);
// Same, with "Retry-After: <seconds>".
[[nodiscard]] HttpResponse RetryLater(int status, const std::string& message, int seconds);

// `text` as the body of a JSON string (no quotes): '"', '\\' and control characters escaped,
// invalid UTF-8 replaced by U+FFFD.
[[nodiscard]] std::string JsonEscape(const std::string& text);
// `text` with invalid UTF-8 replaced by U+FFFD (for log fields).
[[nodiscard]] std::string ValidUtf8(const std::string& text);

struct HttpLimits {
  std::size_t max_body_bytes = 1 << 20;
  double requests_per_second = 0;  // 0: unlimited; else a token bucket with a one-second burst
  int threads = 32;                // CivetWeb workers (each connection holds one)
  // CivetWeb's request_timeout_ms: the whole request head must arrive within it, and each read
  // of the body waits at most this long.
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds body_timeout{10000};  // the whole body; beyond it, 408
  // API routes running at once (gated routes); beyond it, 503 + Retry-After. 0: threads - 4,
  // which leaves four workers for the health routes.
  int api_concurrency = 0;
};

struct RouteOptions {
  // false exempts the route from the rate limit (health checks and scrapes must never get 429
  // because the API is busy).
  bool rate_limited = true;
  // true: the route counts against HttpLimits::api_concurrency. Health routes are not gated.
  bool gated = true;
  // Called with the request head (no body yet); an answer is sent instead of reading the body.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> admit;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer();
  ~HttpServer();

  // Routes must all be added before Start. `path` ending in '/' matches every path below it.
  void Route(const std::string& path, std::set<std::string> methods, Handler handler,
             RouteOptions options = {});
  // Listens on address:port (port 0: any free port). Errors name the address.
  [[nodiscard]] Result<void> Start(const std::string& address, int port, HttpLimits limits = {});
  void Stop();

  // The port actually bound (after Start).
  [[nodiscard]] int port() const { return port_; }
  // The effective API concurrency bound (after Start).
  [[nodiscard]] int api_concurrency() const { return api_limit_; }
  // Every method some route takes, plus HEAD and OPTIONS: the Allow of "OPTIONS *" and of 501.
  [[nodiscard]] const std::string& allow_any() const { return allow_any_; }

  // The request as routed: method, decoded segments; an error response for a path that cannot
  // be routed (dot segments, bad percent-encoding). Exposed for tests.
  [[nodiscard]] static std::optional<HttpResponse> ParsePath(const std::string& raw,
                                                             HttpRequest& request);

 private:
  struct Route_ {
    std::vector<std::string> segments;
    bool prefix = false;
    std::set<std::string> methods;
    Handler handler;
    RouteOptions options;
  };
  // After an error answer: reads (and drops) what is left of the request body, at most 8 MiB
  // and 500 ms, so that the client sees the answer instead of a reset.
  void Linger(mg_connection* conn, int status);
  static int Dispatch(mg_connection* conn, void* self);
  HttpResponse Handle(mg_connection* conn, bool& head);
  static std::optional<HttpResponse> ReadHead(const mg_request_info* info, HttpRequest& request);
  std::optional<HttpResponse> ReadBody(mg_connection* conn, const mg_request_info* info,
                                       HttpRequest& request);
  const Route_* Find(const std::vector<std::string>& segments) const;
  bool TakeToken() EXCLUDES(bucket_mu_);

  std::vector<Route_> routes_;
  std::unique_ptr<BodyWatchdog> watchdog_;  // cuts off bodies that outlive body_timeout
  mg_context* ctx_ = nullptr;
  std::string address_;  // as given to Start
  int port_ = 0;
  HttpLimits limits_;
  int api_limit_ = 0;
  std::string allow_any_;
  std::atomic<int> api_running_{0};
  Mutex bucket_mu_;
  double tokens_ GUARDED_BY(bucket_mu_) = 0;
  std::chrono::steady_clock::time_point refilled_ GUARDED_BY(bucket_mu_);
};

}  // namespace cir::cird
