// Page tokens of the register API (api_page_token.h).
#include "api_page_token.h"

#include <cstdint>
#include <exception>
#include <optional>

#include "api.h"

namespace cir::cird::api_internal {
namespace {

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(sep, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

std::string Base64Url(const std::string& in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out += kAlphabet[(buffer >> (bits - 6)) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

std::optional<std::string> FromBase64Url(const std::string& in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::variant<Paging, HttpResponse> ReadPaging(const HttpRequest& request,
                                              const std::string& fingerprint,
                                              const ApiOptions& options, std::size_t fields) {
  Paging paging;
  paging.size = options.default_page_size;
  if (const std::string size = request.Param("page_size"); !size.empty()) {
    std::size_t used = 0;
    long long n = -1;
    try {
      n = std::stoll(size, &used);
    } catch (const std::exception&) {
    }
    if (used != size.size() || n < 1 || n > static_cast<long long>(options.max_page_size)) {
      return JsonError(400, "page_size must be a whole number from 1 to " +
                                std::to_string(options.max_page_size));
    }
    paging.size = static_cast<std::size_t>(n);
  }
  if (const std::string token = request.Param("page_token"); !token.empty()) {
    auto decoded = FromBase64Url(token);
    std::vector<std::string> parts = decoded ? Split(*decoded, '\n') : std::vector<std::string>{};
    if (parts.size() != fields + 1 || parts[0] != fingerprint) {
      return JsonError(400, "page_token is not a token of this query (tokens are opaque; pass "
                            "back next_page_token with the same filters)");
    }
    paging.cursor.assign(parts.begin() + 1, parts.end());
  }
  return paging;
}

std::string Token(const std::string& fingerprint, const std::vector<std::string>& fields) {
  std::string raw = fingerprint;
  for (const auto& f : fields) raw += "\n" + f;
  return Base64Url(raw);
}

}  // namespace cir::cird::api_internal
