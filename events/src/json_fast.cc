// See json_fast.h. Every `return false` below is "not sure": the slow path decides.
#include "json_fast.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/timestamp.pb.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <simdjson.h>

namespace cir::events::internal {
namespace {

namespace pb = google::protobuf;
using simdjson::dom::element;
using simdjson::dom::element_type;

// protobuf's JSON parser looks a key up as the field's json_name first, then as its name.
const pb::FieldDescriptor* FieldNamed(const pb::Descriptor& type, std::string_view key) {
  const int n = type.field_count();
  for (int i = 0; i < n; ++i) {
    if (type.field(i)->json_name() == key) return type.field(i);
  }
  for (int i = 0; i < n; ++i) {
    if (type.field(i)->name() == key) return type.field(i);
  }
  return nullptr;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Exactly `width` digits.
bool Digits(std::string_view s, std::size_t at, std::size_t width, int& out) {
  if (at + width > s.size()) return false;
  int v = 0;
  for (std::size_t i = at; i < at + width; ++i) {
    if (!IsDigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 +
                       static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z", a date that exists, year 0001–9999: the subset of what
// protobuf's ParseTime accepts that producers write. Anything else declines.
bool ParseTimestamp(std::string_view s, pb::Timestamp& out) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || s[10] != 'T' || !Digits(s, 11, 2, hour) ||
      s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' || !Digits(s, 17, 2, second)) {
    return false;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  std::size_t at = 19;
  int nanos = 0;
  if (s[at] == '.') {
    ++at;
    std::size_t digits = 0;
    while (at < s.size() && IsDigit(s[at])) {
      if (++digits > 9) return false;
      nanos = nanos * 10 + (s[at] - '0');
      ++at;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (at + 1 != s.size() || s[at] != 'Z') return false;
  out.set_seconds(DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second);
  out.set_nanos(nanos);
  return true;
}

class Filler {
 public:
  explicit Filler(std::size_t max_depth) : max_depth_(max_depth) {}

  // An object at `depth` (the outermost is 1) into `message`.
  bool Object(element value, pb::Message& message, std::size_t depth) {
    if (value.type() != element_type::OBJECT || depth > max_depth_) return false;
    const pb::Descriptor& type = *message.GetDescriptor();
    const pb::Reflection& reflection = *message.GetReflection();
    std::uint64_t seen = 0;  // by field index: a field given twice (as name and json_name) declines
    if (type.field_count() > 64) return false;
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) return false;
    for (auto [key, member] : object) {
      const pb::FieldDescriptor* field = FieldNamed(type, key);
      if (field == nullptr || field->is_map()) return false;
      const std::uint64_t bit = std::uint64_t{1} << field->index();
      if (seen & bit) return false;
      seen |= bit;
      if (const pb::OneofDescriptor* oneof = field->real_containing_oneof();
          oneof != nullptr && reflection.HasOneof(message, oneof)) {
        return false;
      }
      if (field->is_repeated()) {
        if (member.type() != element_type::ARRAY || depth + 1 > max_depth_) return false;
        simdjson::dom::array array;
        if (member.get_array().get(array) != simdjson::SUCCESS) return false;
        for (element item : array) {
          // The array is at depth + 1, its items at depth + 2.
          if (!Store(item, *field, message, reflection, depth + 2, true)) return false;
        }
      } else if (!Store(member, *field, message, reflection, depth + 1, false)) {
        return false;
      }
    }
    return true;
  }

 private:
  // A field's value (one item of a repeated field: `add`), `depth` being where an object value
  // would sit.
  bool Store(element v, const pb::FieldDescriptor& f, pb::Message& m, const pb::Reflection& r,
             std::size_t depth, bool add) {
    switch (f.cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        if (f.type() != pb::FieldDescriptor::TYPE_STRING || v.type() != element_type::STRING) {
          return false;
        }
        std::string s(v.get_string().value_unsafe());
        add ? r.AddString(&m, &f, std::move(s)) : r.SetString(&m, &f, std::move(s));
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        if (v.type() != element_type::BOOL) return false;
        const bool b = v.get_bool().value_unsafe();
        add ? r.AddBool(&m, &f, b) : r.SetBool(&m, &f, b);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_INT32: {
        std::int64_t i;
        if (!Int(v, std::numeric_limits<std::int32_t>::min(),
                 std::numeric_limits<std::int32_t>::max(), i)) {
          return false;
        }
        const auto x = static_cast<std::int32_t>(i);
        add ? r.AddInt32(&m, &f, x) : r.SetInt32(&m, &f, x);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_INT64: {
        std::int64_t i;
        if (!Int(v, std::numeric_limits<std::int64_t>::min(),
                 std::numeric_limits<std::int64_t>::max(), i)) {
          return false;
        }
        add ? r.AddInt64(&m, &f, i) : r.SetInt64(&m, &f, i);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_UINT32: {
        std::int64_t i;
        if (!Int(v, 0, std::numeric_limits<std::uint32_t>::max(), i)) return false;
        const auto x = static_cast<std::uint32_t>(i);
        add ? r.AddUInt32(&m, &f, x) : r.SetUInt32(&m, &f, x);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_UINT64: {
        std::uint64_t u;
        if (!Unsigned(v, u)) return false;
        add ? r.AddUInt64(&m, &f, u) : r.SetUInt64(&m, &f, u);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
        double d;
        if (!Double(v, d)) return false;
        add ? r.AddDouble(&m, &f, d) : r.SetDouble(&m, &f, d);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        const pb::EnumValueDescriptor* e = EnumValue(v, f);
        if (e == nullptr) return false;
        add ? r.AddEnumValue(&m, &f, e->number()) : r.SetEnumValue(&m, &f, e->number());
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        return Message(v, f, add ? *r.AddMessage(&m, &f) : *r.MutableMessage(&m, &f), depth);
      case pb::FieldDescriptor::CPPTYPE_FLOAT:  // protobuf range-checks and rounds: not here
        return false;
    }
    return false;
  }

  bool Message(element v, const pb::FieldDescriptor& f, pb::Message& sub, std::size_t depth) {
    const pb::Descriptor& type = *f.message_type();
    if (type.full_name() == "google.protobuf.Timestamp") {
      // `sub` is a generated Timestamp (the descriptors are the generated pool's).
      auto* timestamp = dynamic_cast<pb::Timestamp*>(&sub);
      return timestamp != nullptr && v.type() == element_type::STRING &&
             ParseTimestamp(v.get_string().value_unsafe(), *timestamp);
    }
    if (type.file()->package() == "google.protobuf") return false;  // other well-known types
    return Object(v, sub, depth);
  }

  // A JSON integer (no fraction, no exponent) within [min, max].
  static bool Int(element v, std::int64_t min, std::int64_t max, std::int64_t& out) {
    if (v.type() != element_type::INT64) return false;
    const std::int64_t i = v.get_int64().value_unsafe();
    if (i < min || i > max) return false;
    out = i;
    return true;
  }

  static bool Unsigned(element v, std::uint64_t& out) {
    if (v.type() == element_type::UINT64) {
      out = v.get_uint64().value_unsafe();
      return true;
    }
    if (v.type() != element_type::INT64 || v.get_int64().value_unsafe() < 0) return false;
    out = static_cast<std::uint64_t>(v.get_int64().value_unsafe());
    return true;
  }

  // A JSON number; an integer only when a double holds it exactly (protobuf refuses the others).
  static bool Double(element v, double& out) {
    constexpr std::int64_t kExact = std::int64_t{1} << 53;
    switch (v.type()) {
      case element_type::DOUBLE:
        out = v.get_double().value_unsafe();
        // -0.0 declines, as a precaution: parsers differ on negative zero ("-0" is the integer
        // 0 to simdjson 3.0.1 and to protobuf; "-0.0" a double to both).
        return !(out == 0 && std::signbit(out));
      case element_type::INT64: {
        const std::int64_t i = v.get_int64().value_unsafe();
        if (i < -kExact || i > kExact) return false;
        out = static_cast<double>(i);
        return true;
      }
      default:
        return false;
    }
  }

  static const pb::EnumValueDescriptor* EnumValue(element v, const pb::FieldDescriptor& f) {
    if (v.type() != element_type::STRING) return nullptr;
    const std::string_view name = v.get_string().value_unsafe();
    return f.enum_type()->FindValueByName(std::string(name));
  }

  const std::size_t max_depth_;
};

// A thread's parser keeps its buffers (about 15 times the largest document it parsed) from one
// document to the next, for documents up to this size; a larger one gets a parser of its own,
// freed with it.
constexpr std::size_t kReusedParserBytes = 64 * 1024;

simdjson::dom::parser& ParserFor(std::size_t size, std::optional<simdjson::dom::parser>& own) {
  thread_local simdjson::dom::parser reused;
  return size <= kReusedParserBytes ? reused : own.emplace();
}

// The document's root, when it is an object and the whole document is valid JSON. The element
// lives as long as the parser, until it parses again.
bool ParseObject(simdjson::dom::parser& parser, std::string_view json, element& root) {
  // Anything before the object (a UTF-8 byte order mark, which simdjson and nlohmann skip)
  // declines: the slow path decides.
  const std::size_t start = json.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || json[start] != '{') return false;
  return parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true).get(root) ==
             simdjson::SUCCESS &&
         root.type() == element_type::OBJECT;
}

std::atomic<bool> fast_path{true};

}  // namespace

void SetFastPath(bool on) { fast_path.store(on, std::memory_order_relaxed); }

bool FastJsonToMessage(std::string_view json, std::size_t max_depth, pb::Message& message) {
  if (!fast_path.load(std::memory_order_relaxed)) return false;
  std::optional<simdjson::dom::parser> own;
  element root;
  if (!ParseObject(ParserFor(json.size(), own), json, root)) return false;
  message.Clear();
  return Filler(max_depth).Object(root, message, 1);
}

bool FastStructuredToMessage(std::string_view json, std::size_t max_depth,
                             std::vector<std::pair<std::string, std::string>>& attributes,
                             pb::Message& data) {
  if (!fast_path.load(std::memory_order_relaxed) || max_depth < 1) return false;
  std::optional<simdjson::dom::parser> own;
  element root;
  if (!ParseObject(ParserFor(json.size(), own), json, root)) return false;
  attributes.clear();
  data.Clear();
  bool has_data = false;
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return false;
  for (auto [key, member] : object) {
    for (const auto& [name, value] : attributes) {
      if (name == key) return false;
    }
    if (key == "data") {
      if (has_data || !Filler(max_depth).Object(member, data, 2)) return false;
      has_data = true;
      continue;
    }
    if (member.type() != element_type::STRING) return false;
    attributes.emplace_back(std::string(key), std::string(member.get_string().value_unsafe()));
  }
  return has_data;
}

}  // namespace cir::events::internal
