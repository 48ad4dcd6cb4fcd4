// The secondary indexes of the projections; see index.h.
#include "index.h"

#include <algorithm>

#include "keys.h"

namespace cir::storage::internal {
namespace {

constexpr std::uint8_t kCountFlag = 0x80;
// In the `default` column family: the index holds every projection (see IndexBuilt).
constexpr std::string_view kBuiltKey = "index-built";
constexpr std::string_view kBuiltValue = "1";
constexpr int kBuildBatchOps = 1000;

bool IsText(IndexField field) { return field == IndexField::kOwner || field == IndexField::kTag; }
bool IsTime(IndexField field) {
  return field == IndexField::kUpdatedAt || field == IndexField::kCreatedAt;
}
bool Counted(IndexField field) { return !IsTime(field); }

std::string FieldPrefix(std::uint32_t partition, std::uint8_t field) {
  std::string key = PartitionPrefix(partition);
  key.push_back(static_cast<char>(field));
  return key;
}

std::string NumberValue(std::uint32_t number) {
  std::string value;
  PutU32(value, number);
  return value;
}

std::string TextValue(std::string_view text) {
  std::string value;
  value.reserve(4 + text.size());
  PutU32(value, static_cast<std::uint32_t>(text.size()));
  value.append(text);
  return value;
}

std::string TimeValue(const google::protobuf::Timestamp& t) {
  std::string value;
  PutU64(value, static_cast<std::uint64_t>(t.seconds()) ^ (std::uint64_t{1} << 63));
  PutU32(value, static_cast<std::uint32_t>(t.nanos()));
  return value;
}

std::string Value(const IndexTerm& term) {
  return IsText(term.field) ? TextValue(term.text) : NumberValue(term.number);
}

void Add(IndexEntries& entries, std::uint32_t partition, IndexField field,
         const std::string& value, std::string_view initiative_id) {
  std::string entry = FieldPrefix(partition, static_cast<std::uint8_t>(field));
  entry.reserve(entry.size() + value.size() + initiative_id.size());
  entry.append(value);
  entry.append(initiative_id);
  entries.push_back(std::move(entry));
}

}  // namespace

IndexEntries IndexEntriesOf(std::uint32_t partition, const v1::Initiative& initiative) {
  IndexEntries entries;
  entries.reserve(4 + static_cast<std::size_t>(initiative.activities_size() +
                                               initiative.tags_size() +
                                               initiative.firing_alerts_size()));
  const std::string& id = initiative.initiative_id();
  Add(entries, partition, IndexField::kStep, NumberValue(initiative.step()), id);
  if (initiative.outcome() != v1::OUTCOME_UNSPECIFIED) {
    Add(entries, partition, IndexField::kOutcome, NumberValue(initiative.outcome()), id);
  }
  for (const int activity : initiative.activities()) {
    Add(entries, partition, IndexField::kActivity, NumberValue(activity), id);
  }
  if (!initiative.owner().empty()) {
    Add(entries, partition, IndexField::kOwner, TextValue(initiative.owner()), id);
  }
  for (const std::string& tag : initiative.tags()) {
    Add(entries, partition, IndexField::kTag, TextValue(tag), id);
  }
  for (const auto& alert : initiative.firing_alerts()) {
    Add(entries, partition, IndexField::kAlertKind, NumberValue(alert.kind()), id);
  }
  Add(entries, partition, IndexField::kUpdatedAt, TimeValue(initiative.updated_at()), id);
  Add(entries, partition, IndexField::kCreatedAt, TimeValue(initiative.created_at()), id);
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  return entries;
}

std::string CountKeyOf(std::string_view entry) {
  if (entry.size() < 5) return {};
  const auto field = static_cast<IndexField>(static_cast<std::uint8_t>(entry[4]));
  if (!Counted(field)) return {};
  std::size_t value_size = 4;
  if (IsText(field)) {
    if (entry.size() < 9) return {};
    value_size = 4 + std::size_t{GetU32(entry.substr(5))};
  }
  if (entry.size() < 5 + value_size) return {};
  std::string key(entry.substr(0, 5 + value_size));
  key[4] = static_cast<char>(static_cast<std::uint8_t>(key[4]) | kCountFlag);
  return key;
}

std::string IndexTermPrefix(std::uint32_t partition, const IndexTerm& term) {
  return FieldPrefix(partition, static_cast<std::uint8_t>(term.field)) + Value(term);
}

std::string IndexCountKey(std::uint32_t partition, const IndexTerm& term) {
  return FieldPrefix(partition, static_cast<std::uint8_t>(term.field) | kCountFlag) + Value(term);
}

std::string IndexFieldPrefix(std::uint32_t partition, IndexField field) {
  return FieldPrefix(partition, static_cast<std::uint8_t>(field));
}

std::optional<IndexEntryParts> ParseIndexEntry(std::string_view key, IndexField field) {
  if (key.size() < 5 || static_cast<std::uint8_t>(key[4]) != static_cast<std::uint8_t>(field)) {
    return std::nullopt;
  }
  std::string_view rest = key.substr(5);
  std::size_t value_size = IsTime(field) ? 12 : 4;
  if (IsText(field)) {
    if (rest.size() < 4) return std::nullopt;
    value_size = 4 + std::size_t{GetU32(rest)};
  }
  if (rest.size() <= value_size) return std::nullopt;  // an initiative id is never empty
  return IndexEntryParts{std::string(rest.substr(0, value_size)),
                         std::string(rest.substr(value_size))};
}

std::optional<std::size_t> SortSlot(IndexField field) {
  switch (field) {
    case IndexField::kStep:
      return 0;
    case IndexField::kUpdatedAt:
      return 1;
    case IndexField::kCreatedAt:
      return 2;
    default:
      return std::nullopt;
  }
}

std::optional<std::size_t> EntrySortSlot(std::string_view key) {
  if (key.size() < 5) return std::nullopt;
  return SortSlot(static_cast<IndexField>(static_cast<std::uint8_t>(key[4])));
}

std::string EncodeCount(std::uint64_t count) {
  std::string value;
  PutU64(value, count);
  return value;
}

std::optional<std::uint64_t> DecodeCount(std::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return GetU64(value);
}

Result<std::uint64_t> ReadCount(const Db& db, const std::string& count_key) {
  auto raw = db.Get(Cf::kIndex, count_key);
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return 0;
  auto count = DecodeCount(**raw);
  if (!count) {
    return Fail(ErrorCode::kCorruption,
                "malformed index counter at key " + Printable(count_key) + " in " + db.path());
  }
  return *count;
}

Result<bool> IndexBuilt(const Db& db) {
  auto raw = db.Get(Cf::kDefault, std::string(kBuiltKey));
  if (!raw) return std::unexpected(raw.error());
  return raw->has_value() && **raw == kBuiltValue;
}

Result<std::uint64_t> BuildIndex(const Db& db, bool sync, std::uint64_t* skipped) {
  std::uint64_t none = 0;
  if (skipped == nullptr) skipped = &none;
  *skipped = 0;
  rocksdb::WriteBatch batch;
  auto flush = [&](bool force) -> Result<void> {
    if (batch.Count() == 0 || (!force && batch.Count() < kBuildBatchOps)) return {};
    auto written = db.Write(batch, sync, "building the index");
    batch.Clear();
    return written;
  };
  // Nothing of an earlier index survives (an index built by a build that did not finish, or
  // one from before a Rebuild): every partition's keys start with 4 bytes, so this covers them.
  const std::string all_end(5, '\xff');
  if (auto status = batch.DeleteRange(db.cf(Cf::kIndex), rocksdb::Slice(), all_end); !status.ok()) {
    return std::unexpected(FromStatus(status, "dropping the index"));
  }
  if (auto status = batch.Delete(db.cf(Cf::kDefault), std::string(kBuiltKey)); !status.ok()) {
    return std::unexpected(FromStatus(status, "dropping the index"));
  }
  if (auto ok = flush(/*force=*/true); !ok) return std::unexpected(ok.error());

  std::map<std::string, std::uint64_t> counts;
  std::uint64_t indexed = 0;
  auto scanned = ForEach(
      db, Cf::kProjections, [&](std::string_view key, std::string_view value) -> Result<void> {
        auto partition = ParsePartition(key);
        auto state = Db::Parse<v1::Initiative>(Cf::kProjections, key, value);
        // Left out, not an error: the register must still open, for Repair is what fixes such a
        // projection (and builds the index again); Verify reports it meanwhile.
        if (!partition || !state) {
          ++*skipped;
          return {};
        }
        for (const std::string& entry : IndexEntriesOf(*partition, *state)) {
          (void)batch.Put(db.cf(Cf::kIndex), entry, rocksdb::Slice());
          if (std::string count_key = CountKeyOf(entry); !count_key.empty()) ++counts[count_key];
        }
        ++indexed;
        return flush(/*force=*/false);
      });
  if (!scanned) return std::unexpected(scanned.error());
  for (const auto& [key, count] : counts) {
    (void)batch.Put(db.cf(Cf::kIndex), key, EncodeCount(count));
    if (auto ok = flush(/*force=*/false); !ok) return std::unexpected(ok.error());
  }
  (void)batch.Put(db.cf(Cf::kDefault), std::string(kBuiltKey), std::string(kBuiltValue));
  if (auto ok = flush(/*force=*/true); !ok) return std::unexpected(ok.error());
  return indexed;
}

}  // namespace cir::storage::internal

namespace cir::storage {

std::string SortPosition(IndexField field, const v1::Initiative& initiative) {
  switch (field) {
    case IndexField::kUpdatedAt:
      return internal::TimeValue(initiative.updated_at());
    case IndexField::kCreatedAt:
      return internal::TimeValue(initiative.created_at());
    default:
      return internal::NumberValue(static_cast<std::uint32_t>(initiative.step()));
  }
}

}  // namespace cir::storage
