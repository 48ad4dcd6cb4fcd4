// Key encoding of the register's column families; see keys.h.
#include "keys.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace cir::storage::internal {
void PutU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFFu));
  }
}

void PutU64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFFu));
  }
}

std::uint32_t GetU32(std::string_view in) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::uint64_t GetU64(std::string_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

namespace {

std::string WithPartition(std::uint32_t partition, std::size_t reserve) {
  std::string key;
  key.reserve(4 + reserve);
  PutU32(key, partition);
  return key;
}

constexpr std::int64_t kNanosPerMilli = 1'000'000;

}  // namespace

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

std::string PartitionPrefix(std::uint32_t partition) { return WithPartition(partition, 0); }

std::string StreamPrefix(std::uint32_t partition, std::string_view initiative_id) {
  std::string key = WithPartition(partition, initiative_id.size() + 1);
  key.append(initiative_id);
  key.push_back('\0');
  return key;
}

std::string EventKey(std::uint32_t partition, std::string_view initiative_id,
                     std::uint64_t revision) {
  std::string key = StreamPrefix(partition, initiative_id);
  PutU64(key, revision);
  return key;
}

std::string ProjectionKey(std::uint32_t partition, std::string_view initiative_id) {
  std::string key = WithPartition(partition, initiative_id.size());
  key.append(initiative_id);
  return key;
}

std::string DedupeKey(std::uint32_t partition, std::string_view source, std::string_view id) {
  std::string key = WithPartition(partition, source.size() + 1 + id.size());
  key.append(source);
  key.push_back('\0');
  key.append(id);
  return key;
}

std::string OffsetKey(std::uint32_t partition, std::string_view topic) {
  std::string key = WithPartition(partition, topic.size());
  key.append(topic);
  return key;
}

std::string OutboxKey(std::uint32_t partition, std::uint64_t seq) {
  std::string key = WithPartition(partition, 8);
  PutU64(key, seq);
  return key;
}

std::string TimerKey(std::uint32_t partition, std::uint64_t due_ms, std::string_view initiative_id,
                     v1::AlertKind kind, std::string_view kpi) {
  std::string key = WithPartition(partition, 8 + initiative_id.size() + 1 + 4 + 1 + kpi.size());
  PutU64(key, due_ms);
  key.append(initiative_id);
  key.push_back('\0');
  PutU32(key, static_cast<std::uint32_t>(kind));
  key.push_back('\0');
  key.append(kpi);
  return key;
}

std::string TimerKey(std::uint32_t partition, std::string_view initiative_id,
                     const v1::Timer& timer) {
  return TimerKey(partition, DueMillis(timer.due_at()), initiative_id, timer.kind(), timer.kpi());
}

std::string TimerBound(std::uint32_t partition, std::uint64_t due_ms) {
  if (due_ms == std::numeric_limits<std::uint64_t>::max()) {
    return PrefixSuccessor(PartitionPrefix(partition)).value_or(std::string(12, '\xFF'));
  }
  std::string key = WithPartition(partition, 8);
  PutU64(key, due_ms + 1);
  return key;
}

std::string MetaKey(std::uint32_t partition) { return PartitionPrefix(partition); }

std::string EncodeOffset(std::int64_t offset) {
  std::string out;
  PutU64(out, static_cast<std::uint64_t>(offset));
  return out;
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xFF) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return std::nullopt;
}

std::optional<std::uint32_t> ParsePartition(std::string_view key) {
  if (key.size() < 4) return std::nullopt;
  return GetU32(key);
}

std::optional<EventKeyParts> ParseEventKey(std::string_view key) {
  if (key.size() < 4 + 1 + 8) return std::nullopt;
  std::string_view middle = key.substr(4, key.size() - 4 - 8);
  if (middle.back() != '\0' || HasNul(middle.substr(0, middle.size() - 1))) return std::nullopt;
  return EventKeyParts{GetU32(key), std::string(middle.substr(0, middle.size() - 1)),
                       GetU64(key.substr(key.size() - 8))};
}

std::optional<std::string> ParseProjectionKey(std::string_view key) {
  if (key.size() < 4 || HasNul(key.substr(4))) return std::nullopt;
  return std::string(key.substr(4));
}

std::optional<DedupeKeyParts> ParseDedupeKey(std::string_view key) {
  if (key.size() < 5) return std::nullopt;
  const std::size_t nul = key.find('\0', 4);
  if (nul == std::string_view::npos) return std::nullopt;
  return DedupeKeyParts{GetU32(key), std::string(key.substr(4, nul - 4)),
                        std::string(key.substr(nul + 1))};
}

std::optional<std::uint64_t> ParseOutboxKey(std::string_view key) {
  if (key.size() != 12) return std::nullopt;
  return GetU64(key.substr(4));
}

std::optional<TimerKeyParts> ParseTimerKey(std::string_view key) {
  if (key.size() < 4 + 8 + 1 + 4 + 1) return std::nullopt;
  TimerKeyParts parts;
  parts.partition = GetU32(key);
  parts.due_ms = GetU64(key.substr(4));
  const std::size_t nul = key.find('\0', 12);
  if (nul == std::string_view::npos || key.size() < nul + 1 + 4 + 1 || key[nul + 5] != '\0') {
    return std::nullopt;
  }
  parts.initiative_id = std::string(key.substr(12, nul - 12));
  const std::uint32_t kind = GetU32(key.substr(nul + 1));
  if (!v1::AlertKind_IsValid(static_cast<int>(kind))) return std::nullopt;
  parts.kind = static_cast<v1::AlertKind>(kind);
  parts.kpi = std::string(key.substr(nul + 6));
  return parts;
}

std::optional<std::int64_t> DecodeOffset(std::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return static_cast<std::int64_t>(GetU64(value));
}

std::uint64_t DueMillis(const google::protobuf::Timestamp& due) {
  if (due.seconds() < 0) return 0;
  const auto seconds = static_cast<std::uint64_t>(due.seconds());
  const auto nanos = static_cast<std::uint64_t>(std::clamp<std::int32_t>(due.nanos(), 0, 999'999'999));
  return seconds * 1000 + (nanos + kNanosPerMilli - 1) / kNanosPerMilli;
}

std::uint64_t NowMillis(const google::protobuf::Timestamp& now) {
  if (now.seconds() < 0) return 0;
  const auto seconds = static_cast<std::uint64_t>(now.seconds());
  const auto nanos = static_cast<std::uint64_t>(std::clamp<std::int32_t>(now.nanos(), 0, 999'999'999));
  return seconds * 1000 + nanos / kNanosPerMilli;
}

google::protobuf::Timestamp FromMillis(std::uint64_t ms) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(static_cast<std::int64_t>(ms / 1000));
  ts.set_nanos(static_cast<std::int32_t>((ms % 1000) * kNanosPerMilli));
  return ts;
}

std::string TimerDedupeId(std::string_view initiative_id, v1::AlertKind kind,
                          std::string_view kpi, std::uint64_t due_ms, std::uint64_t revision) {
  std::string id(initiative_id);
  id += '/';
  id += std::to_string(static_cast<int>(kind));
  id += '/';
  id.append(kpi);
  id += '/';
  id += std::to_string(due_ms);
  id += '@';
  id += std::to_string(revision);
  return id;
}

std::optional<std::string> DedupeKeyOf(std::uint32_t partition, std::string_view initiative_id,
                                       const v1::StoredEvent& event) {
  switch (event.kind_case()) {
    case v1::StoredEvent::kValueChain:
      return DedupeKey(partition, event.value_chain().source(), event.value_chain().id());
    case v1::StoredEvent::kTimer: {
      const v1::TimerElapsed& timer = event.timer();
      return DedupeKey(partition, kTimerSource,
                       TimerDedupeId(initiative_id, timer.kind(), timer.kpi(),
                                     DueMillis(timer.due_at()), event.revision()));
    }
    case v1::StoredEvent::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

std::string Printable(std::string_view key) {
  std::string out;
  std::string_view rest = key;
  if (key.size() >= 4) {
    out = "p" + std::to_string(GetU32(key)) + "/";
    rest = key.substr(4);
  }
  for (const char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\\') {
      out.push_back(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    }
  }
  return out;
}

}  // namespace cir::storage::internal
