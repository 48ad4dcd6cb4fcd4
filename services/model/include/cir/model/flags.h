// Command-line flags for the model's configuration, shared by every program that folds events
// (cird and circtl), so that they agree on the time limits. Durations follow
// cir/base/duration.h's rule.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cir/base/error.h"
#include "cir/model/config.h"

namespace cir::model {

struct ModelFlags {
  std::vector<std::string> stall_limits;  // "plan=30d", repeatable
  std::string momentum_limit;             // "60d"
  std::string lessons_limit;              // "30d"; "0": off

  // Adds --stall-limit, --momentum-limit and --lessons-limit (CIR_* environment variables) to
  // `app`.
  void Register(CLI::App& app);
  // The configuration the flags describe (defaults where unset). Errors name the bad flag.
  [[nodiscard]] Result<model::Config> ToConfig() const;
};

}  // namespace cir::model
