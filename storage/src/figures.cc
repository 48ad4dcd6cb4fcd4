// The register's figures from RocksDB (figures.h).
#include "figures.h"

#include <cstdint>

namespace cir::storage::internal {

Result<Stats> ReadStats(const Db& db) {
  Stats stats;
  auto scanned =
      ForEach(db, Cf::kMeta, [&](std::string_view key, std::string_view value) -> Result<void> {
        auto meta = Db::Parse<v1::PartitionMeta>(Cf::kMeta, key, value);
        if (!meta) return std::unexpected(meta.error());
        stats.events_appended += meta->events_appended();
        stats.duplicates_skipped += meta->duplicates_skipped();
        stats.events_rejected += meta->events_rejected();
        stats.timers_fired += meta->timers_fired();
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());
  return stats;
}

DbFigures ReadFigures(const Db& db) {
  DbFigures figures;
  auto sum = [&](const char* property) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(Cf::kCount); ++i) {
      std::uint64_t value = 0;
      if (db.raw()->GetIntProperty(db.cf(static_cast<Cf>(i)), property, &value)) total += value;
    }
    return total;
  };
  figures.live_data_bytes = sum("rocksdb.estimate-live-data-size");
  figures.pending_compaction_bytes = sum("rocksdb.estimate-pending-compaction-bytes");
  figures.memtable_bytes = sum("rocksdb.cur-size-all-mem-tables");
  figures.sst_files_bytes = sum("rocksdb.total-sst-files-size");
  figures.writes = db.writes();
  figures.synced_writes = db.synced_writes();
  const auto key_writes = db.key_writes();
  for (std::size_t i = 0; i < key_writes.size(); ++i) {
    if (key_writes[i] != 0) figures.key_writes.emplace_back(kCfNames[i], key_writes[i]);
  }
  figures.wal_bytes = db.wal_bytes();
  // One block cache is shared by every column family: read it once.
  std::uint64_t value = 0;
  if (db.raw()->GetIntProperty(db.cf(Cf::kProjections), "rocksdb.block-cache-usage", &value)) {
    figures.block_cache_usage_bytes = value;
  }
  if (db.raw()->GetIntProperty(db.cf(Cf::kProjections), "rocksdb.block-cache-capacity", &value)) {
    figures.block_cache_capacity_bytes = value;
  }
  return figures;
}

}  // namespace cir::storage::internal
