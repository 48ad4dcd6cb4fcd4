// The partitions' summaries (summary.h).
#include "summary.h"

#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "cir/base/log.h"
#include "keys.h"

namespace cir::storage::internal {
namespace {

template <typename Map>
void Adjust(Map& map, std::int32_t key, std::int64_t delta) {
  if (delta == 0) return;
  auto it = map.find(key);
  using Value = typename Map::mapped_type;
  if (it == map.end()) {
    if (delta > 0 || std::is_signed_v<Value>) map[key] = static_cast<Value>(delta);
    return;
  }
  if constexpr (std::is_signed_v<Value>) {
    it->second += delta;
  } else {
    const auto magnitude = static_cast<Value>(delta < 0 ? -delta : delta);
    it->second =
        delta > 0 ? it->second + magnitude : (it->second > magnitude ? it->second - magnitude : 0);
  }
  if (it->second == 0) map.erase(it);
}

std::uint64_t Adjusted(std::uint64_t value, std::int64_t delta) {
  if (delta >= 0) return value + static_cast<std::uint64_t>(delta);
  const auto magnitude = static_cast<std::uint64_t>(-delta);
  return value > magnitude ? value - magnitude : 0;
}

}  // namespace

void Count(v1::PartitionSummary& summary, const v1::Initiative& state, int sign) {
  summary.set_initiatives(Adjusted(summary.initiatives(), sign));
  Adjust(*summary.mutable_by_step(), state.step(), sign);
  if (state.step() == v1::STEP_CLOSED) Adjust(*summary.mutable_by_outcome(), state.outcome(), sign);
  for (const auto& alert : state.firing_alerts()) {
    Adjust(*summary.mutable_firing(), alert.kind(), sign);
  }
  if (state.iteration() > 1) {
    summary.set_iterations_beyond_first(
        Adjusted(summary.iterations_beyond_first(),
                 sign * static_cast<std::int64_t>(state.iteration() - 1)));
  }
  for (const auto& t : state.step_times()) {
    Adjust(*summary.mutable_step_seconds(), t.step(), sign * t.seconds());
    Adjust(*summary.mutable_step_visits(), t.step(), sign * static_cast<std::int64_t>(t.visits()));
  }
}

Result<v1::PartitionSummary> CountPartition(const Db& db, std::uint32_t partition) {
  v1::PartitionSummary summary;
  auto scanned = ForEach(Scan::Prefix(db, Cf::kProjections, PartitionPrefix(partition)),
                         [&](std::string_view key, std::string_view value) -> Result<void> {
                           auto state = Db::Parse<v1::Initiative>(Cf::kProjections, key, value);
                           if (!state) return std::unexpected(state.error());
                           Count(summary, *state, +1);
                           return {};
                         });
  if (!scanned) return std::unexpected(scanned.error());
  return summary;
}

void AddTo(Summary& out, const v1::PartitionSummary& summary) {
  out.initiatives += summary.initiatives();
  for (const auto& [step, n] : summary.by_step()) out.by_step[static_cast<v1::Step>(step)] += n;
  for (const auto& [outcome, n] : summary.by_outcome()) {
    out.by_outcome[static_cast<v1::Outcome>(outcome)] += n;
  }
  for (const auto& [kind, n] : summary.firing()) out.firing[static_cast<v1::AlertKind>(kind)] += n;
  out.iterations_beyond_first += summary.iterations_beyond_first();
  for (const auto& [step, s] : summary.step_seconds()) {
    out.step_seconds[static_cast<v1::Step>(step)] += s;
  }
  for (const auto& [step, n] : summary.step_visits()) {
    out.step_visits[static_cast<v1::Step>(step)] += n;
  }
}

Result<std::uint32_t> RecountSummaries(const Db& db, bool sync, bool only_missing) {
  std::vector<std::pair<std::uint32_t, v1::PartitionMeta>> metas;
  auto read =
      ForEach(db, Cf::kMeta, [&](std::string_view key, std::string_view value) -> Result<void> {
        auto partition = ParsePartition(key);
        auto meta = Db::Parse<v1::PartitionMeta>(Cf::kMeta, key, value);
        if (!partition || !meta) return {};  // Verify reports a malformed meta; Repair fixes it
        if (!only_missing || !meta->has_summary()) metas.emplace_back(*partition, std::move(*meta));
        return {};
      });
  if (!read) return std::unexpected(read.error());
  rocksdb::WriteBatch batch;
  std::uint32_t written = 0;
  for (auto& [partition, meta] : metas) {
    auto summary = CountPartition(db, partition);
    if (!summary && only_missing) {
      // A projection that does not parse (an old version's bytes): the register must still open,
      // for Repair is what fixes it (and recounts). Until then Summarize scans this partition.
      log::Warn("a partition's summary could not be counted; it stays unset until a repair",
                {{"partition", static_cast<std::int64_t>(partition)},
                 {"error", summary.error().ToString()}});
      continue;
    }
    if (!summary) return std::unexpected(summary.error());
    ++written;
    *meta.mutable_summary() = std::move(*summary);
    const std::string key = MetaKey(partition);
    const std::string value = meta.SerializeAsString();
    if (auto status = batch.Put(db.cf(Cf::kMeta), key, value); !status.ok()) {
      return std::unexpected(FromStatus(status, "staging a partition summary"));
    }
  }
  if (batch.Count() == 0) return 0u;
  if (auto ok = db.Write(batch, sync, "writing the partitions' summaries"); !ok) {
    return std::unexpected(ok.error());
  }
  return written;
}

bool SameSummary(const v1::PartitionSummary& a, const v1::PartitionSummary& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace cir::storage::internal
