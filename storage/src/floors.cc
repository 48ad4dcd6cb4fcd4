// Where each partition's live outbox records and due-time keys begin; see floors.h.
#include "floors.h"

#include <algorithm>

#include "keys.h"

namespace cir::storage::internal {

LiveFloors::Floor LiveFloors::Get(std::uint32_t partition) const {
  std::lock_guard lock(mu_);
  Floor floor;
  if (auto it = floors_.find(partition); it != floors_.end()) floor = it->second;
  if (floor.timers.empty()) floor.timers = PartitionPrefix(partition);
  floor.generation = generation_;
  floor.sorted_generation = SortedGeneration(partition);
  return floor;
}

void LiveFloors::RaiseOutbox(std::uint32_t partition, std::uint64_t seq) {
  std::lock_guard lock(mu_);
  Floor& floor = floors_[partition];
  floor.outbox = std::max(floor.outbox, seq);
}

void LiveFloors::OutboxDeleted(std::uint32_t partition, std::vector<std::uint64_t> seqs) {
  std::sort(seqs.begin(), seqs.end());
  std::lock_guard lock(mu_);
  Floor& floor = floors_[partition];
  for (const std::uint64_t seq : seqs) {
    if (seq == floor.outbox) {
      ++floor.outbox;
    } else if (seq > floor.outbox) {
      break;  // a gap: a record still live, or one deleted before (the next read moves past it)
    }
  }
}

void LiveFloors::RaiseTimers(std::uint32_t partition, std::string key, std::uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation != generation_) return;
  Floor& floor = floors_[partition];
  if (key > floor.timers) floor.timers = std::move(key);
}

void LiveFloors::TimerPut(std::uint32_t partition, std::string_view key) {
  std::lock_guard lock(mu_);
  ++generation_;
  Floor& floor = floors_[partition];
  if (!floor.timers.empty() && key < floor.timers) floor.timers = std::string(key);
}

void LiveFloors::RaiseSorted(std::uint32_t partition, std::size_t slot, std::string key,
                             std::uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation != SortedGeneration(partition)) return;
  Floor& floor = floors_[partition];
  if (key > floor.sorted[slot]) floor.sorted[slot] = std::move(key);
}

void LiveFloors::SortedPut(std::uint32_t partition, std::size_t slot, std::string_view key) {
  std::lock_guard lock(mu_);
  ++sorted_generations_[partition];
  Floor& floor = floors_[partition];
  if (key < floor.sorted[slot]) floor.sorted[slot] = std::string(key);
}

std::uint64_t LiveFloors::SortedGeneration(std::uint32_t partition) const {
  auto it = sorted_generations_.find(partition);
  const std::uint64_t own = it != sorted_generations_.end() ? it->second : 0;
  return (resets_ << 40) ^ own;
}

void LiveFloors::Reset() {
  std::lock_guard lock(mu_);
  ++generation_;
  ++resets_;  // part of every partition's sorted generation: a raise begun before is void
  floors_.clear();
}

}  // namespace cir::storage::internal
