// The one duration parser (see duration.h).
#include "cir/base/duration.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

namespace cir::base {
namespace {

std::unexpected<Error> Bad(std::string_view flag, std::string_view text, const std::string& why) {
  return Fail(ErrorCode::kInvalidArgument,
              std::string(flag) + " '" + std::string(text) + "': " + why);
}

constexpr const char* kRule = "expected a whole number and a unit: ms, s, m, h or d (e.g. 30d)";

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view flag, std::string_view text) {
  std::uint64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ptr == begin) return Bad(flag, text, kRule);
  if (ec == std::errc::result_out_of_range) {
    return Bad(flag, text, "longer than 100 years (36525d), the limit");
  }
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  std::uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else if (unit.empty() && value == 0)
    scale = 1;
  else if (unit.empty())
    return Bad(flag, text, std::string("a unit is required; ") + kRule);
  else
    return Bad(flag, text, "unknown unit '" + std::string(unit) + "'; " + kRule);
  const auto max = static_cast<std::uint64_t>(kMaxDuration.count());
  if (value > max / scale) {  // value * scale would pass the bound (or overflow)
    return Bad(flag, text, "longer than 100 years (36525d), the limit");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * scale));
}

Result<std::chrono::seconds> ParseSeconds(std::string_view flag, std::string_view text) {
  auto ms = ParseDuration(flag, text);
  if (!ms) return std::unexpected(ms.error());
  if (ms->count() % 1000 != 0) {
    return Bad(flag, text, "must be a whole number of seconds");
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*ms);
}

}  // namespace cir::base
