// cird's HTTP server (http_server.h): routing, the request's path, query, headers and body,
// the rate limit, the API gate and the linger after an error. CivetWeb's callbacks and writing
// the answer are in http_boundary.cc, the body deadline in http_watchdog.*, the JSON error
// bodies in http_response.cc.
#include "http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <thread>

#include "cir/base/log.h"
#include "http_boundary.h"
#include "http_watchdog.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `form` also turns '+' into ' ' (query strings). nullopt on a bad escape.
std::optional<std::string> Decode(const std::string& text, bool form) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (form && c == '+') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string AllowHeader(const std::set<std::string>& methods) {
  std::set<std::string> all = methods;
  if (all.count("GET")) all.insert("HEAD");
  all.insert("OPTIONS");
  std::string allowed;
  for (const auto& m : all) allowed += (allowed.empty() ? "" : ", ") + m;
  return allowed;
}

}  // namespace

HttpServer::HttpServer() = default;

HttpServer::~HttpServer() { Stop(); }

std::optional<HttpResponse> HttpServer::ParsePath(const std::string& raw, HttpRequest& request) {
  request.segments.clear();
  if (raw.empty() || raw[0] != '/') return JsonError(400, "the path must start with '/'");
  if (raw.size() > 1) {
    std::size_t start = 1;
    for (;;) {
      const std::size_t end = std::min(raw.find('/', start), raw.size());
      auto segment = Decode(raw.substr(start, end - start), /*form=*/false);
      if (!segment) return JsonError(400, "bad percent-encoding in the path");
      if (*segment == "." || *segment == "..") {
        return JsonError(400, "the path must not hold '.' or '..' segments (also not encoded)");
      }
      request.segments.push_back(std::move(*segment));
      if (end == raw.size()) break;
      start = end + 1;
    }
  }
  request.path.clear();
  for (const auto& s : request.segments) request.path += "/" + s;
  if (request.path.empty()) request.path = "/";
  return std::nullopt;
}

void HttpServer::Route(const std::string& path, std::set<std::string> methods, Handler handler,
                       RouteOptions options) {
  HttpRequest parsed;
  (void)ParsePath(path, parsed);
  Route_ route;
  route.segments = parsed.segments;
  route.prefix = path.size() > 1 && path.back() == '/';
  if (route.prefix && !route.segments.empty() && route.segments.back().empty()) {
    route.segments.pop_back();
  }
  route.methods = std::move(methods);
  route.handler = std::move(handler);
  route.options = std::move(options);
  routes_.push_back(std::move(route));
}

const HttpServer::Route_* HttpServer::Find(const std::vector<std::string>& segments) const {
  const Route_* best = nullptr;
  for (const auto& r : routes_) {
    if (!r.prefix && r.segments == segments) return &r;
  }
  for (const auto& r : routes_) {
    if (r.prefix && segments.size() > r.segments.size() &&
        std::equal(r.segments.begin(), r.segments.end(), segments.begin()) &&
        (best == nullptr || r.segments.size() > best->segments.size())) {
      best = &r;
    }
  }
  return best;
}

bool HttpServer::TakeToken() {
  if (limits_.requests_per_second <= 0) return true;
  MutexLock lock(bucket_mu_);
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min(limits_.requests_per_second, tokens_ + elapsed * limits_.requests_per_second);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

// The request head as CivetWeb parsed it: method, path segments, decoded query, headers in
// lower case; an error answer when it cannot be routed.
std::optional<HttpResponse> HttpServer::ReadHead(const mg_request_info* info,
                                                 HttpRequest& request) {
  request.method = info->request_method ? info->request_method : "";
  // decode_url is off: local_uri_raw is the path as sent, without the query string.
  const std::string raw = info->local_uri_raw ? info->local_uri_raw : "/";
  if (auto error = ParsePath(raw, request)) return error;
  if (info->query_string != nullptr) {
    std::string qs = info->query_string;
    std::size_t start = 0;
    while (start <= qs.size()) {
      const std::size_t end = std::min(qs.find('&', start), qs.size());
      const std::string pair = qs.substr(start, end - start);
      if (!pair.empty()) {
        const std::size_t eq = pair.find('=');
        auto name = Decode(pair.substr(0, eq), true);
        auto value = eq == std::string::npos ? std::optional<std::string>("")
                                             : Decode(pair.substr(eq + 1), true);
        if (!name || !value) return JsonError(400, "bad percent-encoding in the query string");
        request.query.emplace(std::move(*name), std::move(*value));
      }
      start = end + 1;
    }
  }
  for (int i = 0; i < info->num_headers; ++i) {
    std::string name = info->http_headers[i].name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool added = request.headers.emplace(name, info->http_headers[i].value).second;
    // Headers that take one value: two copies could be read two ways, so neither is.
    if (!added && (name == "authorization" || name == "content-type" || name == "host")) {
      return JsonError(400, "header " + name + " appears more than once");
    }
  }
  return std::nullopt;
}

// The body, read within body_timeout (the watchdog cuts a client that drips) and at most
// max_body_bytes; an error answer (408, 413) when it does not arrive whole.
std::optional<HttpResponse> HttpServer::ReadBody(mg_connection* conn, const mg_request_info* info,
                                                 HttpRequest& request) {
  const auto deadline = Clock::now() + limits_.body_timeout;
  struct Armed {
    BodyWatchdog* watchdog = nullptr;
    std::uint64_t id = 0;
    ~Armed() {
      if (watchdog) watchdog->Disarm(id);
    }
  } armed;
  if (const int fd = FindSocket(info); fd >= 0 && watchdog_) {
    armed.id = watchdog_->Arm(fd, deadline);
    armed.watchdog = watchdog_.get();
  }
  const auto too_slow = [&] {
    return JsonError(408, "the body did not arrive within " +
                              std::to_string(limits_.body_timeout.count()) + " ms");
  };
  char buffer[8192];
  for (;;) {
    if (Clock::now() > deadline) return too_slow();
    const int n = mg_read(conn, buffer, sizeof buffer);
    if (n <= 0 && Clock::now() > deadline) return too_slow();
    if (n == 0) break;
    if (n < 0) return JsonError(408, "the body was not received (timeout or connection lost)");
    request.body.append(buffer, static_cast<std::size_t>(n));
    if (request.body.size() > limits_.max_body_bytes) {
      return JsonError(413, "body larger than " + std::to_string(limits_.max_body_bytes) +
                                " bytes");
    }
  }
  return std::nullopt;
}

HttpResponse HttpServer::Handle(mg_connection* conn, bool& head) {
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  if (auto error = ReadHead(info, request)) return *error;
  const Route_* route = Find(request.segments);
  if (route == nullptr) return JsonError(404, "no such path: " + request.path);
  const std::string allow = AllowHeader(route->methods);
  if (request.method == "OPTIONS") return HttpResponse{204, "", "", {{"Allow", allow}}};
  if (request.method == "HEAD" && route->methods.count("GET")) {
    head = true;
    request.method = "GET";
  }
  if (!route->methods.count(request.method)) {
    HttpResponse response = JsonError(405, "method " + request.method + " not allowed on " +
                                               request.path + " (allowed: " + allow + ")");
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  if (route->options.rate_limited && !TakeToken()) {
    return RetryLater(429, "too many requests; slow down", 1);
  }
  // The gate: taken before the body is read, released when the handler returns.
  struct Gate {
    std::atomic<int>* running = nullptr;
    ~Gate() {
      if (running) running->fetch_sub(1);
    }
  } gate;
  if (route->options.gated) {
    if (api_running_.fetch_add(1) >= api_limit_) {
      api_running_.fetch_sub(1);
      return RetryLater(503, "the API is busy (" + std::to_string(api_limit_) +
                                 " requests running); retry shortly",
                        1);
    }
    gate.running = &api_running_;
  }
  if (route->options.admit) {
    if (auto refused = route->options.admit(request)) return *refused;
  }
  if (info->content_length > static_cast<long long>(limits_.max_body_bytes)) {
    return JsonError(413, "body of " + std::to_string(info->content_length) +
                              " bytes; at most " + std::to_string(limits_.max_body_bytes));
  }
  if (request.method == "POST" || request.method == "PUT") {
    if (auto error = ReadBody(conn, info, request)) return *error;
  }
  try {
    return route->handler(request);
  } catch (const std::exception& e) {
    log::Error("http handler failed", {{"path", ValidUtf8(request.path)}, {"error", e.what()}});
    return JsonError(500, "internal error");
  } catch (...) {
    log::Error("http handler failed", {{"path", ValidUtf8(request.path)}});
    return JsonError(500, "internal error");
  }
}

// CivetWeb's request handler: nothing thrown below it reaches CivetWeb's C code. A handler (or
// the request parsing) that throws — a std::exception, an nlohmann-json error, anything —
// answers 500 with a JSON error body, and the log names it.
int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  bool head = false;
  HttpResponse response;
  if (!AtBoundary("http request failed", [&] { response = self->Handle(conn, head); })) {
    response = JsonError(500, "internal error");
  }
  AtBoundary("http answer failed", [&] {
    Send(conn, response, head);
    self->Linger(conn, response.status);
  });
  return response.status;
}

// An error answered before (or while) the body was read — 401, 413, 415, … — is followed by a
// bounded read (8 MiB, 500 ms) of what the client is still sending: closing at once would reset
// a client in the middle of its send (it would see a broken pipe instead of our answer). Bounded
// in bytes and in time (the watchdog cuts a client that drips), so no client holds the worker.
void HttpServer::Linger(mg_connection* conn, int status) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (status < 400 || info == nullptr || info->request_method == nullptr) return;
  const bool post = std::strcmp(info->request_method, "POST") == 0 ||
                    std::strcmp(info->request_method, "PUT") == 0;
  const bool has_body = info->content_length > 0 || (info->content_length < 0 && post);
  if (!has_body) return;
  constexpr std::size_t kMaxDiscard = 8u << 20;
  const auto deadline = Clock::now() + std::chrono::milliseconds(500);
  std::optional<std::uint64_t> armed;
  const int fd = FindSocket(info);
  if (fd >= 0 && watchdog_) armed = watchdog_->Arm(fd, deadline);
  char buffer[8192];
  std::size_t discarded = 0;
  while (discarded < kMaxDiscard && Clock::now() < deadline) {
    const int n = mg_read(conn, buffer, sizeof buffer);
    if (n <= 0) break;
    discarded += static_cast<std::size_t>(n);
  }
  if (armed) watchdog_->Disarm(*armed);
}

Result<void> HttpServer::Start(const std::string& address, int port, HttpLimits limits) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  limits_ = limits;
  api_limit_ = limits.api_concurrency > 0 ? std::min(limits.api_concurrency, limits.threads)
                                          : std::max(1, limits.threads - 4);
  {
    MutexLock lock(bucket_mu_);
    tokens_ = limits.requests_per_second;
    refilled_ = Clock::now();
  }
  std::set<std::string> methods;
  for (const auto& r : routes_) methods.insert(r.methods.begin(), r.methods.end());
  allow_any_ = AllowHeader(methods);
  const std::string ports = address + ":" + std::to_string(port);
  const std::string thread_count = std::to_string(limits.threads);
  const std::string timeout = std::to_string(limits.request_timeout.count());
  const char* options[] = {"listening_ports", ports.c_str(),
                           "num_threads", thread_count.c_str(),
                           "request_timeout_ms", timeout.c_str(),
                           "enable_keep_alive", "no",
                           // Paths are decoded per segment by ParsePath, never as a whole.
                           "decode_url", "no",
                           // No built-in CORS preflight answers: OPTIONS is ours.
                           "access_control_allow_methods", "",
                           "connection_queue", "64",
                           nullptr};
  mg_callbacks callbacks{};
  InstallCallbacks(callbacks);
  watchdog_ = std::make_unique<BodyWatchdog>();
  ctx_ = mg_start(&callbacks, this, options);
  if (ctx_ == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, "cannot listen on " + ports +
                                                 ": in use or not an address of this host");
  }
  mg_set_request_handler(ctx_, "/", &HttpServer::Dispatch, this);
  mg_server_port bound[4];
  const int n = mg_get_server_ports(ctx_, 4, bound);
  port_ = n > 0 ? bound[0].port : port;
  address_ = address;
  return {};
}

namespace {

// Opens and closes one TCP connection to a server listening on address:port (a literal IPv4
// or IPv6 address, brackets allowed; the unspecified address of either family is reached on its
// loopback). The connect gives up after 100 ms. Nothing else is sent or awaited.
void Knock(std::string address, int port) {
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  if (address.empty()) address = "0.0.0.0";
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) v6->sin6_addr = in6addr_loopback;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof(sockaddr_in6);
  } else {
    return;  // a host name: no knock (the stop then takes up to the 2 s poll)
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const timeval limit{0, 100'000};
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);  // bounds connect
  (void)::connect(fd, reinterpret_cast<const sockaddr*>(&storage), length);
  ::close(fd);
}

}  // namespace

void HttpServer::Stop() {
  if (ctx_ != nullptr) {
    // CivetWeb 1.15's listening thread sees the stop flag only between polls of its sockets,
    // which time out every 2 s (SOCKET_TIMEOUT_QUANTUM), so mg_stop alone took up to 2 s of
    // every shutdown. A connection ends that poll at once: until mg_stop returns (bounded), a
    // knock every 10 ms; one that lands before the flag is set is served and closed as usual.
    std::atomic<bool> stopped{false};
    std::thread knocker([this, &stopped] {
      for (int i = 0; i < 300 && !stopped.load(); ++i) {
        Knock(address_, port_);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    mg_stop(ctx_);
    stopped.store(true);
    knocker.join();
    ctx_ = nullptr;
  }
  watchdog_.reset();
}

}  // namespace cir::cird