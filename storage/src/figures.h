// The register's figures that come from RocksDB itself rather than from a scan of the data:
// the partitions' counters and the database's properties (Register::GetStats, Register::Figures).
//
// Internal to cir::storage.
#pragma once

#include "cir/storage/register.h"
#include "db.h"

namespace cir::storage::internal {

// The counters of every partition's meta, summed.
[[nodiscard]] Result<Stats> ReadStats(const Db& db);

// RocksDB's size and memory properties summed over the column families, and the write counts.
[[nodiscard]] DbFigures ReadFigures(const Db& db);

}  // namespace cir::storage::internal
