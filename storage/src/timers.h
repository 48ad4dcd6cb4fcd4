// Internal to cir::storage: the timers' due-time index and the firing of due timers into a batch
// (timers.cc). The public event-time loop is cir/storage/stream_time.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include <google/protobuf/timestamp.pb.h>

#include "batch.h"
#include "cir/base/error.h"
#include "cir/v1/register.pb.h"
#include "db.h"

namespace cir::storage::internal {

// The kTimers keys of every timer `state` lists (one per timer, see keys.h TimerKey).
[[nodiscard]] std::set<std::string> TimerKeys(std::uint32_t partition, const v1::Initiative& state);

// Folds a TimerElapsed into `batch` for each of the first `limit` timers of `partition` due at or
// before `now` that the projection still lists (stale index keys are deleted instead). Reads
// only keys from `from` (no live key of the partition sorts before it: LiveFloors) to those due
// by `now`, so the cost is the number of due timers. Returns the key where the next scan may
// start once the batch is written (every key before it that this scan saw is deleted in
// `batch`). kCorruption on a malformed index key. REQUIRES: `batch` is of `partition`; the caller
// is its only writer.
[[nodiscard]] Result<std::string> FireDue(const Db& db, BatchBuilder& batch,
                                          std::uint32_t partition,
                                          const google::protobuf::Timestamp& now,
                                          std::size_t limit, std::string from);

}  // namespace cir::storage::internal
