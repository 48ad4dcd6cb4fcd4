// The CloudEvents Kafka binding: both content modes in, the envelope reconciled with the
// attributes, every rejection with its reason code; outputs and dead letters out.
#include <gtest/gtest.h>

#include <algorithm>

#include "cir/events/cloudevents.h"
#include "event_builders.h"
#include "records.h"

namespace cir::events {
namespace {

v1::ValueChainEvent Measured() {
  return testing::MeasuredAt("INI-1", "m-1", 1767225600, "//monitoring", "mttr", 42);
}

using testing::DropHeader;
using testing::SetHeader;

TEST(CloudEvents, BinaryModeRoundTripsInBothDataFormats) {
  for (DataFormat format : {DataFormat::kProtobuf, DataFormat::kJson}) {
    const Record record = EncodeEvent(Measured(), format);
    EXPECT_EQ(record.key.value_or(""), "INI-1");
    EXPECT_EQ(record.Header("ce_type").value_or(""), "dev.cir.v1.KpiMeasured");
    EXPECT_EQ(record.Header("ce_time").value_or(""), "2026-01-01T00:00:00Z");
    auto event = DecodeRecord(record, Limits{});
    ASSERT_TRUE(event.has_value()) << event.error().reason;
    EXPECT_EQ(event->SerializeAsString(), Measured().SerializeAsString());
  }
}

TEST(CloudEvents, AttributesAndKeyFillTheEnvelope) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  record.value = R"({"activity":"ACTIVITY_DELIVER_SUPPORT","kpiMeasured":{"kpi":"mttr","value":42}})";
  auto event = DecodeRecord(record, Limits{});
  ASSERT_TRUE(event.has_value()) << event.error().reason;
  EXPECT_EQ(event->id(), "m-1");
  EXPECT_EQ(event->source(), "//monitoring");
  EXPECT_EQ(event->initiative_id(), "INI-1");
  EXPECT_EQ(event->event_time().seconds(), 1767225600);
}

TEST(CloudEvents, StructuredModeIsAccepted) {
  Record record;
  record.key = "INI-1";
  record.headers = {{"content-type", "application/cloudevents+json; charset=UTF-8"}};
  record.value = R"({"specversion":"1.0","id":"s-1","source":"//surveys","type":"dev.cir.v1.KpiMeasured",
    "time":"2026-01-01T00:00:00Z","datacontenttype":"application/json",
    "data":{"activity":"ACTIVITY_ENGAGE","kpiMeasured":{"kpi":"csat","value":33}}})";
  auto event = DecodeRecord(record, Limits{});
  ASSERT_TRUE(event.has_value()) << event.error().reason;
  EXPECT_EQ(event->id(), "s-1");
  EXPECT_EQ(event->source(), "//surveys");
  EXPECT_EQ(event->initiative_id(), "INI-1");
  EXPECT_EQ(event->kpi_measured().value(), 33);
}

struct Bad {
  std::string name;
  std::function<void(Record&)> spoil;
  std::string reason_code;
};

// Test names show the row's name, not its bytes.
void PrintTo(const Bad& row, std::ostream* os) { *os << row.name; }

class CloudEventsRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(CloudEventsRejects, WithTheReasonCode) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  GetParam().spoil(record);
  auto event = DecodeRecord(record, Limits{});
  ASSERT_FALSE(event.has_value());
  EXPECT_EQ(event.error().reason_code(), GetParam().reason_code) << event.error().reason;
  EXPECT_FALSE(event.error().reason.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, CloudEventsRejects,
    ::testing::Values(
        Bad{"null_value", [](Record& r) { r.value.reset(); }, "NULL_VALUE"},
        Bad{"oversized", [](Record& r) { r.value = std::string(70000, ' '); }, "OVERSIZED"},
        Bad{"no_ce_id", [](Record& r) { DropHeader(r, "ce_id"); }, "MISSING_ATTRIBUTE"},
        Bad{"no_ce_source", [](Record& r) { DropHeader(r, "ce_source"); }, "MISSING_ATTRIBUTE"},
        Bad{"no_ce_type", [](Record& r) { DropHeader(r, "ce_type"); }, "MISSING_ATTRIBUTE"},
        Bad{"no_content_type", [](Record& r) { DropHeader(r, "content-type"); },
            "MISSING_ATTRIBUTE"},
        Bad{"spec_0_3", [](Record& r) { SetHeader(r, "ce_specversion", "0.3"); },
            "BAD_ATTRIBUTE"},
        Bad{"foreign_type", [](Record& r) { SetHeader(r, "ce_type", "com.example.thing"); },
            "BAD_ATTRIBUTE"},
        Bad{"type_not_the_payload",
            [](Record& r) { SetHeader(r, "ce_type", "dev.cir.v1.TargetSet"); },
            "ATTRIBUTE_MISMATCH"},
        Bad{"id_disagrees", [](Record& r) { SetHeader(r, "ce_id", "other"); },
            "ATTRIBUTE_MISMATCH"},
        Bad{"key_disagrees", [](Record& r) { r.key = "INI-2"; }, "ATTRIBUTE_MISMATCH"},
        Bad{"time_disagrees",
            [](Record& r) { SetHeader(r, "ce_time", "2026-02-01T00:00:00Z"); },
            "ATTRIBUTE_MISMATCH"},
        Bad{"time_not_rfc3339", [](Record& r) { SetHeader(r, "ce_time", "yesterday"); },
            "BAD_ATTRIBUTE"},
        Bad{"xml", [](Record& r) { SetHeader(r, "content-type", "application/xml"); },
            "UNSUPPORTED_CONTENT_TYPE"},
        Bad{"structured_protobuf",
            [](Record& r) { SetHeader(r, "content-type", "application/cloudevents+protobuf"); },
            "UNSUPPORTED_CONTENT_TYPE"},
        Bad{"not_json", [](Record& r) { r.value = "{nope"; }, "DECODE_ERROR"},
        Bad{"invalid_event",
            [](Record& r) {
              r.value = R"({"id":"m-1","source":"//monitoring","initiativeId":"INI-1","activity":"ACTIVITY_DELIVER_SUPPORT","eventTime":"2026-01-01T00:00:00Z","kpiMeasured":{"value":42}})";
            },
            "INVALID_EVENT"},
        Bad{"structured_without_data",
            [](Record& r) {
              r.headers = {{"content-type", "application/cloudevents+json"}};
              r.value = R"({"specversion":"1.0","id":"x","source":"//s","type":"dev.cir.v1.KpiMeasured"})";
            },
            "MISSING_ATTRIBUTE"}),
    [](const auto& param) { return param.param.name; });

TEST(CloudEvents, OutputsRoundTripWithDeterministicIds) {
  v1::Output output;
  auto& t = *output.mutable_transition();
  t.set_id("INI-1/t/3");
  t.set_initiative_id("INI-1");
  t.set_to_step(v1::STEP_PLAN);
  t.mutable_time()->set_seconds(1767225600);
  const Record record = EncodeOutput(output, "//cird/test");
  EXPECT_EQ(record.key.value_or(""), "INI-1");
  EXPECT_EQ(record.Header("ce_id").value_or(""), "INI-1/t/3");
  EXPECT_EQ(record.Header("ce_source").value_or(""), "//cird/test");
  EXPECT_EQ(record.Header("ce_type").value_or(""), "dev.cir.v1.StepTransition");
  EXPECT_EQ(record.Header("content-type").value_or(""), "application/protobuf");
  // An absolute URI (CloudEvents 1.0.2), and the protobuf type URL with its scheme.
  EXPECT_EQ(record.Header("ce_dataschema").value_or(""),
            "https://type.googleapis.com/cir.v1.StepTransition");
  auto decoded = DecodeOutput(record);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->SerializeAsString(), output.SerializeAsString());
}

TEST(CloudEvents, DeadLetterKeepsTheOriginalAndNamesTheReason) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  record.topic = "in";
  record.partition = 2;
  record.offset = 17;
  record.value = "{nope";
  auto rejected = DecodeRecord(record, Limits{});
  ASSERT_FALSE(rejected.has_value());
  const Record dead = EncodeDeadLetter(MakeDeadLetter(record, rejected.error(), Limits{}));
  EXPECT_EQ(dead.key, record.key);
  EXPECT_EQ(dead.value, record.value);
  EXPECT_EQ(dead.Header("ce_id").value_or(""), "m-1");
  EXPECT_EQ(dead.Header("cir_dlq_reason_code").value_or(""), "DECODE_ERROR");
  EXPECT_EQ(dead.Header("cir_dlq_source_topic").value_or(""), "in");
  EXPECT_EQ(dead.Header("cir_dlq_source_partition").value_or(""), "2");
  EXPECT_EQ(dead.Header("cir_dlq_source_offset").value_or(""), "17");
}

}  // namespace
}  // namespace cir::events
