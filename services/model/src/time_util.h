// Timestamp arithmetic for the model (private to cir::model), safe over the whole supported range.
//
// Every input timestamp is within 0001..9999 as protobuf allows, and events/ validation narrows it
// to 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z; limits are at most Config::kMaxLimit (100 years).
// Nothing here converts to 64-bit nanoseconds (which overflows after 2262): times compare as
// (seconds, nanos) pairs, and a derived due-time past kMaxSeconds saturates there, so every
// Timestamp the model writes stays printable by protobuf's JSON printer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

namespace cir::model {

// 9999-12-31T23:59:59Z, the latest time the model writes.
inline constexpr std::int64_t kMaxSeconds = 253'402'300'799;

inline bool Before(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}
inline bool SameTime(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}
// `t` + `d` (d >= 0), saturating at kMaxSeconds (nanos 0). REQUIRES: 0 <= d <= 100 years and `t`
// within protobuf's range, so the sum cannot overflow before it is clamped.
inline google::protobuf::Timestamp Plus(const google::protobuf::Timestamp& t,
                                        std::chrono::seconds d) {
  google::protobuf::Timestamp out = t;
  const std::int64_t seconds = t.seconds() + d.count();
  if (seconds >= kMaxSeconds) {
    out.set_seconds(kMaxSeconds);
    out.set_nanos(0);
  } else {
    out.set_seconds(seconds);
  }
  return out;
}
// RFC 3339, e.g. "2026-03-01T09:00:00Z".
inline std::string FormatTime(const google::protobuf::Timestamp& t) {
  return google::protobuf::util::TimeUtil::ToString(t);
}

}  // namespace cir::model
