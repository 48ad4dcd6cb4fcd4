#include "cir/events/cloudevents.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace cir::events {
namespace {

using google::protobuf::util::TimeUtil;
using Rejected = std::unexpected<Rejection>;

Rejected Reject(std::string code, std::string reason) {
  return Rejected(Rejection{std::move(code), std::move(reason)});
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The media type without parameters, lower case: "application/json; charset=utf-8" → "application/json".
std::string MediaType(std::string_view content_type) {
  std::string type = Lower(content_type.substr(0, content_type.find(';')));
  type.erase(std::remove_if(type.begin(), type.end(), [](char c) { return c == ' '; }), type.end());
  return type;
}

struct Attributes {
  std::string specversion, id, source, type, time, subject;
};

// Fills the event's envelope from the CloudEvents attributes and the key, and checks that they
// agree where the data set them too.
std::expected<void, Rejection> Reconcile(v1::ValueChainEvent& event, const Attributes& ce,
                                         const std::optional<std::string>& key) {
  if (ce.specversion != kSpecVersion) {
    return Reject("BAD_ATTRIBUTE", "specversion '" + ce.specversion + "' is not 1.0");
  }
  auto fill = [](std::string* field, const std::string& attr, const char* name)
      -> std::expected<void, Rejection> {
    if (attr.empty()) return {};
    if (field->empty()) {
      *field = attr;
    } else if (*field != attr) {
      return Reject("ATTRIBUTE_MISMATCH", std::string(name) + " '" + attr +
                                              "' disagrees with the data's '" + *field + "'");
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
      return Reject("BAD_ATTRIBUTE", "time '" + ce.time + "' is not RFC 3339");
    }
    if (!event.has_event_time()) {
      *event.mutable_event_time() = t;
    } else if (TimeUtil::TimestampToNanoseconds(t) !=
               TimeUtil::TimestampToNanoseconds(event.event_time())) {
      return Reject("ATTRIBUTE_MISMATCH", "time '" + ce.time + "' disagrees with event_time");
    }
  }
  if (event.payload_case() != v1::ValueChainEvent::PAYLOAD_NOT_SET && ce.type != TypeOf(event)) {
    return Reject("ATTRIBUTE_MISMATCH",
                  "type '" + ce.type + "' does not match the payload (" + TypeOf(event) + ")");
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
    return Reject("UNSUPPORTED_CONTENT_TYPE",
                  "content-type '" + std::string(media_type) +
                      "' (use application/protobuf, application/json or "
                      "application/cloudevents+json)");
  }
  if (!parsed) return Reject("DECODE_ERROR", parsed.error().message);
  return std::move(*parsed);
}

std::expected<v1::ValueChainEvent, Rejection> DecodeStructured(const Record& record,
                                                               const Limits& limits) {
  const nlohmann::json doc = nlohmann::json::parse(*record.value, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Reject("DECODE_ERROR", "structured-mode value is not a JSON object");
  }
  Attributes ce;
  for (auto [name, field] : {std::pair{"specversion", &ce.specversion}, std::pair{"id", &ce.id},
                             std::pair{"source", &ce.source}, std::pair{"type", &ce.type}}) {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
      return Reject("MISSING_ATTRIBUTE", std::string("structured event has no '") + name + "'");
    }
    *field = it->get<std::string>();
  }
  for (auto [name, field] : {std::pair{"time", &ce.time}, std::pair{"subject", &ce.subject}}) {
    auto it = doc.find(name);
    if (it != doc.end() && it->is_string()) *field = it->get<std::string>();
  }
  if (ce.type.rfind(kTypePrefix, 0) != 0) {
    return Reject("BAD_ATTRIBUTE", "type '" + ce.type + "' is not a cir event type (" +
                                       std::string(kTypePrefix) + "…)");
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) {
    return Reject("MISSING_ATTRIBUTE", "structured event has no JSON object 'data'");
  }
  auto content = doc.find("datacontenttype");
  if (content != doc.end() &&
      (!content->is_string() || MediaType(content->get<std::string>()) != "application/json")) {
    return Reject("UNSUPPORTED_CONTENT_TYPE", "structured data must be application/json");
  }
  auto event = DecodeData("application/json", data->dump(), limits);
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
    return Reject("NULL_VALUE", "record has a null value (tombstone); cir events always carry data");
  }
  std::size_t size = record.value->size() + (record.key ? record.key->size() : 0);
  for (const auto& [k, v] : record.headers) size += k.size() + v.size();
  if (size > limits.max_message_bytes) {
    return Reject("OVERSIZED", "record is " + std::to_string(size) + " bytes, at most " +
                                   std::to_string(limits.max_message_bytes) + " allowed");
  }
  const std::string media = MediaType(record.Header("content-type").value_or(""));
  std::expected<v1::ValueChainEvent, Rejection> event;
  if (media.rfind("application/cloudevents", 0) == 0) {
    if (media != "application/cloudevents+json") {
      return Reject("UNSUPPORTED_CONTENT_TYPE",
                    "structured mode '" + media + "' (only application/cloudevents+json)");
    }
    event = DecodeStructured(record, limits);
  } else {
    Attributes ce;
    for (auto [name, field] : {std::pair{"ce_specversion", &ce.specversion},
                               std::pair{"ce_id", &ce.id}, std::pair{"ce_source", &ce.source},
                               std::pair{"ce_type", &ce.type}}) {
      auto value = record.Header(name);
      if (!value || value->empty()) {
        return Reject("MISSING_ATTRIBUTE", std::string("binary-mode record has no '") + name +
                                               "' header");
      }
      *field = std::string(*value);
    }
    ce.time = std::string(record.Header("ce_time").value_or(""));
    ce.subject = std::string(record.Header("ce_subject").value_or(""));
    if (ce.type.rfind(kTypePrefix, 0) != 0) {
      return Reject("BAD_ATTRIBUTE", "ce_type '" + ce.type + "' is not a cir event type (" +
                                         std::string(kTypePrefix) + "…)");
    }
    if (media.empty()) {
      return Reject("MISSING_ATTRIBUTE", "binary-mode record has no 'content-type' header");
    }
    event = DecodeData(media, *record.value, limits);
    if (!event) return event;
    if (auto r = Reconcile(*event, ce, record.key); !r) return Rejected(r.error());
  }
  if (!event) return event;
  if (auto valid = Validate(*event, limits); !valid) {
    return Reject("INVALID_EVENT", valid.error().message);
  }
  return event;
}

Record EncodeEvent(const v1::ValueChainEvent& event, DataFormat format) {
  Record record;
  record.key = event.initiative_id();
  record.value = format == DataFormat::kProtobuf ? event.SerializeAsString() : ToJson(event);
  record.headers = {
      {"ce_specversion", std::string(kSpecVersion)},
      {"ce_id", event.id()},
      {"ce_source", event.source()},
      {"ce_type", TypeOf(event)},
      {"ce_time", TimeUtil::ToString(event.event_time())},
      {"ce_subject", event.initiative_id()},
      {"content-type",
       format == DataFormat::kProtobuf ? "application/protobuf" : "application/json"},
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

v1::DeadLetter MakeDeadLetter(const Record& record, const Rejection& rejection) {
  v1::DeadLetter dl;
  dl.set_reason_code(rejection.reason_code);
  dl.set_reason(rejection.reason);
  dl.set_source_topic(record.topic);
  dl.set_source_partition(record.partition);
  dl.set_source_offset(record.offset);
  if (record.key) dl.set_key(*record.key);
  if (record.value) {
    // An oversized record would be too large for the dead-letter topic as well: it keeps its
    // first 64 KiB, and a header says how large it was.
    constexpr std::size_t kKeep = 64 * 1024;
    if (rejection.reason_code == "OVERSIZED" && record.value->size() > kKeep) {
      dl.set_value(record.value->substr(0, kKeep));
      auto* h = dl.add_headers();
      h->set_key("cir_dlq_value_truncated_from");
      h->set_value(std::to_string(record.value->size()));
    } else {
      dl.set_value(*record.value);
    }
  }
  for (const auto& [k, v] : record.headers) {
    auto* h = dl.add_headers();
    h->set_key(k);
    h->set_value(v);
  }
  return dl;
}

Record EncodeDeadLetter(const v1::DeadLetter& dl) {
  Record record;
  record.key = dl.key();
  record.value = dl.value();
  for (const auto& h : dl.headers()) record.headers.emplace_back(h.key(), h.value());
  record.headers.emplace_back("cir_dlq_reason_code", dl.reason_code());
  record.headers.emplace_back("cir_dlq_reason", dl.reason());
  record.headers.emplace_back("cir_dlq_source_topic", dl.source_topic());
  record.headers.emplace_back("cir_dlq_source_partition", std::to_string(dl.source_partition()));
  record.headers.emplace_back("cir_dlq_source_offset", std::to_string(dl.source_offset()));
  return record;
}

}  // namespace cir::events
