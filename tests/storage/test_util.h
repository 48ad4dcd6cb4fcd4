// Helpers of the storage tests: a temporary directory per test, a settable clock, event builders.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <google/protobuf/timestamp.pb.h>

#include "cir/storage/register.h"

namespace cir::storage::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                          "/cir-storage-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline google::protobuf::Timestamp Ts(std::int64_t seconds, std::int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t seconds = 1'700'000'000) : now_(Ts(seconds)) {}
  [[nodiscard]] google::protobuf::Timestamp Now() const override { return now_; }
  void Set(std::int64_t seconds) { now_ = Ts(seconds); }

 private:
  google::protobuf::Timestamp now_;
};

// A KPI measurement of `initiative` from source "test", at `seconds`.
inline v1::ValueChainEvent Event(const std::string& id, const std::string& initiative,
                                 std::int64_t seconds, const std::string& source = "test") {
  v1::ValueChainEvent e;
  e.set_id(id);
  e.set_source(source);
  e.set_initiative_id(initiative);
  e.set_activity(v1::ACTIVITY_DELIVER_SUPPORT);
  *e.mutable_event_time() = Ts(seconds);
  e.mutable_kpi_measured()->set_kpi("mttr");
  e.mutable_kpi_measured()->set_value(static_cast<double>(seconds % 100));
  return e;
}

inline InboundEvent Inbound(v1::ValueChainEvent event, std::int64_t offset,
                            const std::string& topic = "value-chain") {
  InboundEvent in;
  in.event = std::move(event);
  in.source_topic = topic;
  in.source_offset = offset;
  return in;
}

}  // namespace cir::storage::testing
