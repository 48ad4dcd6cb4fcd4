// The CloudEvents Kafka binding: decoding binary- and structured-mode records, encoding events and
// outputs (dead letters are in dead_letter.cc).
#include "cir/events/cloudevents.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

#include "cir/base/utf8.h"
#include "json_fast.h"

namespace cir::events {
namespace {

using google::protobuf::util::TimeUtil;
using Rejected = std::unexpected<Rejection>;

Rejected Reject(v1::DeadLetterReason code, std::string reason) {
  return Rejected(Rejection{code, std::move(reason)});
}

struct Attributes {
  std::string specversion, id, source, type, time, subject;
};

// Fills the event's envelope from the CloudEvents attributes and the key, and checks that they
// agree where the data set them too.
std::expected<void, Rejection> Reconcile(v1::ValueChainEvent& event, const Attributes& ce,
                                         const std::optional<std::string>& key) {
  if (ce.specversion != kSpecVersion) {
    return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE,
                  "specversion '" + utf8::Quote(ce.specversion) + "' is not 1.0");
  }
  auto fill = [](std::string* field, const std::string& attr,
                 const char* name) -> std::expected<void, Rejection> {
    if (attr.empty()) return {};
    if (field->empty()) {
      *field = attr;
    } else if (*field != attr) {
      return Reject(v1::DEAD_LETTER_REASON_ATTRIBUTE_MISMATCH,
                    std::string(name) + " '" + utf8::Quote(attr) + "' disagrees with the data's '" +
                        utf8::Quote(*field) + "'");
    }
    return {};
  };
  if (auto r = fill(event.mutable_id(), ce.id, "id"); !r) return r;
  if (auto r = fill(event.mutable_source(), ce.source, "source"); !r) return r;
  if (auto r = fill(event.mutable_initiative_id(), ce.subject, "subject"); !r) return r;
  if (key && !key->empty()) {
    if (auto r = fill(event.mutable_initiative_id(), *key, "record key"); !r) return r;
  }
  if (!ce.time.empty()) {
    google::protobuf::Timestamp t;
    if (!TimeUtil::FromString(ce.time, &t)) {
      return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE,
                    "time '" + utf8::Quote(ce.time) + "' is not RFC 3339");
    }
    if (!event.has_event_time()) {
      *event.mutable_event_time() = t;
    } else if (t.seconds() != event.event_time().seconds() ||
               t.nanos() != event.event_time().nanos()) {
      return Reject(v1::DEAD_LETTER_REASON_ATTRIBUTE_MISMATCH,
                    "time '" + utf8::Quote(ce.time) + "' disagrees with event_time");
    }
  }
  if (event.payload_case() != v1::ValueChainEvent::PAYLOAD_NOT_SET && ce.type != TypeOf(event)) {
    return Reject(
        v1::DEAD_LETTER_REASON_ATTRIBUTE_MISMATCH,
        "type '" + utf8::Quote(ce.type) + "' does not match the payload (" + TypeOf(event) + ")");
  }
  return {};
}

std::expected<v1::ValueChainEvent, Rejection> DecodeData(std::string_view media_type,
                                                         std::string_view data,
                                                         const Limits& limits) {
  Result<v1::ValueChainEvent> parsed = Fail(ErrorCode::kInvalidArgument, "");
  if (media_type == "application/protobuf" || media_type == "application/x-protobuf") {
    parsed = ParseBinary(data, limits);
  } else if (media_type == "application/json") {
    parsed = ParseJson(data, limits);
  } else {
    return Reject(v1::DEAD_LETTER_REASON_UNSUPPORTED_CONTENT_TYPE,
                  "content-type '" + utf8::Quote(media_type) +
                      "' (use application/protobuf, application/json or "
                      "application/cloudevents+json)");
  }
  if (!parsed) return Reject(v1::DEAD_LETTER_REASON_DECODE_ERROR, parsed.error().message);
  return std::move(*parsed);
}

// The fast path of DecodeStructured (see json_fast.h): an envelope of string attributes whose
// required ones are there, whose type is a cir type, and whose data is application/json; then
// Reconcile decides, as it does after the slow path. Anything else declines (nullopt).
std::optional<std::expected<v1::ValueChainEvent, Rejection>> FastStructured(const Record& record,
                                                                            const Limits& limits) {
  // The slow path checks the size of the data as nlohmann re-encodes it, which can be longer
  // than it came ("1e14" is "100000000000000.0"): a value that could grow past the limit is
  // left to it.
  if (record.value->size() > limits.max_message_bytes / 5) return std::nullopt;
  thread_local std::vector<std::pair<std::string, std::string>> members;
  v1::ValueChainEvent event;
  if (!internal::FastStructuredToMessage(*record.value, limits.max_json_depth + 1, members,
                                         event)) {
    return std::nullopt;
  }
  Attributes ce;
  std::optional<std::string_view> content;
  for (const auto& [name, value] : members) {
    if (name == "specversion") ce.specversion = value;
    else if (name == "id") ce.id = value;
    else if (name == "source") ce.source = value;
    else if (name == "type") ce.type = value;
    else if (name == "time") ce.time = value;
    else if (name == "subject") ce.subject = value;
    else if (name == "datacontenttype") content = value;
  }
  if (ce.specversion.empty() || ce.id.empty() || ce.source.empty() || ce.type.empty() ||
      ce.type.rfind(kTypePrefix, 0) != 0 ||
      (content && ParseMediaType(*content).value_or("") != "application/json")) {
    return std::nullopt;
  }
  if (auto r = Reconcile(event, ce, record.key); !r) return Rejected(r.error());
  return event;
}

std::expected<v1::ValueChainEvent, Rejection> DecodeStructured(const Record& record,
                                                               const Limits& limits) {
  if (auto fast = FastStructured(record, limits)) return std::move(*fast);
  // The envelope holds the data one level down: the data may nest as deep as binary mode allows.
  if (auto strict = CheckJson(*record.value, limits.max_json_depth + 1); !strict) {
    return Reject(v1::DEAD_LETTER_REASON_DECODE_ERROR,
                  "structured-mode value: " + strict.error().message);
  }
  const nlohmann::json doc =
      nlohmann::json::parse(*record.value, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Reject(v1::DEAD_LETTER_REASON_DECODE_ERROR,
                  "structured-mode value is not a JSON object");
  }
  Attributes ce;
  for (auto [name, field] : {std::pair{"specversion", &ce.specversion}, std::pair{"id", &ce.id},
                             std::pair{"source", &ce.source}, std::pair{"type", &ce.type}}) {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
      return Reject(v1::DEAD_LETTER_REASON_MISSING_ATTRIBUTE,
                    std::string("structured event has no '") + name + "'");
    }
    *field = it->get<std::string>();
  }
  for (auto [name, field] : {std::pair{"time", &ce.time}, std::pair{"subject", &ce.subject}}) {
    auto it = doc.find(name);
    if (it == doc.end()) continue;
    if (!it->is_string()) {
      return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE,
                    std::string("structured event's '") + name + "' is not a string");
    }
    *field = it->get<std::string>();
  }
  if (ce.type.rfind(kTypePrefix, 0) != 0) {
    return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE, "type '" + utf8::Quote(ce.type) +
                                                            "' is not a cir event type (" +
                                                            std::string(kTypePrefix) + "…)");
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) {
    return Reject(v1::DEAD_LETTER_REASON_MISSING_ATTRIBUTE,
                  "structured event has no JSON object 'data'");
  }
  auto content = doc.find("datacontenttype");
  if (content != doc.end() &&
      (!content->is_string() ||
       ParseMediaType(content->get<std::string>()).value_or("") != "application/json")) {
    return Reject(v1::DEAD_LETTER_REASON_UNSUPPORTED_CONTENT_TYPE,
                  "structured data must be application/json");
  }
  auto event = DecodeData("application/json", data->dump(), limits);
  if (!event) return event;
  if (auto r = Reconcile(*event, ce, record.key); !r) return Rejected(r.error());
  return event;
}

// The CloudEvents attribute headers of binary mode (and content-type): each may appear once.
constexpr std::array<std::string_view, 7> kAttributeHeaders = {
    "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type"};

// What holds for a record of either mode, checked before its content type: its size, each
// attribute header at most once, a UTF-8 key.
std::expected<void, Rejection> CheckEnvelope(const Record& record, const Limits& limits) {
  std::size_t size = record.value->size() + (record.key ? record.key->size() : 0);
  for (const auto& [k, v] : record.headers) size += k.size() + v.size();
  if (size > limits.max_message_bytes) {
    return Reject(v1::DEAD_LETTER_REASON_OVERSIZED,
                  "record is " + std::to_string(size) + " bytes, at most " +
                      std::to_string(limits.max_message_bytes) + " allowed");
  }
  for (std::string_view name : kAttributeHeaders) {
    const auto count = std::count_if(record.headers.begin(), record.headers.end(),
                                      [&](const auto& h) { return h.first == name; });
    if (count > 1) {
      return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE, "header '" + std::string(name) +
                                                              "' appears " + std::to_string(count) +
                                                              " times (at most once)");
    }
  }
  if (record.key && !utf8::Valid(*record.key)) {
    return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE,
                  "the record key '" + utf8::Quote(*record.key) +
                      "' is not valid UTF-8 (it is the initiative id)");
  }
  return {};
}

// A binary-mode record (`media` its content type, "" when it has none): the ce_* headers, then
// the data, then the attributes against the data.
std::expected<v1::ValueChainEvent, Rejection> DecodeBinary(const Record& record,
                                                           const std::string& media,
                                                           const Limits& limits) {
  Attributes ce;
  for (auto [name, field] : {std::pair{"ce_specversion", &ce.specversion},
                             std::pair{"ce_id", &ce.id}, std::pair{"ce_source", &ce.source},
                             std::pair{"ce_type", &ce.type}}) {
    auto value = record.Header(name);
    if (!value || value->empty()) {
      return Reject(v1::DEAD_LETTER_REASON_MISSING_ATTRIBUTE,
                    std::string("binary-mode record has no '") + name + "' header");
    }
    *field = std::string(*value);
  }
  ce.time = std::string(record.Header("ce_time").value_or(""));
  ce.subject = std::string(record.Header("ce_subject").value_or(""));
  for (auto [name, field] : {std::pair{"ce_id", &ce.id}, std::pair{"ce_source", &ce.source},
                             std::pair{"ce_type", &ce.type}, std::pair{"ce_time", &ce.time},
                             std::pair{"ce_subject", &ce.subject}}) {
    if (!utf8::Valid(*field)) {
      return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE,
                    std::string(name) + " '" + utf8::Quote(*field) + "' is not valid UTF-8");
    }
  }
  if (ce.type.rfind(kTypePrefix, 0) != 0) {
    return Reject(v1::DEAD_LETTER_REASON_BAD_ATTRIBUTE, "ce_type '" + utf8::Quote(ce.type) +
                                                            "' is not a cir event type (" +
                                                            std::string(kTypePrefix) + "…)");
  }
  if (media.empty()) {
    return Reject(v1::DEAD_LETTER_REASON_MISSING_ATTRIBUTE,
                  "binary-mode record has no 'content-type' header");
  }
  auto event = DecodeData(media, *record.value, limits);
  if (!event) return event;
  if (auto r = Reconcile(*event, ce, record.key); !r) return Rejected(r.error());
  return event;
}

}  // namespace

std::optional<std::string_view> Record::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string> ParseMediaType(std::string_view content_type) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  const auto trim = [&](std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
  };
  // RFC 9110 token characters.
  const auto token = [](std::string_view text) {
    if (text.empty()) return false;
    for (unsigned char c : text) {
      if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                   std::string_view::npos)) {
        return false;
      }
    }
    return true;
  };
  const auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::string_view rest = content_type;
  const std::string_view type = trim(rest.substr(0, rest.find(';')));
  const std::size_t slash = type.find('/');
  if (slash == std::string_view::npos || !token(type.substr(0, slash)) ||
      !token(type.substr(slash + 1))) {
    return std::nullopt;
  }
  rest = rest.find(';') == std::string_view::npos ? std::string_view() : rest.substr(rest.find(';') + 1);
  while (!rest.empty()) {
    const std::string_view param = trim(rest.substr(0, rest.find(';')));
    rest = rest.find(';') == std::string_view::npos ? std::string_view() : rest.substr(rest.find(';') + 1);
    if (param.empty()) continue;
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || !token(param.substr(0, eq))) return std::nullopt;
    std::string_view value = param.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    } else if (!token(value)) {
      return std::nullopt;
    }
    // Text is UTF-8 here, always; a producer that says otherwise would be misread.
    if (lower(param.substr(0, eq)) == "charset" && lower(value) != "utf-8") return std::nullopt;
  }
  return lower(type);
}

std::string TypeOf(const v1::ValueChainEvent& event) {
  const auto* field = event.GetDescriptor()->FindFieldByNumber(event.payload_case());
  if (field == nullptr) return std::string(kTypePrefix) + "ValueChainEvent";
  return std::string(kTypePrefix) + field->message_type()->name();
}

std::string TypeOf(const v1::Output& output) {
  return std::string(kTypePrefix) +
         (output.has_transition() ? "StepTransition" : "MomentumAlert");
}

std::expected<v1::ValueChainEvent, Rejection> DecodeRecord(const Record& record,
                                                           const Limits& limits) {
  if (!record.value) {
    return Reject(v1::DEAD_LETTER_REASON_NULL_VALUE,
                  "record has a null value (tombstone); cir events always carry data");
  }
  if (auto envelope = CheckEnvelope(record, limits); !envelope) {
    return Rejected(envelope.error());
  }
  const auto content_type = record.Header("content-type");
  std::string media;
  if (content_type) {
    auto parsed = ParseMediaType(*content_type);
    if (!parsed) {
      return Reject(
          v1::DEAD_LETTER_REASON_UNSUPPORTED_CONTENT_TYPE,
          "content-type '" + utf8::Quote(*content_type) +
              "' is not a media type cir reads (a charset other than utf-8, or malformed)");
    }
    media = std::move(*parsed);
  }
  std::expected<v1::ValueChainEvent, Rejection> event;
  if (media.rfind("application/cloudevents", 0) == 0) {
    if (media != "application/cloudevents+json") {
      return Reject(
          v1::DEAD_LETTER_REASON_UNSUPPORTED_CONTENT_TYPE,
          "structured mode '" + utf8::Quote(media) + "' (only application/cloudevents+json)");
    }
    event = DecodeStructured(record, limits);
  } else {
    event = DecodeBinary(record, media, limits);
  }
  if (!event) return event;
  if (auto valid = Validate(*event, limits); !valid) {
    return Reject(v1::DEAD_LETTER_REASON_INVALID_EVENT, valid.error().message);
  }
  return event;
}

Record EncodeEvent(const v1::ValueChainEvent& event, DataFormat format) {
  Record record;
  record.key = event.initiative_id();
  // A validated event always prints; an unprintable one is sent as protobuf instead.
  auto json = format == DataFormat::kJson ? ToJson(event) : Result<std::string>();
  const bool as_json = format == DataFormat::kJson && json.has_value();
  record.value = as_json ? *json : event.SerializeAsString();
  record.headers = {
      {"ce_specversion", std::string(kSpecVersion)},
      {"ce_id", event.id()},
      {"ce_source", event.source()},
      {"ce_type", TypeOf(event)},
      {"ce_time", TimeUtil::ToString(event.event_time())},
      {"ce_subject", event.initiative_id()},
      {"content-type", as_json ? "application/json" : "application/protobuf"},
  };
  return record;
}

Record EncodeOutput(const v1::Output& output, const std::string& source) {
  const bool transition = output.has_transition();
  const std::string& id = transition ? output.transition().id() : output.alert().id();
  const std::string& initiative =
      transition ? output.transition().initiative_id() : output.alert().initiative_id();
  const auto& time = transition ? output.transition().time() : output.alert().time();
  Record record;
  record.key = initiative;
  record.value = transition ? output.transition().SerializeAsString()
                            : output.alert().SerializeAsString();
  record.headers = {
      {"ce_specversion", std::string(kSpecVersion)},
      {"ce_id", id},
      {"ce_source", source},
      {"ce_type", TypeOf(output)},
      {"ce_time", TimeUtil::ToString(time)},
      {"ce_subject", initiative},
      {"content-type", "application/protobuf"},
      {"ce_dataschema", std::string("https://type.googleapis.com/cir.v1.") +
                            (transition ? "StepTransition" : "MomentumAlert")},
  };
  return record;
}

Result<v1::Output> DecodeOutput(const Record& record) {
  const auto type = record.Header("ce_type");
  v1::Output output;
  bool ok = false;
  if (type == std::string(kTypePrefix) + "StepTransition") {
    ok = record.value && output.mutable_transition()->ParseFromString(*record.value);
  } else if (type == std::string(kTypePrefix) + "MomentumAlert") {
    ok = record.value && output.mutable_alert()->ParseFromString(*record.value);
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                "not a cir output: ce_type '" + std::string(type.value_or("")) + "'");
  }
  if (!ok) return Fail(ErrorCode::kInvalidArgument, "undecodable " + std::string(*type));
  return output;
}

}  // namespace cir::events
