// A minimal HTTP/1.1 client on CivetWeb's client API (the same library cird serves with), for
// circtl's API commands and the API tests. One request per connection; plain HTTP only.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "cir/base/error.h"

namespace cir::services {

struct HttpReply {
  int status = 0;
  std::string body;
};

// `url` is "http://host:port/path?query". Errors (kUnavailable) only for transport failures;
// any HTTP status is a reply.
[[nodiscard]] Result<HttpReply> HttpCall(const std::string& method, const std::string& url,
                                         const std::string& body = "",
                                         const std::map<std::string, std::string>& headers = {},
                                         std::chrono::milliseconds timeout =
                                             std::chrono::milliseconds(10000));

// Percent-encodes a path segment or query value.
[[nodiscard]] std::string UrlEncode(const std::string& text);

}  // namespace cir::services
