// The improvement model: pure functions of (initiative state, event) → (outputs, next state).
//
// No clock reads, no I/O, no globals: "now" is the time carried by the event (the event time of a
// value-chain event, the firing time of a TimerElapsed). That makes every decision reproducible,
// which is what lets the register rebuild its projections from the streams. The rules are
// described, with their edge cases, in services/model/README.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cir/model/config.h"
#include "cir/v1/improvement.pb.h"
#include "cir/v1/register.pb.h"

namespace cir::model {

struct Decision {
  enum class Disposition { kApplied, kIgnored, kRejected };
  Disposition disposition = Disposition::kApplied;
  // Why, when not applied (README): the reason of the disposition's kind is set, the other is
  // _UNSPECIFIED.
  v1::DeadLetterReason rejected_for = v1::DEAD_LETTER_REASON_UNSPECIFIED;  // UNKNOWN_INITIATIVE, …
  v1::IgnoreReason ignored_for = v1::IGNORE_REASON_UNSPECIFIED;            // UNKNOWN_KPI, …
  std::string reason;
  v1::Initiative state;            // the next state (unchanged but for revision when ignored)
  std::vector<v1::Output> outputs;  // transitions and alerts, in the order they happened

  // The reason's code as the register stores it and cird sends it ("UNKNOWN_INITIATIVE",
  // "STALE_TIMER"; base::EnumName); "" when applied.
  [[nodiscard]] std::string_view reason_code() const;
};

// Folds `event` (revision already assigned) into `current` (null: no such initiative yet).
// Thread-safety: pure; call from any thread.
[[nodiscard]] Decision Apply(const Config& config, const v1::Initiative* current,
                             const v1::StoredEvent& event);

// The guiding principles carried on a transition into `step`, in DESIGN.md §2.3 order.
[[nodiscard]] const std::vector<v1::Principle>& PrinciplesOf(v1::Step step);

// The risk named when `step` is skipped (DESIGN.md §2.2).
[[nodiscard]] const std::string& RiskOfSkipping(v1::Step step);

}  // namespace cir::model
