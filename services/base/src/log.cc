// The JSON-lines writer behind log.h.
#include "cir/base/log.h"

#include <google/protobuf/stubs/logging.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "cir/base/utf8.h"

namespace cir::log {
namespace {

std::atomic<Level> min_level{Level::kInfo};

constexpr const char* kNames[] = {"debug", "info", "warn", "error"};

// "2026-11-24T14:31:02.118Z": now, UTC, to the millisecond.
std::string Timestamp() {
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
  return stamp;
}

}  // namespace

void SetMinLevel(Level level) { min_level.store(level, std::memory_order_relaxed); }
Level MinLevel() { return min_level.load(std::memory_order_relaxed); }

void AppendEscaped(std::string& out, std::string_view text) {
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

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (level < MinLevel()) return;
  std::string line = "{\"time\":\"" + Timestamp() + "\",\"level\":\"";
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

void RouteProtobufLogs() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* file, int line,
                                     const std::string& message) {
    const Level l = level == google::protobuf::LOGLEVEL_INFO      ? Level::kInfo
                    : level == google::protobuf::LOGLEVEL_WARNING ? Level::kWarn
                                                                  : Level::kError;
    Write(l, message, {{"component", "protobuf"}, {"file", file}, {"line", line}});
  });
}

}  // namespace cir::log
