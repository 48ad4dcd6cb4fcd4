#include "cir/events/codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cir/base/utf8.h"

#include "cir/base/log.h"
#include "json_fast.h"

namespace cir::events {
namespace {

namespace pb = google::protobuf;

// Printable text: no control characters (0x00-0x1F, 0x7F), which keeps ids safe as key parts and
// in headers, log lines and file names.
bool IsPrintable(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const Limits& limits) : limits_(limits) {}

  // Each check records the first problem only; later checks are no-ops once one failed.
  // Names and ids must be one printable line; free text may hold newlines but no NUL.
  enum class Kind { kLine, kFreeText };

  void Required(std::string_view path, const std::string& value, std::size_t max,
                Kind kind = Kind::kLine) {
    if (!error_.empty()) return;
    if (value.empty()) {
      error_ = std::string(path) + ": required";
    } else {
      Text(path, value, max, kind);
    }
  }
  void Text(std::string_view path, const std::string& value, std::size_t max,
            Kind kind = Kind::kFreeText) {
    if (!error_.empty()) return;
    if (value.size() > max) {
      error_ = std::string(path) + ": " + std::to_string(value.size()) + " bytes, at most " +
               std::to_string(max) + " allowed";
    } else if (!utf8::Valid(value)) {
      error_ = std::string(path) + ": not valid UTF-8";
    } else if (kind == Kind::kLine && !IsPrintable(value)) {
      error_ = std::string(path) + ": control characters are not allowed";
    } else if (value.find('\0') != std::string::npos) {
      error_ = std::string(path) + ": NUL bytes are not allowed";
    }
  }
  void Id(std::string_view path, const std::string& value) {
    Required(path, value, limits_.max_id_bytes);
  }
  void Name(std::string_view path, const std::string& value) {
    Required(path, value, limits_.max_name_bytes);
  }
  void Enum(std::string_view path, int value, bool known) {
    if (!error_.empty()) return;
    if (value == 0) {
      error_ = std::string(path) + ": required (the _UNSPECIFIED value is not allowed)";
    } else if (!known) {
      error_ = std::string(path) + ": unknown value " + std::to_string(value);
    }
  }
  void Time(std::string_view path, bool present, const pb::Timestamp& t) {
    if (!error_.empty()) return;
    if (!present) {
      error_ = std::string(path) + ": required";
    } else if (t.seconds() < 0 || t.seconds() > 253402300799 || t.nanos() < 0 ||
               t.nanos() > 999999999) {
      error_ = std::string(path) + ": out of range";
    }
  }
  void Finite(std::string_view path, double value) {
    if (!error_.empty()) return;
    if (!std::isfinite(value)) error_ = std::string(path) + ": must be a finite number";
  }
  void Count(std::string_view path, int count, std::size_t max) {
    if (!error_.empty()) return;
    if (static_cast<std::size_t>(count) > max) {
      error_ = std::string(path) + ": " + std::to_string(count) + " entries, at most " +
               std::to_string(max) + " allowed";
    }
  }
  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

  const Limits& limits() const { return limits_; }
  const std::string& error() const { return error_; }

 private:
  const Limits& limits_;
  std::string error_;
};

void CheckProposed(Checker& c, const v1::InitiativeProposed& p) {
  const Limits& l = c.limits();
  c.Required("initiative_proposed.title", p.title(), l.max_text_bytes, Checker::Kind::kFreeText);
  c.Required("initiative_proposed.vision", p.vision(), l.max_text_bytes, Checker::Kind::kFreeText);
  c.Required("initiative_proposed.organisational_goal", p.organisational_goal(), l.max_text_bytes,
             Checker::Kind::kFreeText);
  c.Name("initiative_proposed.owner", p.owner());
  c.Enum("initiative_proposed.register_level", p.register_level(),
         v1::RegisterLevel_IsValid(p.register_level()));
  c.Count("initiative_proposed.tags", p.tags_size(), l.max_tags);
  for (int i = 0; i < p.tags_size(); ++i) {
    c.Name("initiative_proposed.tags[" + std::to_string(i) + "]", p.tags(i));
  }
}

void CheckBaseline(Checker& c, const v1::BaselineMeasured& p) {
  const Limits& l = c.limits();
  c.Name("baseline_measured.kpi", p.kpi());
  c.Finite("baseline_measured.value", p.value());
  c.Text("baseline_measured.unit", p.unit(), l.max_name_bytes, Checker::Kind::kLine);
  c.Enum("baseline_measured.method", p.method(), v1::MeasurementMethod_IsValid(p.method()));
  if (p.has_measured_at()) c.Time("baseline_measured.measured_at", true, p.measured_at());
}

void CheckTarget(Checker& c, const v1::TargetSet& p) {
  const Limits& l = c.limits();
  c.Name("target_set.kpi", p.kpi());
  c.Finite("target_set.target_value", p.target_value());
  c.Enum("target_set.direction", p.direction(), v1::Direction_IsValid(p.direction()));
  c.Time("target_set.deadline", p.has_deadline(), p.deadline());
  c.Text("target_set.critical_success_factor", p.critical_success_factor(), l.max_text_bytes);
}

void CheckPlan(Checker& c, const v1::PlanDefined& p) {
  const Limits& l = c.limits();
  c.Count("plan_defined.actions", p.actions_size(), l.max_actions);
  if (p.actions_size() == 0) c.Fail("plan_defined.actions: at least one action is required");
  for (int i = 0; i < p.actions_size(); ++i) {
    const std::string path = "plan_defined.actions[" + std::to_string(i) + "]";
    c.Name(path + ".action_id", p.actions(i).action_id());
    c.Text(path + ".description", p.actions(i).description(), l.max_text_bytes);
  }
  c.Text("plan_defined.summary", p.summary(), l.max_text_bytes);
}

// The payload's fields, by payload; a missing payload is an error too.
void CheckPayload(Checker& c, const v1::ValueChainEvent& e) {
  const Limits& l = c.limits();
  switch (e.payload_case()) {
    case v1::ValueChainEvent::kInitiativeProposed:
      CheckProposed(c, e.initiative_proposed());
      break;
    case v1::ValueChainEvent::kBaselineMeasured:
      CheckBaseline(c, e.baseline_measured());
      break;
    case v1::ValueChainEvent::kTargetSet:
      CheckTarget(c, e.target_set());
      break;
    case v1::ValueChainEvent::kPlanDefined:
      CheckPlan(c, e.plan_defined());
      break;
    case v1::ValueChainEvent::kActionUpdated: {
      const auto& p = e.action_updated();
      c.Name("action_updated.action_id", p.action_id());
      c.Enum("action_updated.status", p.status(), v1::ActionStatus_IsValid(p.status()));
      if (p.percent_complete() > 100) {
        c.Fail("action_updated.percent_complete: must be 0..100");
      }
      break;
    }
    case v1::ValueChainEvent::kKpiMeasured: {
      const auto& p = e.kpi_measured();
      c.Name("kpi_measured.kpi", p.kpi());
      c.Finite("kpi_measured.value", p.value());
      if (p.has_measured_at()) c.Time("kpi_measured.measured_at", true, p.measured_at());
      break;
    }
    case v1::ValueChainEvent::kReviewConcluded: {
      const auto& p = e.review_concluded();
      c.Enum("review_concluded.result", p.result(), v1::ReviewResult_IsValid(p.result()));
      c.Text("review_concluded.notes", p.notes(), l.max_text_bytes);
      break;
    }
    case v1::ValueChainEvent::kMomentumRecorded: {
      const auto& p = e.momentum_recorded();
      c.Enum("momentum_recorded.kind", p.kind(), v1::MomentumKind_IsValid(p.kind()));
      c.Text("momentum_recorded.description", p.description(), l.max_text_bytes);
      break;
    }
    case v1::ValueChainEvent::kInitiativeClosed: {
      const auto& p = e.initiative_closed();
      c.Enum("initiative_closed.outcome", p.outcome(), v1::Outcome_IsValid(p.outcome()));
      c.Text("initiative_closed.reason", p.reason(), l.max_text_bytes);
      break;
    }
    case v1::ValueChainEvent::kInitiativeWithdrawn:
      c.Text("initiative_withdrawn.reason", e.initiative_withdrawn().reason(), l.max_text_bytes);
      break;
    case v1::ValueChainEvent::PAYLOAD_NOT_SET:
      c.Fail(
          "payload: required (one of initiative_proposed, baseline_measured, target_set, "
          "plan_defined, action_updated, kpi_measured, review_concluded, momentum_recorded, "
          "initiative_closed, initiative_withdrawn)");
      break;
  }
}

Result<void> CheckSize(std::string_view bytes, const Limits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "message is " + std::to_string(bytes.size()) + " bytes, at most " +
                    std::to_string(limits.max_message_bytes) + " allowed");
  }
  return {};
}

// The SAX handler behind CheckJson: nlohmann's SAX parser is iterative, so depth costs no stack;
// the handler counts depth and remembers the keys of every open object.
class StrictJson final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit StrictJson(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return Open();
  }
  bool key(string_t& name) override {
    if (!keys_.back().insert(name).second) {
      error_ = "duplicate key \"" + utf8::Quote(name) + "\"";
      return false;
    }
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    keys_.emplace_back();  // keeps keys_ aligned with depth_; arrays have no keys
    return Open();
  }
  bool end_array() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    // nlohmann's message quotes the offending token, which may be invalid UTF-8.
    // "[json.exception.parse_error.101] parse error at line 1, column 3: syntax error …": the
    // position is reported as a byte offset instead.
    std::string what = e.what();
    if (const auto bracket = what.find("] "); bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    if (what.rfind("parse error at ", 0) == 0) {
      if (const auto colon = what.find(": "); colon != std::string::npos) {
        what = what.substr(colon + 2);
      }
    }
    error_ = "at byte " + std::to_string(position) + ": " + utf8::Quote(what, 160);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool Open() {
    if (++depth_ > max_depth_) {
      error_ = "nested deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    return true;
  }

  const std::size_t max_depth_;
  std::size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;
  std::string error_;
};

}  // namespace

Result<void> CheckJson(std::string_view json, std::size_t max_depth) {
  StrictJson handler(max_depth);
  const bool ok = nlohmann::json::sax_parse(json, &handler, nlohmann::json::input_format_t::json,
                                            /*strict=*/true, /*ignore_comments=*/false);
  if (!ok) {
    return Fail(ErrorCode::kInvalidArgument,
                "not strict JSON: " +
                    (handler.error().empty() ? std::string("malformed") : handler.error()));
  }
  return {};
}

Result<v1::ValueChainEvent> ParseJson(std::string_view json, const Limits& limits) {
  if (auto size = CheckSize(json, limits); !size) return std::unexpected(size.error());
  // The fast path yields only what the slow one below would; when it declines, the slow one
  // decides, and writes every error.
  if (v1::ValueChainEvent fast;
      internal::FastJsonToMessage(json, limits.max_json_depth, fast)) {
    return fast;
  }
  if (auto strict = CheckJson(json, limits.max_json_depth); !strict) {
    return Fail(ErrorCode::kInvalidArgument,
                "not a ValueChainEvent in JSON: " + strict.error().message);
  }
  v1::ValueChainEvent event;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status =
      pb::util::JsonStringToMessage(pb::StringPiece(json.data(), json.size()), &event, options);
  if (!status.ok()) {
    return Fail(ErrorCode::kInvalidArgument, "not a ValueChainEvent in JSON: " +
                                                 utf8::Quote(std::string(status.message()), 200));
  }
  return event;
}

Result<v1::ValueChainEvent> ParseBinary(std::string_view bytes, const Limits& limits) {
  if (auto size = CheckSize(bytes, limits); !size) return std::unexpected(size.error());
  v1::ValueChainEvent event;
  if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Fail(ErrorCode::kInvalidArgument, "not a ValueChainEvent in protobuf binary");
  }
  return event;
}

Result<void> Validate(const v1::ValueChainEvent& e, const Limits& limits) {
  Checker c(limits);
  c.Id("id", e.id());
  c.Required("source", e.source(), limits.max_source_bytes);
  c.Id("initiative_id", e.initiative_id());
  c.Enum("activity", e.activity(), v1::Activity_IsValid(e.activity()));
  c.Time("event_time", e.has_event_time(), e.event_time());
  CheckPayload(c, e);
  if (!c.error().empty()) return Fail(ErrorCode::kInvalidArgument, c.error());
  // Every string field, including those no rule above names: the register stores the event and
  // must be able to parse it back.
  return utf8::CheckMessage(e);
}

Result<v1::ValueChainEvent> DecodeJson(std::string_view json, const Limits& limits) {
  auto event = ParseJson(json, limits);
  if (!event) return event;
  if (auto valid = Validate(*event, limits); !valid) return std::unexpected(valid.error());
  return event;
}

Result<std::string> ToJson(const pb::Message& message) {
  std::string out;
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = false;
  // protobuf's printer checks timestamps against its range and fails on strings that are not
  // UTF-8; both are reported, never fatal (Validate keeps both out of the register).
  const auto status = pb::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return Fail(ErrorCode::kInternal, "cannot print " + message.GetTypeName() + " as JSON: " +
                                          utf8::Quote(std::string(status.message()), 200));
  }
  return out;
}

}  // namespace cir::events
