// The secondary indexes of the projections (the `index` column family): their keys, the entries
// and counters a projection contributes, and building them from the projections (at Open for a
// register written before they existed, and after Rebuild or Repair).
//
// An entry is `P field value initiative` (empty value); a counter is `P (field | 0x80) value` →
// the number of the partition's initiatives with that value, u64 big-endian. Values are a u32
// for the enum fields, a u32 length and the bytes for owner and tag, and for the time fields the
// seconds (sign bit flipped) as u64 and the nanos as u32, so that byte order is the field's order.
// Only the filter fields have counters.
//
// Internal to cir::storage.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cir/storage/register.h"
#include "db.h"

namespace cir::storage::internal {

// The index entries of `initiative` in `partition`, sorted, each once.
using IndexEntries = std::vector<std::string>;
[[nodiscard]] IndexEntries IndexEntriesOf(std::uint32_t partition,
                                          const v1::Initiative& initiative);
// The counter an entry counts in; empty for the sort-only fields (and a malformed key).
[[nodiscard]] std::string CountKeyOf(std::string_view entry);

// `term`'s entries: the key prefix they share, and the counter key.
[[nodiscard]] std::string IndexTermPrefix(std::uint32_t partition, const IndexTerm& term);
[[nodiscard]] std::string IndexCountKey(std::uint32_t partition, const IndexTerm& term);
// All entries of `field` in `partition`.
[[nodiscard]] std::string IndexFieldPrefix(std::uint32_t partition, IndexField field);
// The initiative id at the end of an entry key under `prefix` (the field's or a term's): the
// bytes after the value. nullopt when the key is malformed.
struct IndexEntryParts {
  std::string position;  // the value's bytes (SortPosition)
  std::string initiative_id;
};
[[nodiscard]] std::optional<IndexEntryParts> ParseIndexEntry(std::string_view key,
                                                             IndexField field);

// The sort fields' slots in LiveFloors (step 0, updated_at 1, created_at 2); nullopt for the
// others. `EntrySortSlot` reads the field from an entry key.
[[nodiscard]] std::optional<std::size_t> SortSlot(IndexField field);
[[nodiscard]] std::optional<std::size_t> EntrySortSlot(std::string_view key);

[[nodiscard]] std::string EncodeCount(std::uint64_t count);
[[nodiscard]] std::optional<std::uint64_t> DecodeCount(std::string_view value);
// A counter's value in the database (0 when absent).
[[nodiscard]] Result<std::uint64_t> ReadCount(const Db& db, const std::string& count_key);

// Whether the index is built for every projection (the marker BuildIndex leaves in `default`).
[[nodiscard]] Result<bool> IndexBuilt(const Db& db);
// Drops the whole index and builds it from the stored projections, in batches, then sets the
// marker. Returns the number of projections indexed; a projection that does not parse (or whose
// key is malformed) is left out and counted in `skipped`.
[[nodiscard]] Result<std::uint64_t> BuildIndex(const Db& db, bool sync,
                                               std::uint64_t* skipped = nullptr);

}  // namespace cir::storage::internal
