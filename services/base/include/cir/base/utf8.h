// UTF-8 checks for text that came from outside. Bytes that arrive from Kafka or HTTP are kept as
// bytes (protobuf `bytes` fields); every text cir derives from them (reasons, log fields, JSON
// bodies, identifiers that become keys or API ids) is valid UTF-8. These two functions are the
// only place that decides what "valid" means: RFC 3629 (no overlongs, no surrogates, at most
// U+10FFFF).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

#include "cir/base/error.h"

namespace google::protobuf {
class Message;
}

namespace cir::utf8 {

// The length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one.
[[nodiscard]] inline std::size_t SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// True when `text` is entirely valid UTF-8.
[[nodiscard]] inline bool Valid(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// `text` with every byte that is not part of a valid UTF-8 sequence written as the four
// characters `\xNN` (so the result is valid UTF-8 and still says which bytes were there).
// Valid text is returned unchanged.
[[nodiscard]] inline std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = SequenceLength(text, i);
    if (n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(text[i]));
      out += buf;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

// `text` cut to at most `max_bytes` without splitting a UTF-8 sequence (for quoting input in a
// reason). Adds "…" when it cut.
[[nodiscard]] inline std::string Quote(std::string_view text, std::size_t max_bytes = 80) {
  std::string escaped = Escape(text);
  if (escaped.size() <= max_bytes) return escaped;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(escaped[cut]) & 0xC0) == 0x80) --cut;
  escaped.resize(cut);
  return escaped + "…";
}

// Every string field of `message` (recursively, through nested and repeated messages) holds
// valid UTF-8 — what protobuf needs to parse it back. Errors: kInvalidArgument naming the first
// bad field's path ("initiative_proposed.tags[2]: not valid UTF-8"). In utf8.cc.
[[nodiscard]] Result<void> CheckMessage(const google::protobuf::Message& message);

}  // namespace cir::utf8
