// What the register API's handlers (api_*.cc) share: JSON writing on nlohmann-json, the scan
// budget and the scan slots, enum and id parsing. Private to cird's api; not for other callers.
#pragma once

#include <google/protobuf/message.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <string>
#include <nlohmann/json.hpp>

#include "http_server.h"

namespace cir::cird::api_internal {

using nlohmann::json;

// A message in protobuf's JSON mapping. What the register holds always prints (Validate keeps
// timestamps in range and strings UTF-8); if something does not, the item says so instead of
// failing the whole response, and the log names it.
[[nodiscard]] json ToJsonValue(const google::protobuf::Message& message);

// Strings from the register or the request may hold invalid UTF-8: replaced, never thrown on.
[[nodiscard]] std::string Dump(const json& value);

// `body` as a JSON answer with `status`.
[[nodiscard]] HttpResponse Ok(const json& body, int status = 200);

// The answer while no register is attached (start-up, shut-down).
[[nodiscard]] HttpResponse NotOpen();

// A register scan with a CPU budget: Expired() turns true once `budget` has passed.
// Not thread-safe: one per request.
class ScanClock {
 public:
  explicit ScanClock(std::chrono::milliseconds budget)
      : deadline_(std::chrono::steady_clock::now() + budget), budget_(budget) {}
  bool Expired() {
    if (expired_) return true;
    if ((++count_ & 63) == 0) expired_ = std::chrono::steady_clock::now() > deadline_;
    return expired_;
  }
  [[nodiscard]] bool expired() const { return expired_; }
  // The 503 answer of a scan that ran out of budget.
  [[nodiscard]] HttpResponse Error() const;

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds budget_;
  std::uint64_t count_ = 0;
  bool expired_ = false;
};

// A slot among `limit` concurrent register scans; false when none is free. Thread-safe (the
// counter is shared by all requests).
class ScanSlot {
 public:
  ScanSlot(std::atomic<int>& running, int limit) : running_(running) {
    taken_ = running_.fetch_add(1) < limit;
    if (!taken_) running_.fetch_sub(1);
  }
  ~ScanSlot() {
    if (taken_) running_.fetch_sub(1);
  }
  ScanSlot(const ScanSlot&) = delete;
  ScanSlot& operator=(const ScanSlot&) = delete;
  explicit operator bool() const { return taken_; }

 private:
  std::atomic<int>& running_;
  bool taken_ = false;
};

// The 503 answer when every scan slot is taken.
[[nodiscard]] HttpResponse ScansBusy();

// "plan", "PLAN" and "STEP_PLAN" all name STEP_PLAN. False for unknown names and for the
// *_UNSPECIFIED value.
template <class Enum>
[[nodiscard]] bool ParseEnum(const std::string& text, const std::string& prefix,
                             bool (*parse)(google::protobuf::ConstStringParam, Enum*), Enum* out) {
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind(prefix, 0) != 0) upper = prefix + upper;
  return parse(upper, out) && static_cast<int>(*out) != 0;
}

// Initiative ids from the path: what ingest accepts as an id (1..max_id_bytes of valid UTF-8),
// so every stored initiative is addressable. Bytes that cannot stand in a path segment ('/',
// '?', '%', NUL and other controls) are percent-encoded by the client: "a%2Fb" is the id "a/b",
// "a%20b" the id "a b". NUL is the exception: the register cannot key it, so ingest
// dead-letters such events and the API refuses it ("API-1%00junk" never finds "API-1").
[[nodiscard]] bool ValidId(const std::string& id, std::size_t max_bytes);

}  // namespace cir::cird::api_internal
