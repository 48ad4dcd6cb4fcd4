// cird's HTTP server at CivetWeb's C boundary (http_boundary.h).
#include "http_boundary.h"

#include <civetweb.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

namespace cir::cird {
namespace {

const std::string& AllowAny(const mg_connection* conn) {
  static const std::string kFallback = "GET, HEAD, OPTIONS";
  const auto* server = static_cast<const HttpServer*>(mg_get_user_data(mg_get_context(conn)));
  return server != nullptr ? server->allow_any() : kFallback;
}

// Per-connection marker (CivetWeb's user connection data): set once an answer was sent.
char kAnswered;

// Header values we send come from our own code, but never let one end the header block.
std::string HeaderSafe(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c != '\r' && c != '\n') out += c;
  }
  return out;
}

// Answers what CivetWeb refuses itself (unknown methods, bad request lines, header timeouts,
// oversized heads) with the same JSON error body as everything else.
int AnswerHttpError(mg_connection* conn, int status, const char* message) {
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
void AnswerUnrouted(const mg_connection* const_conn) {
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


int OnHttpError(mg_connection* conn, int status, const char* message) {
  int result = 1;  // CivetWeb's own answer if ours could not be written
  AtBoundary("http error answer failed",
             [&] { result = AnswerHttpError(conn, status, message); });
  return result;
}

void OnConnectionClose(const mg_connection* conn) {
  AtBoundary("http close answer failed", [&] { AnswerUnrouted(conn); });
}

int OnLogMessage(const mg_connection*, const char* message) {
  AtBoundary("http server log failed", [&] { log::Warn("http server", {{"error", message}}); });
  return 1;
}

}  // namespace

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

void InstallCallbacks(mg_callbacks& callbacks) {
  callbacks.log_message = &OnLogMessage;
  callbacks.http_error = &OnHttpError;
  callbacks.init_connection = &OnInitConnection;
  callbacks.connection_close = &OnConnectionClose;
}

}  // namespace cir::cird
