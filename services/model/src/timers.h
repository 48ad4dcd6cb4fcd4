// The model's due-times (private to cir::model): deriving the timers a state calls for, and
// folding a TimerElapsed. See "Due-times" in ../README.md.
#pragma once

#include "cir/model/config.h"
#include "fold.h"

namespace cir::model {

// Replaces the state's timers with the due-times it calls for, derived from it alone (so a rebuild
// gets the same ones). A timer whose alert is firing is not armed again, which is what keeps a
// fired timer from firing twice.
void ComputeTimers(const Config& config, Fold& f);

// Fires the alert of a due timer. Returns false when the timer is not (or no longer) one the
// state asks for (the caller records it as STALE_TIMER).
[[nodiscard]] bool OnTimer(Fold& f, const v1::TimerElapsed& e);

}  // namespace cir::model
