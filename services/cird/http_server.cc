#include "http_server.h"

#include <civetweb.h>

#include <algorithm>
#include <cctype>
#include <cstring>

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
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
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

std::string Decode(const std::string& text, bool form) {
  std::string out(text.size() + 1, '\0');
  const int n = mg_url_decode(text.c_str(), static_cast<int>(text.size()), out.data(),
                              static_cast<int>(out.size()), form ? 1 : 0);
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

}  // namespace

std::string HttpRequest::Param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

HttpResponse JsonError(int status, const std::string& message, const std::string& details) {
  std::string body = "{\"error\":{\"code\":" + std::to_string(status) + ",\"message\":\"" +
                     Escape(message) + "\"";
  if (!details.empty()) body += ",\"details\":" + details;
  body += "}}\n";
  return HttpResponse{status, "application/json", body};
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& path, std::set<std::string> methods, Handler handler,
                       bool rate_limited) {
  routes_[path] = Route_{std::move(methods), std::move(handler), rate_limited};
}

bool HttpServer::TakeToken() {
  if (limits_.requests_per_second <= 0) return true;
  std::lock_guard lock(bucket_mu_);
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min(limits_.requests_per_second, tokens_ + elapsed * limits_.requests_per_second);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

HttpResponse HttpServer::Handle(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  // local_uri is already URL-decoded by CivetWeb and has no query string.
  request.path = info->local_uri ? info->local_uri : "/";
  if (request.path.find("..") != std::string::npos || request.path.find('\0') != std::string::npos) {
    return JsonError(400, "path must not contain '..'");
  }
  if (info->query_string != nullptr) {
    std::string qs = info->query_string;
    std::size_t start = 0;
    while (start <= qs.size()) {
      const std::size_t end = std::min(qs.find('&', start), qs.size());
      const std::string pair = qs.substr(start, end - start);
      if (!pair.empty()) {
        const std::size_t eq = pair.find('=');
        request.query.emplace(Decode(pair.substr(0, eq), true),
                              eq == std::string::npos ? "" : Decode(pair.substr(eq + 1), true));
      }
      start = end + 1;
    }
  }
  for (int i = 0; i < info->num_headers; ++i) {
    std::string name = info->http_headers[i].name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    request.headers[name] = info->http_headers[i].value;
  }

  // Exact route, else the longest prefix route ("/v1/initiatives/").
  const Route_* route = nullptr;
  if (auto it = routes_.find(request.path); it != routes_.end()) {
    route = &it->second;
  } else {
    std::size_t best = 0;
    for (const auto& [path, r] : routes_) {
      if (path.back() == '/' && request.path.rfind(path, 0) == 0 && path.size() > best) {
        route = &r;
        best = path.size();
      }
    }
  }
  if (route == nullptr) return JsonError(404, "no such path: " + request.path);
  if (!route->methods.count(request.method)) {
    std::string allowed;
    for (const auto& m : route->methods) allowed += (allowed.empty() ? "" : ", ") + m;
    return JsonError(405, "method " + request.method + " not allowed on " + request.path +
                              " (allowed: " + allowed + ")");
  }
  if (route->rate_limited && !TakeToken()) {
    return JsonError(429, "too many requests; slow down");
  }
  if (info->content_length > static_cast<long long>(limits_.max_body_bytes)) {
    return JsonError(413, "body of " + std::to_string(info->content_length) +
                              " bytes; at most " + std::to_string(limits_.max_body_bytes));
  }
  if (request.method == "POST" || request.method == "PUT") {
    char buffer[8192];
    for (;;) {
      const int n = mg_read(conn, buffer, sizeof buffer);
      if (n <= 0) break;
      request.body.append(buffer, static_cast<std::size_t>(n));
      if (request.body.size() > limits_.max_body_bytes) {
        return JsonError(413, "body larger than " + std::to_string(limits_.max_body_bytes) +
                                  " bytes");
      }
    }
  }
  return route->handler(request);
}

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const HttpResponse response = self->Handle(conn);
  Send(conn, response);
  return response.status;
}

Result<void> HttpServer::Start(const std::string& address, int port, int threads,
                               HttpLimits limits) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  limits_ = limits;
  tokens_ = limits.requests_per_second;
  refilled_ = std::chrono::steady_clock::now();
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
