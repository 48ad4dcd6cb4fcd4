// HttpRequest's accessors and the JSON error answers (http_server.h).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cir/base/utf8.h"
#include "http_server.h"

namespace cir::cird {
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
    // A well-formed UTF-8 sequence (cir/base/utf8.h: RFC 3629) is copied; anything else becomes
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

std::string JsonEscape(const std::string& text) { return Escape(text, true); }

std::string ValidUtf8(const std::string& text) { return Escape(text, false); }

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

}  // namespace cir::cird
