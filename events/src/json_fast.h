// The fast path of JSON decoding: simdjson's DOM parser, then the message filled through
// reflection. It decides only what it is sure of: it either yields exactly the message that
// CheckJson + JsonStringToMessage (protobuf's own parser, with unknown fields refused) would
// yield for the same bytes, or it declines, and the caller takes that slow path, which also
// writes every error text. So accepting and refusing, and every reason, stay what they were;
// tests/events/json_fast_test.cc and the `json` fuzz target compare the two paths.
//
// It declines anything outside the plain shape the producers write: null, an integer written as
// a string or with a fraction or exponent, an enum given by number, an integer a double cannot
// hold exactly, a timestamp with an offset or a lower-case 't'/'z', well-known types other than
// Timestamp, bytes, float and map fields, a field (or oneof) given twice, invalid JSON (simdjson
// checks the whole document, UTF-8 included), nesting deeper than max_depth.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

namespace cir::events::internal {

// On by default. Tests and the json fuzz target turn it off to have the slow path alone, and
// compare.
void SetFastPath(bool on);

// Fills `message` (cleared first) and returns true, or returns false with `message` in an
// unspecified state. `max_depth` is CheckJson's: objects and arrays, the outermost counted.
[[nodiscard]] bool FastJsonToMessage(std::string_view json, std::size_t max_depth,
                                     google::protobuf::Message& message);

// A CloudEvents structured-mode value: a JSON object whose members are strings, but for "data",
// an object filled into `data` as FastJsonToMessage would fill it. `attributes` gets every other
// member (name, value), in order. Declines a member of any other type, a name given twice, and
// whatever FastJsonToMessage declines in the data. `max_depth` counts the envelope (as CheckJson
// of the whole value does); the data sits at depth 2.
[[nodiscard]] bool FastStructuredToMessage(
    std::string_view json, std::size_t max_depth,
    std::vector<std::pair<std::string, std::string>>& attributes,
    google::protobuf::Message& data);

}  // namespace cir::events::internal
