#include "http_server.h"

#include <civetweb.h>

#include <cstring>
#include <mutex>

#include "cir/log.h"

namespace cir::cird {
namespace {

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

void Send(mg_connection* conn, const HttpResponse& response) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            response.status, Reason(response.status), response.content_type.c_str(),
            response.body.size());
  mg_write(conn, response.body.data(), response.body.size());
}

}  // namespace

HttpResponse JsonError(int status, const std::string& message) {
  return HttpResponse{status, "application/json",
                      "{\"error\":{\"code\":" + std::to_string(status) + ",\"message\":\"" +
                          Escape(message) + "\"}}\n"};
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& path, Handler handler) {
  routes_[path] = std::move(handler);
}

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string path = info->local_uri ? info->local_uri : "/";
  auto it = self->routes_.find(path);
  HttpResponse response;
  if (it == self->routes_.end()) {
    response = JsonError(404, "no such path: " + path);
  } else if (std::strcmp(info->request_method, "GET") != 0 &&
             std::strcmp(info->request_method, "HEAD") != 0) {
    response = JsonError(405, std::string("method ") + info->request_method + " not allowed on " +
                                  path + " (use GET)");
  } else {
    response = it->second();
  }
  Send(conn, response);
  return response.status;
}

Result<void> HttpServer::Start(const std::string& address, int port, int threads) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  const std::string ports = address + ":" + std::to_string(port);
  const std::string thread_count = std::to_string(threads);
  const char* options[] = {"listening_ports", ports.c_str(),
                           "num_threads", thread_count.c_str(),
                           "request_timeout_ms", "10000",
                           "enable_keep_alive", "no",
                           nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char* message) {
    log::Warn("http server", {{"error", message}});
    return 1;
  };
  ctx_ = mg_start(&callbacks, nullptr, options);
  if (ctx_ == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, "cannot listen on " + ports +
                                                 " (--http-address/--http-port): in use or "
                                                 "not an address of this host");
  }
  mg_set_request_handler(ctx_, "/", &HttpServer::Dispatch, this);
  mg_server_port bound[4];
  const int n = mg_get_server_ports(ctx_, 4, bound);
  port_ = n > 0 ? bound[0].port : port;
  return {};
}

void HttpServer::Stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

}  // namespace cir::cird
