// A small HTTP server on CivetWeb (Debian's libcivetweb, which prometheus-cpp's own exposer is
// built on). Routes match an exact path or, for paths ending in '/', a prefix; each route names
// the methods it accepts. Everything else gets a JSON error: 404 unknown path, 405 wrong method,
// 413 body too large, 429 over the rate limit. cird serves /metrics, /livez, /readyz and the
// read API (/v1/…) on it.
//
// Threading: handlers run on CivetWeb's worker threads; they must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cir/error.h"

struct mg_context;
struct mg_connection;

namespace cir::cird {

struct HttpRequest {
  std::string method;
  std::string path;                                // decoded, without the query string
  std::multimap<std::string, std::string> query;   // decoded
  std::map<std::string, std::string> headers;      // names in lower case
  std::string body;

  // The first value of query parameter `name`, or "".
  [[nodiscard]] std::string Param(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// {"error":{"code":status,"message":message}} with `status`; `details` (a JSON array) is added
// as "details" when not empty.
[[nodiscard]] HttpResponse JsonError(int status, const std::string& message,
                                     const std::string& details = "");

struct HttpLimits {
  std::size_t max_body_bytes = 1 << 20;
  double requests_per_second = 0;  // 0: unlimited; else a token bucket with a one-second burst
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  ~HttpServer();

  // Routes must all be added before Start. `path` ending in '/' matches every path below it.
  // `rate_limited` false exempts the route from the rate limit (health checks and scrapes must
  // never get 429 because the API is busy).
  void Route(const std::string& path, std::set<std::string> methods, Handler handler,
             bool rate_limited = true);
  // Listens on address:port (port 0: any free port). Errors name the address.
  [[nodiscard]] Result<void> Start(const std::string& address, int port, int threads,
                                   HttpLimits limits = {});
  void Stop();

  // The port actually bound (after Start).
  [[nodiscard]] int port() const { return port_; }

 private:
  struct Route_ {
    std::set<std::string> methods;
    Handler handler;
    bool rate_limited = true;
  };
  static int Dispatch(mg_connection* conn, void* self);
  HttpResponse Handle(mg_connection* conn);
  bool TakeToken();

  std::map<std::string, Route_> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  HttpLimits limits_;
  std::mutex bucket_mu_;
  double tokens_ = 0;  // GUARDED_BY(bucket_mu_)
  std::chrono::steady_clock::time_point refilled_;
};

}  // namespace cir::cird
