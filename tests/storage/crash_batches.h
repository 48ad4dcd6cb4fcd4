// The deterministic workload of the crash test, shared by the parent (which checks) and the child
// (which appends until it is killed).
//
// Batch b holds 20 events of source "crash", ids "b<b>-e<i>", offsets ("crash", 20 b + i):
//   i 0..9   "init-<(b + i) % 7>"   applied (every init-* is touched in every batch)
//   i 10     "idle-<b>"             applied once; its timer fires ~7 batches later
//   i 11..13 "reject-<b % 3>"       rejected (dead letters)
//   i 14..16 "ignore-<b % 2>"       ignored
//   i 17     a copy of event 0      duplicate inside the batch
//   i 18     "init-<b % 7>"         applied
//   i 19     event 5 of batch b-1   duplicate across batches (b > 0)
// The request stores the next offset, b + 1, so the stored offset is the next batch to send.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cir/storage/register.h"

namespace cir::storage::testing {

inline constexpr std::int64_t kCrashEpoch = 1'700'000'000;
inline constexpr int kCrashBatchSize = 20;

inline std::int64_t CrashBatchTime(std::int64_t b) { return kCrashEpoch + b * 600; }

inline std::string CrashInitiative(std::int64_t b, int i) {
  if (i <= 9) return "init-" + std::to_string((b + i) % 7);
  if (i == 10) return "idle-" + std::to_string(b);
  if (i <= 13) return "reject-" + std::to_string(b % 3);
  if (i <= 16) return "ignore-" + std::to_string(b % 2);
  return "init-" + std::to_string(b % 7);
}

// Whether event i of a batch is appended (applied or ignored) the first time it is seen.
inline bool CrashAppended(int i) { return i <= 10 || (i >= 14 && i <= 16) || i == 18; }

inline std::string CrashEventId(std::int64_t b, int i) {
  return "b" + std::to_string(b) + "-e" + std::to_string(i);
}

inline InboundEvent CrashEvent(std::int64_t b, int i) {
  InboundEvent in;
  v1::ValueChainEvent& e = in.event;
  e.set_id(CrashEventId(b, i));
  e.set_source("crash");
  e.set_initiative_id(CrashInitiative(b, i));
  e.set_activity(v1::ACTIVITY_DELIVER_SUPPORT);
  e.mutable_event_time()->set_seconds(CrashBatchTime(b) + i);
  e.mutable_kpi_measured()->set_kpi("mttr");
  e.mutable_kpi_measured()->set_value(static_cast<double>((b * 31 + i) % 97));
  in.source_topic = "crash";
  in.source_offset = b * kCrashBatchSize + i;
  return in;
}

inline AppendRequest CrashBatch(std::int64_t b) {
  AppendRequest request;
  for (int i = 0; i < kCrashBatchSize; ++i) {
    if (i == 17) {
      request.events.push_back(CrashEvent(b, 0));
      request.events.back().source_offset = b * kCrashBatchSize + i;
    } else if (i == 19) {
      if (b > 0) request.events.push_back(CrashEvent(b - 1, 5));
    } else {
      request.events.push_back(CrashEvent(b, i));
    }
  }
  request.offsets = {{"crash", b + 1}};
  return request;
}

}  // namespace cir::storage::testing
