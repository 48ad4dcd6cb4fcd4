// Hostile input at the wire: every record a hostile or buggy pipeline can send is either decoded
// or rejected with a reason code, and nothing cird derives from it is text protobuf cannot parse
// back (issue: "Hostile input never stops cird").
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "cir/base/utf8.h"
#include "cir/events/cloudevents.h"
#include "event_builders.h"
#include "records.h"

namespace cir::events {
namespace {

const std::string kBad = "bad\xff\xfe";  // not UTF-8

v1::ValueChainEvent Measured() {
  return testing::MeasuredAt("INI-1", "m-1", 1767225600, "//monitoring", "mttr", 42);
}

using testing::Nested;
using testing::SetHeader;


// ---- UTF-8 ----------------------------------------------------------------------------------

TEST(Utf8, ValidAndEscape) {
  EXPECT_TRUE(utf8::Valid("plain"));
  EXPECT_TRUE(utf8::Valid("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(utf8::Valid("\xff"));
  EXPECT_FALSE(utf8::Valid("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(utf8::Valid("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(utf8::Valid("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(utf8::Valid("\xe2\x82"));          // cut short
  EXPECT_EQ(utf8::Escape(kBad), "bad\\xFF\\xFE");
  EXPECT_TRUE(utf8::Valid(utf8::Quote(std::string(300, '\xff'))));
  EXPECT_LE(utf8::Quote(std::string(300, 'a'), 80).size(), 80u + 3);
}

TEST(Utf8, CheckMessageNamesTheField) {
  v1::ValueChainEvent e = Measured();
  EXPECT_TRUE(utf8::CheckMessage(e).has_value());
  e.mutable_kpi_measured()->set_kpi(kBad);
  auto checked = utf8::CheckMessage(e);
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().message, "kpi_measured.kpi: not valid UTF-8");
}

// ---- binary mode: every attribute, the key, a header name -------------------------------------

struct BadRecord {
  const char* name;
  void (*mutate)(Record&);
  const char* reason_code;
};

class HostileRecords : public ::testing::TestWithParam<BadRecord> {};

TEST_P(HostileRecords, AreRejectedWithAReasonThatIsValidUtf8) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  record.topic = "in";
  record.partition = 0;
  record.offset = 7;
  GetParam().mutate(record);
  auto decoded = DecodeRecord(record, Limits{});
  ASSERT_FALSE(decoded.has_value()) << GetParam().name;
  EXPECT_EQ(decoded.error().reason_code(), GetParam().reason_code) << decoded.error().reason;
  EXPECT_TRUE(utf8::Valid(decoded.error().reason)) << decoded.error().reason;
  // The dead letter parses back after a round trip through its bytes (what the outbox does).
  v1::DeadLetter dl = MakeDeadLetter(record, decoded.error(), Limits{});
  v1::OutboxRecord outbox;
  *outbox.mutable_dead_letter() = dl;
  v1::OutboxRecord back;
  ASSERT_TRUE(back.ParseFromString(outbox.SerializeAsString())) << GetParam().name;
  EXPECT_EQ(back.dead_letter().value(), *record.value);
}

const BadRecord kHostile[] = {
    {"json_value_not_utf8",
     [](Record& r) {
       r.value = "{\"kpiMeasured\":{\"kpi\":\"" + kBad + "\",\"value\":1}}";
     },
     "DECODE_ERROR"},
    {"ce_id_not_utf8", [](Record& r) { SetHeader(r, "ce_id", kBad); }, "BAD_ATTRIBUTE"},
    {"ce_source_not_utf8", [](Record& r) { SetHeader(r, "ce_source", kBad); }, "BAD_ATTRIBUTE"},
    {"ce_subject_not_utf8", [](Record& r) { SetHeader(r, "ce_subject", kBad); }, "BAD_ATTRIBUTE"},
    {"ce_type_not_utf8",
     [](Record& r) { SetHeader(r, "ce_type", "dev.cir.v1." + kBad); }, "BAD_ATTRIBUTE"},
    {"ce_time_not_utf8", [](Record& r) { SetHeader(r, "ce_time", kBad); }, "BAD_ATTRIBUTE"},
    {"content_type_not_utf8",
     [](Record& r) { SetHeader(r, "content-type", "application/" + kBad); },
     "UNSUPPORTED_CONTENT_TYPE"},
    {"key_not_utf8", [](Record& r) { r.key = kBad; }, "BAD_ATTRIBUTE"},
    {"content_type_jsonxyz",
     [](Record& r) { SetHeader(r, "content-type", "application/jsonxyz"); },
     "UNSUPPORTED_CONTENT_TYPE"},
    {"content_type_latin1",
     [](Record& r) { SetHeader(r, "content-type", "application/json; charset=latin1"); },
     "UNSUPPORTED_CONTENT_TYPE"},
    {"content_type_malformed",
     [](Record& r) { SetHeader(r, "content-type", "application/json; charset"); },
     "UNSUPPORTED_CONTENT_TYPE"},
    {"duplicated_ce_id",
     [](Record& r) { r.headers.emplace_back("ce_id", "m-2"); }, "BAD_ATTRIBUTE"},
    {"duplicated_content_type",
     [](Record& r) { r.headers.emplace_back("content-type", "application/json"); },
     "BAD_ATTRIBUTE"},
    {"duplicate_json_keys",
     [](Record& r) {
       r.value = R"({"kpiMeasured":{"kpi":"a","value":1},"kpiMeasured":{"kpi":"b","value":2}})";
     },
     "DECODE_ERROR"},
    {"single_quoted_json",
     [](Record& r) { r.value = R"({'kpiMeasured':{'kpi':'a','value':1}})"; }, "DECODE_ERROR"},
    {"trailing_comma", [](Record& r) { r.value = R"({"kpiMeasured":{"kpi":"a","value":1},})"; },
     "DECODE_ERROR"},
    {"nested_65_deep", [](Record& r) { r.value = "{\"x\":" + Nested(64) + "}"; },
     "DECODE_ERROR"},
    {"nested_100k_deep",
     [](Record& r) { r.value = Nested(30000); },  // 60 KB, inside the 64 KiB limit
     "DECODE_ERROR"},
    {"lone_surrogate_escape",
     [](Record& r) { r.value = R"({"kpiMeasured":{"kpi":"\ud800","value":1}})"; },
     "DECODE_ERROR"},
    {"time_after_9999",
     [](Record& r) { SetHeader(r, "ce_time", "10000-01-01T00:00:00Z"); }, "BAD_ATTRIBUTE"},
};

INSTANTIATE_TEST_SUITE_P(Wire, HostileRecords, ::testing::ValuesIn(kHostile),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(HostileRecords, AHeaderNameThatIsNotUtf8IsKeptAsBytes) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  record.headers.emplace_back(kBad, "v");
  record.value = "not json";
  auto decoded = DecodeRecord(record, Limits{});
  ASSERT_FALSE(decoded.has_value());
  v1::OutboxRecord outbox;
  *outbox.mutable_dead_letter() = MakeDeadLetter(record, decoded.error(), Limits{});
  v1::OutboxRecord back;
  ASSERT_TRUE(back.ParseFromString(outbox.SerializeAsString()));
  const Record out = EncodeDeadLetter(back.dead_letter());
  EXPECT_TRUE(std::any_of(out.headers.begin(), out.headers.end(),
                          [](const auto& h) { return h.first == kBad; }));
}

TEST(HostileRecords, StructuredModeDepthAndStrictnessToo) {
  Record record;
  record.key = "INI-1";
  record.headers = {{"content-type", "application/cloudevents+json"}};
  const std::string envelope =
      R"({"specversion":"1.0","id":"s-1","source":"//surveys","type":"dev.cir.v1.KpiMeasured",)"
      R"("time":"2026-01-01T00:00:00Z","data":)";
  record.value = envelope + R"({"activity":"ACTIVITY_ENGAGE","kpiMeasured":{"kpi":"csat","value":40}}})";
  ASSERT_TRUE(DecodeRecord(record, Limits{}).has_value());
  record.value = envelope + "{\"x\":" + Nested(70) + "}}";
  auto deep = DecodeRecord(record, Limits{});
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error().reason_code(), "DECODE_ERROR");
  EXPECT_NE(deep.error().reason.find("nested deeper than"), std::string::npos);
  record.value = Nested(30000);
  EXPECT_EQ(DecodeRecord(record, Limits{}).error().reason_code(), "DECODE_ERROR");
  record.value = envelope + R"({"activity":"ACTIVITY_ENGAGE"},"id":"again"})";
  EXPECT_EQ(DecodeRecord(record, Limits{}).error().reason_code(), "DECODE_ERROR");
  // A non-string subject is an error, not silently ignored.
  record.value = R"({"specversion":"1.0","id":"s-1","source":"//surveys","type":"dev.cir.v1.KpiMeasured",)"
                 R"("subject":7,"data":{"activity":"ACTIVITY_ENGAGE","kpiMeasured":{"kpi":"c","value":1}}})";
  EXPECT_EQ(DecodeRecord(record, Limits{}).error().reason_code(), "BAD_ATTRIBUTE");
}

TEST(CheckJson, AcceptsRfc8259AndNothingElse) {
  for (const char* good : {"{}", "[]", "0", "\"s\"", "{\"a\":[1,2,{\"b\":null}]}", " true ",
                           "{\"a\":1,\"b\":1}", "{\"a\":{\"a\":1}}"}) {
    EXPECT_TRUE(CheckJson(good, 64).has_value()) << good;
  }
  for (const char* bad : {"{'a':1}", "{\"a\":1,}", "[1,]", "NaN", "{\"a\":1}/*c*/", "{\"a\":01}",
                          "{\"a\":1,\"a\":2}", "", "{\"a\"}", "\"\\x41\""}) {
    EXPECT_FALSE(CheckJson(bad, 64).has_value()) << bad;
  }
  EXPECT_TRUE(CheckJson(Nested(64), 64).has_value());
  EXPECT_FALSE(CheckJson(Nested(65), 64).has_value());
  EXPECT_FALSE(CheckJson(Nested(1000000), 64).has_value());
  auto error = CheckJson("{\"k\xff\":1}", 64);
  ASSERT_FALSE(error.has_value());
  EXPECT_TRUE(utf8::Valid(error.error().message)) << error.error().message;
}

TEST(MediaType, ParsesParametersExactly) {
  EXPECT_EQ(ParseMediaType("application/json").value_or("?"), "application/json");
  EXPECT_EQ(ParseMediaType(" Application/JSON ; charset=\"UTF-8\" ").value_or("?"),
            "application/json");
  EXPECT_EQ(ParseMediaType("application/json;foo=bar").value_or("?"), "application/json");
  EXPECT_FALSE(ParseMediaType("application/json; charset=iso-8859-1").has_value());
  EXPECT_FALSE(ParseMediaType("application").has_value());
  EXPECT_FALSE(ParseMediaType("application/json; =x").has_value());
  EXPECT_FALSE(ParseMediaType("application/js on").has_value());
}

// ---- dead letters fit the producer ------------------------------------------------------------

TEST(DeadLetters, AHugeKeyAndHeadersAreCutToFitAndSaySo) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  record.topic = "in";
  record.partition = 3;
  record.offset = 99;
  record.key = std::string(950000, 'k');
  record.value = std::string(64 * 1024, 'v');
  for (int i = 0; i < 200; ++i) record.headers.emplace_back("h" + std::to_string(i), "x");
  auto decoded = DecodeRecord(record, Limits{});
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().reason_code(), "OVERSIZED");
  Limits limits;
  const v1::DeadLetter dl = MakeDeadLetter(record, decoded.error(), limits);
  EXPECT_LE(DeadLetterBytes(dl), limits.max_dead_letter_bytes);
  const Record out = EncodeDeadLetter(dl);
  std::size_t bytes = out.key->size() + out.value->size();
  for (const auto& [k, v] : out.headers) bytes += k.size() + v.size();
  EXPECT_LE(bytes, limits.max_dead_letter_bytes);
  EXPECT_EQ(out.key->size(), kMaxCutText);
  EXPECT_EQ(*out.value, *record.value);  // the value fits once the key is cut
  EXPECT_EQ(out.Header("cir_dlq_source_offset").value_or(""), "99");
  const std::string truncated(out.Header("cir_dlq_truncated").value_or(""));
  EXPECT_NE(truncated.find("key:950000->1024"), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("headers:207->64"), std::string::npos) << truncated;
}

TEST(DeadLetters, AHugeValueIsCutToTheRoomLeft) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  record.value = std::string(2 << 20, 'v');
  auto decoded = DecodeRecord(record, Limits{});
  ASSERT_FALSE(decoded.has_value());
  Limits limits;
  limits.max_dead_letter_bytes = 100 * 1024;
  const v1::DeadLetter dl = MakeDeadLetter(record, decoded.error(), limits);
  EXPECT_LE(DeadLetterBytes(dl), limits.max_dead_letter_bytes);
  EXPECT_GT(dl.value().size(), 90u * 1024);
  EXPECT_EQ(dl.value(), record.value->substr(0, dl.value().size()));
  EXPECT_NE(dl.truncated().find("value:2097152->"), std::string::npos) << dl.truncated();
}

TEST(DeadLetters, TheProducersOwnDlqHeadersAreReplaced) {
  Record record = EncodeEvent(Measured(), DataFormat::kJson);
  record.headers.insert(record.headers.begin(), {"cir_dlq_reason_code", "FORGED"});
  record.headers.emplace_back("cir_dlq_source_offset", "-5");
  record.value = "not json";
  auto decoded = DecodeRecord(record, Limits{});
  ASSERT_FALSE(decoded.has_value());
  const Record out = EncodeDeadLetter(MakeDeadLetter(record, decoded.error(), Limits{}));
  const auto count = [&](const char* name) {
    return std::count_if(out.headers.begin(), out.headers.end(),
                         [&](const auto& h) { return h.first == name; });
  };
  EXPECT_EQ(count("cir_dlq_reason_code"), 1);
  EXPECT_EQ(count("cir_dlq_source_offset"), 1);
  EXPECT_EQ(out.Header("cir_dlq_reason_code").value_or(""), "DECODE_ERROR");
}

TEST(Time, ToJsonReportsInsteadOfAborting) {
  v1::ValueChainEvent e = Measured();
  e.mutable_event_time()->set_seconds(253402300800);  // year 10000
  auto printed = ToJson(e);
  EXPECT_FALSE(printed.has_value());
  e.mutable_event_time()->set_seconds(253402300799);  // 9999-12-31T23:59:59Z: the last second
  EXPECT_TRUE(ToJson(e).has_value());
  EXPECT_TRUE(Validate(e, Limits{}).has_value());
  e.mutable_event_time()->set_seconds(253402300800);
  EXPECT_FALSE(Validate(e, Limits{}).has_value());
}

}  // namespace
}  // namespace cir::events
