// Command-line flags for the model's configuration, shared by every program that folds events
// (circtl now, cird later), so that they agree on the time limits.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cir/error.h"
#include "cir/model/config.h"

namespace cir::services {

struct ModelFlags {
  std::vector<std::string> stall_limits;  // "plan=30d", repeatable
  std::string momentum_limit;             // "60d"

  // Adds --stall-limit and --momentum-limit to `app`.
  void Register(CLI::App& app);
  // The configuration the flags describe (defaults where unset). Errors name the bad flag.
  [[nodiscard]] Result<model::Config> ToConfig() const;
};

// Parses "90s", "15m", "12h", "30d" (a bare number means seconds).
[[nodiscard]] Result<std::chrono::seconds> ParseDuration(const std::string& text);

}  // namespace cir::services
