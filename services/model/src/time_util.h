// Timestamp arithmetic for the model (private to cir::model).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

namespace cir::model {

inline std::int64_t Nanos(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000'000 + t.nanos();
}
inline bool Before(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return Nanos(a) < Nanos(b);
}
inline bool SameTime(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return Nanos(a) == Nanos(b);
}
inline google::protobuf::Timestamp Plus(const google::protobuf::Timestamp& t,
                                        std::chrono::seconds d) {
  google::protobuf::Timestamp out = t;
  out.set_seconds(t.seconds() + d.count());
  return out;
}
// RFC 3339, e.g. "2026-03-01T09:00:00Z".
inline std::string FormatTime(const google::protobuf::Timestamp& t) {
  return google::protobuf::util::TimeUtil::ToString(t);
}

}  // namespace cir::model
