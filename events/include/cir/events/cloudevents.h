// CloudEvents over the Kafka protocol binding, for cir's events.
//
// Inbound, both content modes are accepted:
//  - binary: `ce_specversion`, `ce_id`, `ce_source`, `ce_type` (and optionally `ce_time`,
//    `ce_subject`) headers; the value is a ValueChainEvent as protobuf (`content-type:
//    application/protobuf`) or JSON (`application/json`);
//  - structured: `content-type: application/cloudevents+json`, the value a CloudEvents JSON object
//    whose `data` is the ValueChainEvent in JSON.
// The CloudEvents attributes are the envelope: `id`, `source` and `time` fill the event's fields
// of the same name when the data leaves them empty, and must agree with them when it does not; the
// record key (or `ce_subject`) likewise gives the initiative id. `type` must be
// "dev.cir.v1.<payload message>", e.g. "dev.cir.v1.KpiMeasured".
// Outbound, records are binary mode with protobuf data and deterministic ids.
//
// No librdkafka type appears here: the Kafka layer converts its messages to and from Record.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cir/base/enum_name.h"
#include "cir/events/codec.h"
#include "cir/v1/improvement.pb.h"
#include "cir/v1/register.pb.h"
#include "cir/v1/value_chain.pb.h"

namespace cir::events {

// A Kafka record as the binding sees it.
struct Record {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a null value (tombstone)
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header named `name`, if any.
  [[nodiscard]] std::optional<std::string_view> Header(std::string_view name) const;
};

// Why an inbound record was not accepted: `code` is one of the codec's DeadLetterReasons
// (OVERSIZED … INVALID_EVENT; schemas/cir/v1/register.proto). `reason` is valid UTF-8 (input it
// quotes is escaped and cut).
struct Rejection {
  v1::DeadLetterReason code = v1::DEAD_LETTER_REASON_UNSPECIFIED;
  std::string reason;

  // The code as the dead letter spells it ("DECODE_ERROR"; base::EnumName).
  [[nodiscard]] std::string_view reason_code() const { return base::EnumName(code); }
};

enum class DataFormat { kProtobuf, kJson };

inline constexpr std::string_view kSpecVersion = "1.0";
inline constexpr std::string_view kTypePrefix = "dev.cir.v1.";

// "dev.cir.v1.<payload message>" for an event; "dev.cir.v1.StepTransition" /
// "dev.cir.v1.MomentumAlert" for an output.
[[nodiscard]] std::string TypeOf(const v1::ValueChainEvent& event);
[[nodiscard]] std::string TypeOf(const v1::Output& output);

// Decodes and validates one inbound record. Never throws; every failure is a Rejection.
[[nodiscard]] std::expected<v1::ValueChainEvent, Rejection> DecodeRecord(const Record& record,
                                                                        const Limits& limits);

// Encodes an event as a binary-mode record keyed by its initiative id (for producers: the demo,
// tests, `circtl publish`).
[[nodiscard]] Record EncodeEvent(const v1::ValueChainEvent& event, DataFormat format);

// Encodes a transition or alert as a binary-mode record keyed by its initiative id, with
// `ce_id` = the output's deterministic id and `ce_source` = `source` (e.g. "//cird/<group>").
// `ce_dataschema` is the data's protobuf type URL with its scheme spelled out
// ("https://type.googleapis.com/cir.v1.StepTransition"): CloudEvents requires an absolute URI
// there, the protobuf event format asks for the type URL, and protobuf's Any assumes https for a
// type URL without a scheme, so this one value is both.
[[nodiscard]] Record EncodeOutput(const v1::Output& output, const std::string& source);

// Decodes a record that EncodeOutput made (by its ce_type). Errors: kInvalidArgument.
[[nodiscard]] Result<v1::Output> DecodeOutput(const Record& record);

// The media type of a Content-Type value, lower case and without parameters
// ("Application/JSON; charset=utf-8" → "application/json"); nullopt when it is malformed (not
// `type/subtype` tokens, a malformed parameter) or names a charset other than UTF-8.
[[nodiscard]] std::optional<std::string> ParseMediaType(std::string_view content_type);

// The dead letter for a rejected record: the original key, value and headers, and the reason
// (made valid UTF-8), cut by FitDeadLetter to limits.max_dead_letter_bytes.
[[nodiscard]] v1::DeadLetter MakeDeadLetter(const Record& record, const Rejection& rejection,
                                            const Limits& limits);

// Bytes reserved for cird's own cir_dlq_* headers when sizing a dead letter.
inline constexpr std::size_t kDeadLetterHeaderReserve = 512;
// When a dead letter must be cut: the reason, the key, each header name and value keep at most
// this many bytes, and at most kMaxCutHeaders headers are kept.
inline constexpr std::size_t kMaxCutText = 1024;
inline constexpr std::size_t kMaxCutHeaders = 64;
// What the bounded parts of a cut dead letter can take (reason, key, kMaxCutHeaders headers of
// two kMaxCutText parts each, cird's headers, the note), rounded up: the least
// --max-dead-letter-bytes.
inline constexpr std::size_t kMinDeadLetterBytes = 160 * 1024;
static_assert(kMinDeadLetterBytes > 2 * kMaxCutText + kMaxCutHeaders * (2 * kMaxCutText + 8) +
                                        kDeadLetterHeaderReserve + 4096);

// The size of the record EncodeDeadLetter would make of `dead_letter` (an upper bound).
[[nodiscard]] std::size_t DeadLetterBytes(const v1::DeadLetter& dead_letter);

// Cuts `dead_letter` so that DeadLetterBytes <= max_bytes: reason, headers and key to the bounds
// above, then the value to what room is left. What was cut is recorded in `truncated`
// ("key:950000->1024,value:65536->…"), which EncodeDeadLetter sends as `cir_dlq_truncated`.
// REQUIRES: max_bytes >= kMinDeadLetterBytes (room for the bounded parts).
void FitDeadLetter(v1::DeadLetter& dead_letter, std::size_t max_bytes);

// A dead letter as the record to publish: the original key, value and headers (except any
// `cir_dlq_*` header the producer sent: those names are cird's), plus `cir_dlq_reason_code`,
// `cir_dlq_reason`, `cir_dlq_source_topic`, `cir_dlq_source_partition`, `cir_dlq_source_offset`
// and, when it was cut, `cir_dlq_truncated`.
[[nodiscard]] Record EncodeDeadLetter(const v1::DeadLetter& dead_letter);

}  // namespace cir::events
