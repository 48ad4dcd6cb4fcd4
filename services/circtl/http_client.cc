#include "http_client.h"

#include <civetweb.h>

#include <cctype>
#include <cstdio>
#include <mutex>

namespace cir::services {

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

Result<HttpReply> HttpCall(const std::string& method, const std::string& url,
                           const std::string& body,
                           const std::map<std::string, std::string>& headers,
                           std::chrono::milliseconds timeout) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "'" + url + "' is not an http:// URL");
  }
  const std::string rest = url.substr(prefix.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon);
  int port = 80;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(authority.substr(colon + 1));
    } catch (const std::exception&) {
      return Fail(ErrorCode::kInvalidArgument, "'" + url + "' has a bad port");
    }
  }
  char error[256] = {0};
  mg_connection* conn = mg_connect_client(host.c_str(), port, 0, error, sizeof error);
  if (conn == nullptr) {
    return Fail(ErrorCode::kUnavailable, "cannot connect to " + authority + ": " + error);
  }
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + authority +
                        "\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  mg_write(conn, request.data(), request.size());
  if (!body.empty()) mg_write(conn, body.data(), body.size());
  if (mg_get_response(conn, error, sizeof error, static_cast<int>(timeout.count())) < 0) {
    mg_close_connection(conn);
    return Fail(ErrorCode::kUnavailable, "no response from " + authority + ": " + error);
  }
  HttpReply reply;
  reply.status = mg_get_response_info(conn)->status_code;
  char buffer[8192];
  for (;;) {
    const int n = mg_read(conn, buffer, sizeof buffer);
    if (n <= 0) break;
    reply.body.append(buffer, static_cast<std::size_t>(n));
  }
  mg_close_connection(conn);
  return reply;
}

}  // namespace cir::services
