// Helpers of the storage tests: a temporary directory per test, a settable clock, event builders
// (on the shared ones of tests/testing), a test register's options.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <google/protobuf/timestamp.pb.h>

#include "cir/storage/register.h"
#include "event_builders.h"
#include "temp_dir.h"

namespace cir::storage::testing {

// A fresh directory (cir::testing::TempDir, "cir-storage-test-XXXXXX"), removed with
// everything in it on destruction; paths as strings, as storage::Options takes them.
class TempDir {
 public:
  TempDir() : dir_("storage-test"), path_(dir_.path().string()) {}

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  ::cir::testing::TempDir dir_;
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

// A KPI measurement of `initiative` from `source`, at `seconds`: KPI "mttr" = seconds % 100.
inline v1::ValueChainEvent Event(const std::string& id, const std::string& initiative,
                                 std::int64_t seconds, const std::string& source = "test") {
  return ::cir::testing::MeasuredAt(initiative, id, seconds, source, "mttr",
                                    static_cast<double>(seconds % 100));
}

// Options of a register in `dir`/db on `clock`. `sync` off for suites that do not test
// durability; `small` caches (8 MiB block cache, 4 MiB write buffer) for the register suites.
inline Options TestOptions(const TempDir& dir, const Clock& clock, bool sync, bool small) {
  Options options;
  options.path = dir.Sub("db");
  options.clock = &clock;
  options.sync = sync;
  if (small) {
    options.block_cache_bytes = 8u << 20;
    options.write_buffer_bytes = 4u << 20;
  }
  return options;
}

inline InboundEvent Inbound(v1::ValueChainEvent event, std::int64_t offset,
                            const std::string& topic = "value-chain") {
  InboundEvent in;
  in.event = std::move(event);
  in.source_topic = topic;
  in.source_offset = offset;
  return in;
}

// A request appending `n` events of initiative "init-1" to partition 0, at offsets first_offset..
// first_offset+n-1 of topic "value-chain" (event "e<offset>" at second 1'700'000'000 + offset),
// committing offset first_offset+n.
inline AppendRequest Batch(std::int64_t first_offset, int n) {
  AppendRequest request;
  request.partition = 0;
  for (int i = 0; i < n; ++i) {
    const std::int64_t offset = first_offset + i;
    request.events.push_back(
        Inbound(Event("e" + std::to_string(offset), "init-1", 1'700'000'000 + offset), offset));
  }
  request.offsets.emplace_back("value-chain", first_offset + n);
  return request;
}

}  // namespace cir::storage::testing
