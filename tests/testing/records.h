// Editing events::Records in tests (the codec and hostile-input suites): headers, nested JSON.
// Header-only; needs cir::events.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "cir/events/cloudevents.h"

namespace cir::testing {

// Sets header `key` to `value`, replacing every earlier header of that key.
inline void SetHeader(events::Record& r, const std::string& key, const std::string& value) {
  std::erase_if(r.headers, [&](const auto& h) { return h.first == key; });
  r.headers.emplace_back(key, value);
}

// Removes every header of `key`.
inline void DropHeader(events::Record& r, const std::string& key) {
  std::erase_if(r.headers, [&](const auto& h) { return h.first == key; });
}

// `depth` nested JSON arrays: "[[...]]", for parser-depth limits.
inline std::string Nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace cir::testing
