// Structured logs: one JSON object per line on stderr, e.g.
//   {"time":"2026-11-24T14:31:02.118Z","level":"info","msg":"partition assigned","topic":"x","partition":3}
// Values are strings or integers; strings are JSON-escaped (bytes that are not UTF-8 as `\\xNN`),
// so a line is valid JSON whatever the input held. Every line cird writes to stderr is one of
// these: librdkafka's and CivetWeb's log callbacks and protobuf's log handler (RouteProtobufLogs)
// come through Write too. Implemented in src/log.cc.
//
// Thread-safety: every function may be called from any thread; a line is written with one
// fwrite, so lines of concurrent writers do not interleave. RouteProtobufLogs excepted (below).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

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

// The process's one threshold: lines below it are not written. kInfo until set; programs set it
// once at start-up from their --log-level, benchmarks raise it to keep their output quiet.
void SetMinLevel(Level level);
[[nodiscard]] Level MinLevel();

// Appends `text` as a JSON string literal (quotes included) to `out`; bytes that are not valid
// UTF-8 are written as `\\xNN`.
void AppendEscaped(std::string& out, std::string_view text);

// Writes one line when `level` is at or above MinLevel().
void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, msg, fields);
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

// Sends protobuf's own log lines (GOOGLE_LOG: e.g. a message too large to serialise) through
// Write instead of protobuf's plain-text default, with "component":"protobuf" and the source
// location. A FATAL line is written at level error before protobuf aborts.
// REQUIRES: called once at start-up, before other threads run (SetLogHandler is not thread-safe).
void RouteProtobufLogs();

}  // namespace cir::log
