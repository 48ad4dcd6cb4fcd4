// The model's flags (see cir/model/flags.h): --stall-limit, --momentum-limit, --lessons-limit.
#include "cir/model/flags.h"

#include <cctype>

#include "cir/v1/improvement.pb.h"
#include "cir/base/duration.h"

namespace cir::model {

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
  app.add_option("--lessons-limit", lessons_limit,
                 "how long an initiative that failed (closed UNSUCCESSFUL, or withdrawn after a "
                 "missed target) may go without lessons learned before LESSONS_NOT_RECORDED fires "
                 "(default 30d; 0 turns it off)")
      ->envname("CIR_LESSONS_LIMIT");
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
    auto duration = base::ParseSeconds("--stall-limit " + item.substr(0, eq), item.substr(eq + 1));
    if (!duration) return std::unexpected(duration.error());
    config.stall_limit[static_cast<std::size_t>(step)] = *duration;
  }
  if (!momentum_limit.empty()) {
    auto duration = base::ParseSeconds("--momentum-limit", momentum_limit);
    if (!duration) return std::unexpected(duration.error());
    config.momentum_limit = *duration;
  }
  if (!lessons_limit.empty()) {
    auto duration = base::ParseSeconds("--lessons-limit", lessons_limit);
    if (!duration) return std::unexpected(duration.error());
    config.lessons_limit = *duration;
  }
  if (auto valid = config.Validate(); !valid) return std::unexpected(valid.error());
  return config;
}

}  // namespace cir::model
