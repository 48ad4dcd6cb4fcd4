// Event-time ("stream time") timer firing, shared by `circtl replay` and cird's --time=event mode:
// timers fire at their own due-times as the input's event time passes them, so that a replay gives
// the same outputs however fast it runs.
#pragma once

#include <cstdint>

#include <google/protobuf/timestamp.pb.h>

#include "cir/base/error.h"
#include "cir/storage/register.h"

namespace cir::storage {

// Fires every timer of `partition` due at or before `until`, earliest first, each with its own
// due-time as the firing time (so a chain of timers unfolds as it would have in real time).
// Returns how many fired. REQUIRES: the caller is the only writer of `partition`.
[[nodiscard]] Result<std::uint64_t> FireDueUntil(Register& reg, std::uint32_t partition,
                                                 const google::protobuf::Timestamp& until,
                                                 const Projector& projector);

}  // namespace cir::storage
