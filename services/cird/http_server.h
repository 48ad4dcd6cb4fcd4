// A small HTTP server on CivetWeb (Debian's libcivetweb, which prometheus-cpp's own exposer is
// built on): routes by exact path, GET only unless a route says otherwise, JSON errors for
// everything else. cird serves /metrics, /livez and /readyz on it.
//
// Threading: handlers run on CivetWeb's worker threads; they must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cir/error.h"

struct mg_context;
struct mg_connection;

namespace cir::cird {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// {"error":{"code":status,"message":message}} with `status`.
[[nodiscard]] HttpResponse JsonError(int status, const std::string& message);

class HttpServer {
 public:
  using Handler = std::function<HttpResponse()>;

  ~HttpServer();

  // Listens on address:port (port 0: any free port) with `threads` workers. Errors name the
  // address. Routes must all be added before Start.
  void Route(const std::string& path, Handler handler);
  [[nodiscard]] Result<void> Start(const std::string& address, int port, int threads);
  void Stop();

  // The port actually bound (after Start).
  [[nodiscard]] int port() const { return port_; }

 private:
  static int Dispatch(mg_connection* conn, void* self);

  std::map<std::string, Handler> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace cir::cird
