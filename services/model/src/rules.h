// The per-event rules of the model (private to cir::model): one function per value-chain event,
// plus the review and iteration logic they share. Each mutates the fold's state and emits outputs
// through it. See ../README.md for the rules and their reasons.
#pragma once

#include "cir/model/config.h"
#include "fold.h"

namespace cir::model {

// Starts iteration + 1 at `step` (PLAN when the objective is still relevant, TARGET_STATE when
// not): the plan, actions and review of the finished iteration are cleared; when the objective is
// no longer relevant its targets go too.
void StartIteration(Fold& f, v1::Step step);

void OnBaseline(Fold& f, const v1::BaselineMeasured& e);
void OnTarget(Fold& f, const v1::TargetSet& e);
void OnPlan(Fold& f, const v1::PlanDefined& e);
void OnAction(Fold& f, const v1::ActionUpdated& e);
// Returns false when the KPI is unknown (no baseline and no target); the state is then unchanged
// but for the fold's copy, which the caller discards.
[[nodiscard]] bool OnMeasurement(const Config& config, Fold& f, const v1::KpiMeasured& e);
void OnReview(Fold& f, const v1::ReviewConcluded& e);
void OnMomentum(Fold& f, const v1::MomentumRecorded& e);
// Closes the initiative with `outcome` (InitiativeClosed, or WITHDRAWN for InitiativeWithdrawn).
void Close(Fold& f, v1::Outcome outcome);

}  // namespace cir::model
