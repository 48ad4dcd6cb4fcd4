// Key encoding of the register's column families (the table is in storage/README.md).
//
// Every key starts with the partition as a 4-byte big-endian integer, so one partition's data is
// contiguous in every column family. Integers inside keys are big-endian so that byte order is
// numeric order. Variable-length ids are terminated by 0x00 when something follows them; that is
// unambiguous because ids never contain 0x00 (the register refuses such ids), and because 0x00 is
// the smallest byte, "id + 0x00 + …" sorts exactly like "id" — the events and projections column
// families therefore list initiatives in the same order, which Verify uses for a merge join.
//
// Internal to cir::storage (and its tests).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/timestamp.pb.h>

#include "cir/v1/register.pb.h"

namespace cir::storage::internal {

enum class Cf : std::size_t {
  kDefault = 0,
  kEvents,       // P + initiative + 0x00 + revision u64     -> StoredEvent
  kProjections,  // P + initiative                           -> Initiative
  kDedupe,       // P + source + 0x00 + event id             -> DedupeEntry
  kOffsets,      // P + topic                                -> next offset, i64 big-endian
  kOutbox,       // P + seq u64                              -> OutboxRecord
  kTimers,       // P + due ms u64 + initiative + 0x00 + kind u32 + 0x00 + kpi -> empty
  kMeta,         // P                                        -> PartitionMeta
  kParked,       // P + seq u64                              -> ParkedRecord (outbox moved aside)
  kIndex,        // P + field + value + initiative -> empty; P + (field | 0x80) + value -> count
  kCount,
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(Cf::kCount)> kCfNames = {
    "default", "events", "projections", "dedupe", "offsets", "outbox", "timers", "meta", "parked",
    "index"};

[[nodiscard]] constexpr std::string_view CfName(Cf cf) {
  return kCfNames[static_cast<std::size_t>(cf)];
}

// The dedupe source of the events the register appends when a timer fires.
inline constexpr std::string_view kTimerSource = "cir/timer";

[[nodiscard]] bool HasNul(std::string_view s);

// --- encoding ---------------------------------------------------------------------------------
// Big-endian integers: byte order is numeric order. Get* read the first 4 or 8 bytes of `in`.
void PutU32(std::string& out, std::uint32_t v);
void PutU64(std::string& out, std::uint64_t v);
[[nodiscard]] std::uint32_t GetU32(std::string_view in);
[[nodiscard]] std::uint64_t GetU64(std::string_view in);
[[nodiscard]] std::string PartitionPrefix(std::uint32_t partition);
[[nodiscard]] std::string StreamPrefix(std::uint32_t partition, std::string_view initiative_id);
[[nodiscard]] std::string EventKey(std::uint32_t partition, std::string_view initiative_id,
                                   std::uint64_t revision);
[[nodiscard]] std::string ProjectionKey(std::uint32_t partition, std::string_view initiative_id);
[[nodiscard]] std::string DedupeKey(std::uint32_t partition, std::string_view source,
                                    std::string_view id);
[[nodiscard]] std::string OffsetKey(std::uint32_t partition, std::string_view topic);
[[nodiscard]] std::string OutboxKey(std::uint32_t partition, std::uint64_t seq);
[[nodiscard]] std::string TimerKey(std::uint32_t partition, std::uint64_t due_ms,
                                   std::string_view initiative_id, v1::AlertKind kind,
                                   std::string_view kpi);
[[nodiscard]] std::string TimerKey(std::uint32_t partition, std::string_view initiative_id,
                                   const v1::Timer& timer);
// The first timer key of `partition` due after `due_ms` (an exclusive upper bound for a scan).
[[nodiscard]] std::string TimerBound(std::uint32_t partition, std::uint64_t due_ms);
[[nodiscard]] std::string MetaKey(std::uint32_t partition);
[[nodiscard]] std::string EncodeOffset(std::int64_t offset);

// The smallest string greater than every string that starts with `prefix`; nullopt when there is
// none (prefix all 0xFF). Used as an exclusive iterator bound.
[[nodiscard]] std::optional<std::string> PrefixSuccessor(std::string_view prefix);

// --- decoding (nullopt: malformed) --------------------------------------------------------------
struct EventKeyParts {
  std::uint32_t partition = 0;
  std::string initiative_id;
  std::uint64_t revision = 0;
};
struct DedupeKeyParts {
  std::uint32_t partition = 0;
  std::string source;
  std::string id;
};
struct TimerKeyParts {
  std::uint32_t partition = 0;
  std::uint64_t due_ms = 0;
  std::string initiative_id;
  v1::AlertKind kind = v1::ALERT_KIND_UNSPECIFIED;
  std::string kpi;
};
[[nodiscard]] std::optional<std::uint32_t> ParsePartition(std::string_view key);
[[nodiscard]] std::optional<EventKeyParts> ParseEventKey(std::string_view key);
// Returns the initiative id.
[[nodiscard]] std::optional<std::string> ParseProjectionKey(std::string_view key);
[[nodiscard]] std::optional<DedupeKeyParts> ParseDedupeKey(std::string_view key);
[[nodiscard]] std::optional<std::uint64_t> ParseOutboxKey(std::string_view key);
[[nodiscard]] std::optional<TimerKeyParts> ParseTimerKey(std::string_view key);
[[nodiscard]] std::optional<std::int64_t> DecodeOffset(std::string_view value);

// --- time ---------------------------------------------------------------------------------------
// The due-time index has millisecond resolution. A due-time is rounded *up* and "now" *down*, so a
// timer never fires before its exact due-time. Instants before 1970 clamp to 0.
[[nodiscard]] std::uint64_t DueMillis(const google::protobuf::Timestamp& due);
[[nodiscard]] std::uint64_t NowMillis(const google::protobuf::Timestamp& now);
[[nodiscard]] google::protobuf::Timestamp FromMillis(std::uint64_t ms);

// --- dedupe identity ----------------------------------------------------------------------------
// The dedupe id of a fired timer: per initiative,
// "<initiative>/<kind number>/<kpi>/<due ms>@<revision the TimerElapsed gets>". The revision makes
// a timer that is re-armed at the same due-time (an alert resolved and caused again) a new
// firing, while a batch replayed after a crash still gets the same id.
[[nodiscard]] std::string TimerDedupeId(std::string_view initiative_id, v1::AlertKind kind,
                                        std::string_view kpi, std::uint64_t due_ms,
                                        std::uint64_t revision);
// The dedupe key a stored event must have; nullopt when the event has no payload.
[[nodiscard]] std::optional<std::string> DedupeKeyOf(std::uint32_t partition,
                                                     std::string_view initiative_id,
                                                     const v1::StoredEvent& event);

// A key for a human: printable ASCII as is, anything else as \xNN; the partition as "p<N>/".
[[nodiscard]] std::string Printable(std::string_view key);

}  // namespace cir::storage::internal
