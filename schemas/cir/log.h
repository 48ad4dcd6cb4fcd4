// Structured logs: one JSON object per line on stderr, e.g.
//   {"time":"2026-11-24T14:31:02.118Z","level":"info","msg":"partition assigned","topic":"x","partition":3}
// Values are strings or integers; strings are JSON-escaped. Thread-safe (one write per line).
// Every line cird writes to stderr is one of these: librdkafka's and CivetWeb's log callbacks and
// protobuf's log handler (RouteProtobufLogs) come through Write too.
#pragma once

#include <google/protobuf/stubs/logging.h>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "cir/utf8.h"

namespace cir::log {

enum class Level { kDebug, kInfo, kWarn, kError };

struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t> value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  template <class Int>
    requires std::is_integral_v<Int>
  Field(std::string_view k, Int v) : key(k), value(static_cast<std::int64_t>(v)) {}
};

// A JSON string literal of `text`; bytes that are not valid UTF-8 are written as `\\xNN`, so a
// line is valid JSON whatever the input held.
inline void AppendEscaped(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8::SequenceLength(text, i);
      if (n == 0) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\\\x%02X", c);
        out += buf;
      } else {
        out.append(text.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// The minimum level written; set once at start-up.
inline Level& MinLevel() {
  static Level level = Level::kInfo;
  return level;
}

inline void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {}) {
  if (level < MinLevel()) return;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  std::string line = "{\"time\":\"";
  line += stamp;
  line += "\",\"level\":\"";
  line += kNames[static_cast<int>(level)];
  line += "\",\"msg\":";
  AppendEscaped(line, msg);
  for (const Field& f : fields) {
    line += ',';
    AppendEscaped(line, f.key);
    line += ':';
    if (const auto* s = std::get_if<std::string_view>(&f.value)) {
      AppendEscaped(line, *s);
    } else {
      line += std::to_string(std::get<std::int64_t>(f.value));
    }
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, msg, fields);
}
inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, msg, fields);
}

// Sends protobuf's own log lines (GOOGLE_LOG: e.g. a message too large to serialise) through
// Write instead of protobuf's plain-text default, with "component":"protobuf" and the source
// location. A FATAL line is written at level error before protobuf aborts.
// REQUIRES: called once at start-up, before other threads run (SetLogHandler is not thread-safe).
inline void RouteProtobufLogs() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* file, int line,
                                     const std::string& message) {
    const Level l = level == google::protobuf::LOGLEVEL_INFO      ? Level::kInfo
                    : level == google::protobuf::LOGLEVEL_WARNING ? Level::kWarn
                                                                  : Level::kError;
    Write(l, message, {{"component", "protobuf"}, {"file", file}, {"line", line}});
  });
}

}  // namespace cir::log
