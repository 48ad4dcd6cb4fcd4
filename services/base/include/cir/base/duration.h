// Durations as people write them in flags and environment variables — one parser and one rule for
// every program (cird's timing flags, the model's limits in cird and circtl).
//
// The rule: a whole number followed by a unit, ms, s, m, h or d ("250ms", "10s", "15m", "12h",
// "30d"); a bare number is an error (it used to mean milliseconds in one program and seconds in
// another), except "0", which has no unit to name. At most kMaxDuration (100 years), so that no
// derived time overflows.
#pragma once

#include <chrono>
#include <string_view>

#include "cir/base/error.h"

namespace cir::base {

// 100 years of 365.25 days: the upper bound of every duration flag.
inline constexpr std::chrono::milliseconds kMaxDuration{36525LL * 86400 * 1000};

// Parses `text` by the rule above. Errors (kInvalidArgument) name `flag` and quote `text`.
// Thread-safety: pure.
[[nodiscard]] Result<std::chrono::milliseconds> ParseDuration(std::string_view flag,
                                                              std::string_view text);

// As ParseDuration, for settings kept in whole seconds: "1500ms" is an error, "2000ms" is 2s.
[[nodiscard]] Result<std::chrono::seconds> ParseSeconds(std::string_view flag,
                                                        std::string_view text);

}  // namespace cir::base
