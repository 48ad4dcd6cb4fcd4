// Verify and Rebuild: the register checked against, and repaired from, its streams.
//
// Internal to cir::storage.
#pragma once

#include <cstdint>

#include "cir/storage/projector.h"
#include "cir/storage/register.h"
#include "db.h"

namespace cir::storage::internal {

// Reads the whole database and reports every broken invariant (Register::Verify).
[[nodiscard]] Result<VerifyReport> VerifyDb(const Db& db, const Projector& projector);

// Rewrites projections and the due-time index from the streams (Register::Rebuild).
// REQUIRES: no concurrent writer.
[[nodiscard]] Result<std::uint64_t> RebuildDb(const Db& db, const Projector& projector, bool sync);

}  // namespace cir::storage::internal
