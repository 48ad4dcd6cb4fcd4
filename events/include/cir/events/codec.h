// The value-chain event codec: decoding (protobuf binary or protobuf's JSON mapping) and the
// validation every inbound event passes before it reaches the register, whichever way it came in
// (Kafka, `circtl replay`, later the HTTP API). Limits are stated in README.md beside this file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "cir/base/error.h"
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
  std::size_t max_json_depth = 64;      // nesting of objects and arrays in any JSON input
  // A dead letter (key + value + headers + cird's reason headers) is cut to fit this, so that
  // the producer (message.max.bytes, 1,000,000 by default) always takes it.
  std::size_t max_dead_letter_bytes = 512 * 1024;
};

// The strict gate every JSON text from outside passes before a parser that recurses sees it:
// RFC 8259 exactly (no single quotes, comments, trailing commas, NaN; valid UTF-8 in strings, no
// lone surrogates), no object with the same key twice, and objects and arrays nested at most
// `max_depth` deep. Non-recursive: any input, however deep, costs a bounded stack.
// Errors: kInvalidArgument saying what and where ("at byte 17: …"); valid UTF-8 whatever the input.
[[nodiscard]] Result<void> CheckJson(std::string_view json, std::size_t max_depth);

// Parses one event from protobuf's JSON mapping (lowerCamelCase or proto field names, enum names
// as strings, RFC 3339 timestamps), after CheckJson. Unknown fields are errors, so typos fail
// loudly.
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
// Errors: kInternal when protobuf cannot print it (a timestamp outside its range, a string field
// that is not UTF-8); never aborts.
[[nodiscard]] Result<std::string> ToJson(const google::protobuf::Message& message);


}  // namespace cir::events
