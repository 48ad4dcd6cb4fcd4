#include "model_flags.h"

#include <cctype>
#include <charconv>

#include "cir/v1/improvement.pb.h"

namespace cir::services {

Result<std::chrono::seconds> ParseDuration(const std::string& text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || value < 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + text + "' is not a duration (a whole number with s, m, h or d)");
  }
  const std::string unit(ptr, end);
  long long scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  else if (unit == "d") scale = 86400;
  else {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + text + "' has an unknown unit '" + unit + "' (use s, m, h or d)");
  }
  return std::chrono::seconds(value * scale);
}

void ModelFlags::Register(CLI::App& app) {
  app.add_option("--stall-limit", stall_limits,
                 "STEP=DURATION: how long an initiative may sit in STEP without progress before "
                 "STALLED fires (repeatable; 0 turns it off). Defaults: vision=14d, "
                 "current_state=30d, target_state=30d, plan=30d, action=60d, review=30d, "
                 "momentum=30d")
      ->envname("CIR_STALL_LIMITS")
      ->delimiter(',');
  app.add_option("--momentum-limit", momentum_limit,
                 "how long an achieved target may go without momentum before "
                 "MOMENTUM_NOT_SUSTAINED fires (default 60d)")
      ->envname("CIR_MOMENTUM_LIMIT");
}

Result<model::Config> ModelFlags::ToConfig() const {
  model::Config config;
  for (const std::string& item : stall_limits) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--stall-limit '" + item + "': expected STEP=DURATION, e.g. plan=30d");
    }
    std::string step_name = "STEP_" + item.substr(0, eq);
    for (char& c : step_name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    v1::Step step;
    if (!v1::Step_Parse(step_name, &step) || step == v1::STEP_UNSPECIFIED ||
        step == v1::STEP_CLOSED) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--stall-limit '" + item +
                      "': unknown step (vision, current_state, target_state, plan, action, "
                      "review, momentum)");
    }
    auto duration = ParseDuration(item.substr(eq + 1));
    if (!duration) {
      return Fail(ErrorCode::kInvalidArgument, "--stall-limit: " + duration.error().message);
    }
    config.stall_limit[static_cast<std::size_t>(step)] = *duration;
  }
  if (!momentum_limit.empty()) {
    auto duration = ParseDuration(momentum_limit);
    if (!duration) {
      return Fail(ErrorCode::kInvalidArgument, "--momentum-limit: " + duration.error().message);
    }
    config.momentum_limit = *duration;
  }
  if (auto valid = config.Validate(); !valid) return std::unexpected(valid.error());
  return config;
}

}  // namespace cir::services
