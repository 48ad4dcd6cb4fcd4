// The value-chain event codec: decoding (protobuf binary or protobuf's JSON mapping) and the
// validation every inbound event passes before it reaches the register, whichever way it came in
// (Kafka, `circtl replay`, later the HTTP API). Limits are stated in README.md beside this file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "cir/error.h"
#include "cir/v1/value_chain.pb.h"

namespace cir::events {

struct Limits {
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_id_bytes = 128;       // event id and initiative id
  std::size_t max_source_bytes = 256;   // CloudEvents source
  std::size_t max_name_bytes = 128;     // kpi, action id, owner, unit, tag
  std::size_t max_text_bytes = 4096;    // title, vision, goal, descriptions, notes, reasons
  std::size_t max_tags = 32;
  std::size_t max_actions = 256;
};

// Parses one event from protobuf's JSON mapping (lowerCamelCase or proto field names, enum names
// as strings, RFC 3339 timestamps). Unknown fields are errors, so typos fail loudly.
// Errors: kInvalidArgument with the parser's message. Does not validate; see Validate.
[[nodiscard]] Result<v1::ValueChainEvent> ParseJson(std::string_view json, const Limits& limits);

// Parses one event from protobuf binary. Errors: kInvalidArgument.
[[nodiscard]] Result<v1::ValueChainEvent> ParseBinary(std::string_view bytes, const Limits& limits);

// Checks required fields, enum values, lengths and counts. The error message starts with the
// offending field's path, e.g. "target_set.deadline: required".
[[nodiscard]] Result<void> Validate(const v1::ValueChainEvent& event, const Limits& limits);

// ParseJson then Validate.
[[nodiscard]] Result<v1::ValueChainEvent> DecodeJson(std::string_view json, const Limits& limits);

// One message as compact JSON on one line (proto field names, enums as names, defaults left out).
[[nodiscard]] std::string ToJson(const google::protobuf::Message& message);

}  // namespace cir::events
