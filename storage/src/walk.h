// The merge join under Verify and Rebuild: every (stream, projection) pair of the register in key
// order, each stream folded from scratch through the projector.
//
// Internal to cir::storage.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cir/storage/projector.h"
#include "db.h"

namespace cir::storage::internal {

inline std::string P(std::uint32_t partition) { return "partition " + std::to_string(partition); }

inline constexpr std::size_t kMaxProblems = 1000;

class Problems {
 public:
  explicit Problems(std::vector<std::string>* out) : out_(out) {}
  ~Problems() {
    if (out_ != nullptr && dropped_ > 0) {
      out_->push_back("… and " + std::to_string(dropped_) + " more problems");
    }
  }
  Problems(const Problems&) = delete;
  Problems& operator=(const Problems&) = delete;

  void Add(std::string problem) {
    if (out_ == nullptr) return;
    if (out_->size() < kMaxProblems) {
      out_->push_back(std::move(problem));
    } else {
      ++dropped_;
    }
  }

 private:
  std::vector<std::string>* out_;  // null: not collecting (Rebuild)
  std::uint64_t dropped_ = 0;
};

// One initiative as the merge join sees it.
struct Initiative {
  std::uint32_t partition = 0;
  std::string id;
  std::uint64_t events = 0;              // in the stream
  std::optional<v1::Initiative> folded;  // the stream folded from scratch
  std::optional<v1::Initiative> stored;  // the projection in the database
  std::string projection_key;
};

using EventCheck =
    std::function<Result<void>(std::uint32_t, const std::string&, const v1::StoredEvent&)>;

// Walks every (stream, projection) pair in key order and calls `visit` for each initiative that has
// either. `on_event` sees every stored event (Verify checks its dedupe entry there).
[[nodiscard]] Result<void> Walk(const Db& db, const Projector& projector, Problems& problems,
                                const EventCheck& on_event,
                                const std::function<Result<void>(Initiative&)>& visit);

}  // namespace cir::storage::internal
