// The partitions' summaries (v1::PartitionSummary): what each partition's projections add up to,
// kept in its meta in step with them, so that register-wide figures cost O(partitions).
//
// BatchBuilder takes out what a projection counted when it loads it and adds what it counts at
// Commit, in the same write; Register::Open counts the partitions whose meta has no summary yet
// (a register written before summaries existed); Rebuild and Repair recount them all; Verify
// compares them with the projections.
//
// Internal to cir::storage.
#pragma once

#include <cstdint>

#include "cir/storage/register.h"
#include "cir/v1/register.pb.h"
#include "db.h"

namespace cir::storage::internal {

// Adds what `state` counts to `summary` (sign +1), or takes it out (sign -1). A figure never goes
// below zero (only a summary out of step with its projections would; Verify reports that), and a
// map entry that reaches zero is removed.
void Count(v1::PartitionSummary& summary, const v1::Initiative& state, int sign);

// Every projection of `partition` counted (a scan of them).
[[nodiscard]] Result<v1::PartitionSummary> CountPartition(const Db& db, std::uint32_t partition);

// Adds a partition's summary to `out`.
void AddTo(Summary& out, const v1::PartitionSummary& summary);

// Counts the projections of every partition that has a meta and writes the summary into it
// (`only_missing`: of the partitions whose meta has none yet, skipping, with a warning, one whose
// projections do not all parse). Returns how many it wrote. Not concurrently with appends to
// those partitions.
[[nodiscard]] Result<std::uint32_t> RecountSummaries(const Db& db, bool sync, bool only_missing);

// Whether two summaries hold the same figures.
[[nodiscard]] bool SameSummary(const v1::PartitionSummary& a, const v1::PartitionSummary& b);

}  // namespace cir::storage::internal
