// The register API's opaque page tokens: base64url of "<query fingerprint>\n<field>\n…" (the
// list: sort key and id; histories: a position). A token from another query is refused, so a
// client cannot page one query with another's cursor. Private to cird's api.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "http_server.h"

namespace cir::cird {
struct ApiOptions;
}

namespace cir::cird::api_internal {

// base64url without padding, and back (nullopt on a character outside the alphabet).
[[nodiscard]] std::string Base64Url(const std::string& in);
[[nodiscard]] std::optional<std::string> FromBase64Url(const std::string& in);

struct Paging {
  std::size_t size = 0;
  std::vector<std::string> cursor;  // decoded token fields after the fingerprint; empty: first
};

// Reads page_size and page_token (a token of `fingerprint` with `fields` fields); the 400
// answer when either is bad.
[[nodiscard]] std::variant<Paging, HttpResponse> ReadPaging(const HttpRequest& request,
                                                            const std::string& fingerprint,
                                                            const ApiOptions& options,
                                                            std::size_t fields);

// The next_page_token for `fingerprint` and the cursor `fields`.
[[nodiscard]] std::string Token(const std::string& fingerprint,
                                const std::vector<std::string>& fields);

}  // namespace cir::cird::api_internal
