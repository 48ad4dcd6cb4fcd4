#include "http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "cir/log.h"
#include "cir/utf8.h"

namespace cir::cird {
namespace {

using Clock = std::chrono::steady_clock;

std::string Escape(const std::string& text, bool json);
std::string AllowHeader(const std::set<std::string>& methods);

const std::string& AllowAny(const mg_connection* conn) {
  static const std::string kFallback = "GET, HEAD, OPTIONS";
  const auto* server = static_cast<const HttpServer*>(mg_get_user_data(mg_get_context(conn)));
  return server != nullptr ? server->allow_any() : kFallback;
}

// Per-connection marker (CivetWeb's user connection data): set once an answer was sent.
char kAnswered;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

// Header values we send come from our own code, but never let one end the header block.
std::string HeaderSafe(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c != '\r' && c != '\n') out += c;
  }
  return out;
}

void Send(mg_connection* conn, const HttpResponse& response, bool head) {
  std::string extra;
  for (const auto& [name, value] : response.headers) {
    extra += HeaderSafe(name) + ": " + HeaderSafe(value) + "\r\n";
  }
  const bool no_body = response.status == 204 || response.status == 304;
  std::string head_block = "HTTP/1.1 " + std::to_string(response.status) + " " +
                           Reason(response.status) + "\r\n";
  if (!no_body) {
    head_block += "Content-Type: " + HeaderSafe(response.content_type) +
                  "\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  head_block += "Cache-Control: no-store\r\nConnection: close\r\n" + extra + "\r\n";
  // Close after this answer without reading what is left of the request: CivetWeb would
  // otherwise drain an unread body first, and a client dripping one would hold the worker.
  mg_disable_connection_keep_alive(conn);
  mg_write(conn, head_block.data(), head_block.size());
  if (!head && !no_body) mg_write(conn, response.body.data(), response.body.size());
  mg_set_user_connection_data(conn, &kAnswered);
}

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

// Answers what CivetWeb refuses itself (unknown methods, bad request lines, header timeouts,
// oversized heads) with the same JSON error body as everything else.
int OnHttpError(mg_connection* conn, int status, const char* message) {
  if (status < 200 || status == 204 || status == 304) return 1;
  // A request line CivetWeb parsed up to a method it does not know (TRACE, made-up ones):
  // 501, as RFC 9110 §15.6.2 asks for a method the server does not recognise.
  const mg_request_info* info = mg_get_request_info(conn);
  if (status == 400 && info != nullptr && info->request_method != nullptr &&
      info->request_uri != nullptr && info->http_version != nullptr) {
    const std::string method = info->request_method;
    static const std::set<std::string> kKnown = {
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "CONNECT", "PATCH", "PROPFIND",
        "MKCOL", "LOCK", "UNLOCK", "PROPPATCH", "COPY", "MOVE", "REPORT"};
    const bool token = !method.empty() && std::all_of(method.begin(), method.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    });
    if (token && !kKnown.count(method)) {
      HttpResponse response = JsonError(501, "method " + method + " is not supported");
      response.headers.emplace_back("Allow", AllowAny(conn));
      Send(conn, response, /*head=*/false);
      return 0;
    }
  }
  Send(conn, JsonError(status, message != nullptr && *message ? message : Reason(status)),
       /*head=*/false);
  return 0;
}

int OnInitConnection(const mg_connection* conn, void** data) {
  // CivetWeb reuses the connection object: forget the previous connection's request line, so
  // OnConnectionClose sees only this connection's.
  auto* info = const_cast<mg_request_info*>(mg_get_request_info(conn));
  if (info != nullptr) {
    info->request_method = nullptr;
    info->request_uri = nullptr;
    info->local_uri = nullptr;
    info->local_uri_raw = nullptr;
  }
  *data = nullptr;
  return 0;
}

// A request CivetWeb parsed but does not route (request target "*", or an absolute URI naming
// another host) gets no answer from CivetWeb; answer it here, before the socket closes.
void OnConnectionClose(const mg_connection* const_conn) {
  if (mg_get_user_connection_data(const_conn) == &kAnswered) return;
  const mg_request_info* info = mg_get_request_info(const_conn);
  if (info == nullptr || info->request_method == nullptr || info->request_uri == nullptr ||
      info->local_uri != nullptr) {
    return;
  }
  auto* conn = const_cast<mg_connection*>(const_conn);
  if (std::strcmp(info->request_uri, "*") == 0 && std::strcmp(info->request_method, "OPTIONS") == 0) {
    HttpResponse response{204, "", "", {{"Allow", AllowAny(const_conn)}}};
    Send(conn, response, /*head=*/false);
  } else {
    Send(conn, JsonError(400, "the request target must be a path on this server"
                              " ('*' is for OPTIONS only)"),
         std::strcmp(info->request_method, "HEAD") == 0);
  }
}

// The socket CivetWeb reads this request from: the one whose peer is the client's address and
// port and whose local port is the server's. CivetWeb does not expose it; -1 when not found.
int FindSocket(const mg_request_info* info) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {};
    int peer_port = 0, local_port = 0;
    if (peer.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
      inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      peer_port = ntohs(a->sin_port);
      local_port = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
      inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      peer_port = ntohs(a->sin6_port);
      local_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
    } else {
      continue;
    }
    if (peer_port == info->remote_port && local_port == info->server_port &&
        std::strcmp(text, info->remote_addr) == 0) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

}  // namespace

// CivetWeb's reads wait up to request_timeout for each piece of a body but never bound the
// whole: a client sending a byte now and then keeps one mg_read going for hours. The watchdog
// shuts the socket for reading at the body's deadline, which ends the read (EOF) and leaves the
// socket writable for the 408.
class HttpServer::Watchdog {
 public:
  Watchdog() : thread_([this] { Run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::uint64_t Arm(int fd, Clock::time_point deadline) {
    std::lock_guard lock(mu_);
    const std::uint64_t id = next_++;
    armed_[id] = {deadline, fd};
    cv_.notify_all();
    return id;
  }
  // After Disarm returns, the watchdog no longer touches the socket (it may then be closed).
  void Disarm(std::uint64_t id) {
    std::lock_guard lock(mu_);
    armed_.erase(id);
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      auto next = Clock::time_point::max();
      for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->second.first <= Clock::now()) {
          ::shutdown(it->second.second, SHUT_RD);
          it = armed_.erase(it);
        } else {
          next = std::min(next, it->second.first);
          ++it;
        }
      }
      if (next == Clock::time_point::max()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, next);
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, std::pair<Clock::time_point, int>> armed_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

std::string JsonEscape(const std::string& text) { return Escape(text, true); }

std::string ValidUtf8(const std::string& text) { return Escape(text, false); }

namespace {
std::string Escape(const std::string& text, bool json) {
  std::string out;
  out.reserve(text.size() + 8);
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      if (!json) {
        out += static_cast<char>(c);
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7F) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
        out += buffer;
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (cir/utf8.h: RFC 3629) is copied; anything else becomes
    // U+FFFD, one per bad byte.
    if (const std::size_t len = utf8::SequenceLength(text, i); len > 0) {
      out.append(text, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}
}  // namespace

std::string HttpRequest::Param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {
HttpResponse ErrorBody(int status, const std::string& message, const nlohmann::json* details) {
  constexpr std::size_t kMaxMessage = 1000;
  std::string cut = message.size() > kMaxMessage ? message.substr(0, kMaxMessage) + "…" : message;
  // Ordered: "code", "message", "details", as clients and the contract show them.
  nlohmann::ordered_json error{{"code", status}, {"message", ValidUtf8(cut)}};
  if (details != nullptr) error["details"] = *details;
  const nlohmann::ordered_json body{{"error", std::move(error)}};
  return HttpResponse{status, "application/json",
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                      {}};
}
}  // namespace

HttpResponse JsonError(int status, const std::string& message) {
  return ErrorBody(status, message, nullptr);
}

HttpResponse JsonError(int status, const std::string& message, const nlohmann::json& details) {
  return ErrorBody(status, message, &details);
}

HttpResponse RetryLater(int status, const std::string& message, int seconds) {
  HttpResponse response = JsonError(status, message);
  response.headers.emplace_back("Retry-After", std::to_string(seconds));
  return response;
}

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
  std::lock_guard lock(bucket_mu_);
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min(limits_.requests_per_second, tokens_ + elapsed * limits_.requests_per_second);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

HttpResponse HttpServer::Handle(mg_connection* conn, bool& head) {
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  // decode_url is off: local_uri_raw is the path as sent, without the query string.
  const std::string raw = info->local_uri_raw ? info->local_uri_raw : "/";
  if (auto error = ParsePath(raw, request)) return *error;
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
    const auto deadline = Clock::now() + limits_.body_timeout;
    struct Armed {
      Watchdog* watchdog = nullptr;
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

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  bool head = false;
  HttpResponse response;
  try {
    response = self->Handle(conn, head);
  } catch (const std::exception& e) {
    log::Error("http request failed", {{"error", e.what()}});
    response = JsonError(500, "internal error");
  } catch (...) {
    response = JsonError(500, "internal error");
  }
  Send(conn, response, head);
  self->Linger(conn, response.status);
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
  tokens_ = limits.requests_per_second;
  refilled_ = Clock::now();
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
  callbacks.log_message = [](const mg_connection*, const char* message) {
    log::Warn("http server", {{"error", message}});
    return 1;
  };
  callbacks.http_error = &OnHttpError;
  callbacks.init_connection = &OnInitConnection;
  callbacks.connection_close = &OnConnectionClose;
  watchdog_ = std::make_unique<Watchdog>();
  ctx_ = mg_start(&callbacks, this, options);
  if (ctx_ == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, "cannot listen on " + ports +
                                                 ": in use or not an address of this host");
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
  watchdog_.reset();
}

}  // namespace cir::cird
