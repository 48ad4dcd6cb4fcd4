// Where the live keys of each partition's outbox, due-time index and sort-field indexes begin,
// remembered in memory so that reads seek past the tombstones that acknowledged outbox records,
// fired or moved timers and moved index entries leave behind (RocksDB walks every tombstone
// between the seek target and the first live key, until a compaction drops them). Without it
// `ReadOutbox(p, 0, …)` and `NextDue` cost O(everything ever deleted in the partition), and a
// replay that reads both after every line is quadratic.
//
// A floor is a lower bound of the live keys, never more: every read may start at it. Reads raise
// it to the first live key they find; writes that put a key below it lower it. Outbox seqs only
// grow, so a raise of the outbox floor is always safe. Timer keys may be put anywhere (a due-time
// in the past), so a raise of the timer floor from a scan counts only when no timer key was put
// since the scan began (`generation`). Nothing here is persisted: after Open the floors are at the
// partition's start.
//
// Internal to cir::storage. Thread-safety: any thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cir::storage::internal {

class LiveFloors {
 public:
  // The sort fields' indexes (step, updated_at, created_at: IndexField 1, 7, 8) by slot.
  static constexpr std::size_t kSortFields = 3;

  struct Floor {
    std::uint64_t generation = 0;  // pass to RaiseTimers
    std::uint64_t outbox = 1;      // no live outbox record has a smaller seq
    std::string timers;            // no live due-time index key sorts before it
    // No live entry of a sort field's index sorts before it (empty: the partition's start).
    std::array<std::string, kSortFields> sorted;
    std::uint64_t sorted_generation = 0;  // pass to RaiseSorted
  };

  [[nodiscard]] Floor Get(std::uint32_t partition) const;

  // Outbox seqs below `seq` are not live (a read found `seq` first, or they were deleted).
  void RaiseOutbox(std::uint32_t partition, std::uint64_t seq);
  // After deleting `seqs` (any order): the floor moves past those that continue it.
  void OutboxDeleted(std::uint32_t partition, std::vector<std::uint64_t> seqs);

  // No live timer key of `partition` sorts before `key` in a read begun at `generation` (from
  // Get). Ignored when a timer key was put since.
  void RaiseTimers(std::uint32_t partition, std::string key, std::uint64_t generation);
  // A write put `key` (the batch's smallest timer key) into the due-time index.
  void TimerPut(std::uint32_t partition, std::string_view key);

  // The same for the sort fields' indexes, whose entries move whenever a projection's step or
  // updated_at does (leaving tombstones at the old place, mostly the front): `generation`
  // (Floor::sorted_generation) moves with this partition's SortedPut and with Reset, so that a
  // raise begun before either is ignored.
  void RaiseSorted(std::uint32_t partition, std::size_t slot, std::string key,
                   std::uint64_t generation);
  // A write put `key` (the batch's smallest entry of that sort field) into the index.
  void SortedPut(std::uint32_t partition, std::size_t slot, std::string_view key);

  // Forgets everything (after Rebuild or Repair rewrote the index or the outbox).
  void Reset();

 private:
  mutable std::mutex mu_;
  std::uint64_t generation_ = 0;                 // GUARDED_BY(mu_); bumped by TimerPut, Reset
  std::map<std::uint32_t, Floor> floors_;        // GUARDED_BY(mu_)
  // Per partition, bumped by SortedPut; the sorted generation a raise is checked against is this
  // and resets_ together, so that a raise begun before a Reset never counts after it.
  std::uint64_t resets_ = 0;  // GUARDED_BY(mu_)
  std::map<std::uint32_t, std::uint64_t> sorted_generations_;  // GUARDED_BY(mu_)
  [[nodiscard]] std::uint64_t SortedGeneration(std::uint32_t partition) const;  // mu_ held
};

}  // namespace cir::storage::internal
