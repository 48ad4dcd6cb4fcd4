// The JSON fast path (events/src/json_fast.h) against protobuf's own parser: what it accepts it
// parses to exactly the bytes JsonStringToMessage gives; what it declines, ParseJson still
// decides as before (the slow path). Table-driven: one row per input.
#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <string>
#include <vector>

#include "cir/events/cloudevents.h"
#include "cir/events/codec.h"
#include "json_fast.h"

namespace cir::events {
namespace {

namespace pb = google::protobuf;

constexpr std::size_t kDepth = 64;  // Limits{}.max_json_depth is what ParseJson uses below

std::string Bytes(const pb::Message& message) {
  std::string bytes;
  pb::io::StringOutputStream stream(&bytes);
  pb::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

// The slow path alone: CheckJson, then protobuf's parser with unknown fields refused.
std::optional<std::string> Slow(const std::string& json, std::size_t depth = kDepth) {
  if (!CheckJson(json, depth)) return std::nullopt;
  v1::ValueChainEvent event;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (!pb::util::JsonStringToMessage(json, &event, options).ok()) return std::nullopt;
  return Bytes(event);
}

std::optional<std::string> Fast(const std::string& json, std::size_t depth = kDepth) {
  v1::ValueChainEvent event;
  if (!internal::FastJsonToMessage(json, depth, event)) return std::nullopt;
  return Bytes(event);
}

const std::string kHead = R"({"id":"e1","source":"//ci/deploy","initiativeId":"INI-1",)";

TEST(JsonFastPath, EveryLineOfTheSampleScenarioTakesItAndAgreesWithProtobuf) {
  std::ifstream in(std::string(CIR_SOURCE_DIR) + "/events/samples/scenario.jsonl");
  ASSERT_TRUE(in) << "events/samples/scenario.jsonl";
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++lines;
    const auto slow = Slow(line);
    ASSERT_TRUE(slow) << line;
    const auto fast = Fast(line);
    ASSERT_TRUE(fast) << "declined: " << line;
    EXPECT_EQ(*fast, *slow) << line;
  }
  EXPECT_GT(lines, 50);
}

struct Row {
  const char* what;
  std::string json;
};

// Inputs the fast path takes: each must give protobuf's bytes exactly.
TEST(JsonFastPath, TakesThePlainShapesAndGivesProtobufsBytes) {
  const std::vector<Row> rows = {
      {"proto field names", R"({"id":"e","source":"s","initiative_id":"i","event_time":"2026-01-05T09:00:00Z","kpi_measured":{"kpi":"k","value":1.5}})"},
      {"json names", kHead + R"("eventTime":"2026-01-05T09:00:00Z","kpiMeasured":{"kpi":"k","value":-0.25}})"},
      {"an enum by name", kHead + R"("activity":"ACTIVITY_IMPROVE","momentumRecorded":{"kind":"MOMENTUM_KIND_TRAINING"}})"},
      {"integer for a double", kHead + R"("kpiMeasured":{"kpi":"k","value":120}})"},
      {"2^53 for a double", kHead + R"("kpiMeasured":{"kpi":"k","value":9007199254740992}})"},
      {"exponent for a double", kHead + R"("kpiMeasured":{"kpi":"k","value":1.25e-3}})"},
      {"a negative double", kHead + R"("kpiMeasured":{"kpi":"k","value":-1e300}})"},
      {"a denormal", kHead + R"("kpiMeasured":{"kpi":"k","value":4.9e-324}})"},
      {"a uint32 at its maximum", kHead + R"("targetSet":{"kpi":"k","targetValue":1,"priority":4294967295}})"},
      {"\"-0\" for a double (an integer to both: +0)", kHead + R"("kpiMeasured":{"kpi":"k","value":-0}})"},
      {"zero values", kHead + R"("targetSet":{"kpi":"","targetValue":0,"priority":0}})"},
      {"an empty payload object", kHead + R"("initiativeWithdrawn":{}})"},
      {"an empty array", kHead + R"("initiativeProposed":{"title":"t","tags":[]}})"},
      {"a repeated message", kHead + R"("planDefined":{"actions":[{"actionId":"a"},{"actionId":"b","description":"d"}]}})"},
      {"escapes and unicode", kHead + R"("initiativeWithdrawn":{"reason":"tab\t quote\" \u00e9 \ud83d\ude00 \u0000 é"}})"},
      {"whitespace around", "  \n" + kHead + R"( "initiativeWithdrawn" : { "reason" : "r" } }  )" + "\n"},
      {"fractions of 1 to 9 digits", kHead + R"("eventTime":"2026-01-05T09:00:00.1Z","targetSet":{"deadline":"2026-01-05T09:00:00.123456789Z"}})"},
      {"29 February of a leap year", kHead + R"("eventTime":"2024-02-29T23:59:59Z"})"},
      {"year 1 and year 9999", kHead + R"("eventTime":"0001-01-01T00:00:00Z","targetSet":{"deadline":"9999-12-31T23:59:59.999999999Z"}})"},
      {"before 1970", kHead + R"("eventTime":"1969-12-31T23:59:59.5Z"})"},
      {"no payload", kHead + R"("activity":"ACTIVITY_PLAN"})"},
      {"over 64 KiB (a parser of its own, not the thread's)",
       kHead + R"("initiativeWithdrawn":{"reason":")" + std::string(100000, 'x') + R"("}})"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    const auto slow = Slow(row.json);
    ASSERT_TRUE(slow) << "protobuf refuses it: " << row.json;
    const auto fast = Fast(row.json);
    ASSERT_TRUE(fast) << "declined: " << row.json;
    EXPECT_EQ(*fast, *slow) << row.json;
  }
}

// Inputs it declines. Some protobuf accepts (the slow path then takes them), some it refuses;
// either way ParseJson's answer and error text are the slow path's.
TEST(JsonFastPath, DeclinesWhatItIsNotSureOfAndParseJsonStillDecides) {
  const std::vector<Row> rows = {
      {"null", kHead + R"("eventTime":null})"},
      {"negative zero", kHead + R"("kpiMeasured":{"value":-0.0}})"},
      {"an integer as a string", kHead + R"("targetSet":{"priority":"5"}})"},
      {"an integer with an exponent", kHead + R"("targetSet":{"priority":1e2}})"},
      {"an integer with a fraction", kHead + R"("targetSet":{"priority":1.0}})"},
      {"a uint32 out of range", kHead + R"("targetSet":{"priority":4294967296}})"},
      {"a negative uint32", kHead + R"("targetSet":{"priority":-1}})"},
      {"2^53+1 for a double", kHead + R"("kpiMeasured":{"value":9007199254740993}})"},
      {"a double as a string", kHead + R"("kpiMeasured":{"value":"NaN"}})"},
      {"an enum by number", kHead + R"("activity":4})"},
      {"an unknown enum name", kHead + R"("activity":"ACTIVITY_NOPE"})"},
      {"an enum in lower case", kHead + R"("activity":"activity_plan"})"},
      {"an unknown field", kHead + R"("nope":1})"},
      {"a field twice by two names", kHead + R"("initiative_id":"j"})"},
      {"a duplicate key", kHead + R"("id":"e2"})"},
      {"two members of the oneof", kHead + R"("kpiMeasured":{},"initiativeWithdrawn":{}})"},
      {"a timestamp with an offset", kHead + R"("eventTime":"2026-01-05T09:00:00+01:00"})"},
      {"a lower-case z", kHead + R"("eventTime":"2026-01-05T09:00:00z"})"},
      {"ten fraction digits", kHead + R"("eventTime":"2026-01-05T09:00:00.1234567890Z"})"},
      {"an empty fraction", kHead + R"("eventTime":"2026-01-05T09:00:00.Z"})"},
      {"30 February", kHead + R"("eventTime":"2026-02-30T09:00:00Z"})"},
      {"29 February of 1900", kHead + R"("eventTime":"1900-02-29T09:00:00Z"})"},
      {"a leap second", kHead + R"("eventTime":"2016-12-31T23:59:60Z"})"},
      {"year 0", kHead + R"("eventTime":"0000-01-01T00:00:00Z"})"},
      {"one-digit month", kHead + R"("eventTime":"2026-1-05T09:00:00Z"})"},
      {"a timestamp as an object", kHead + R"("eventTime":{"seconds":1}})"},
      {"a string for a message", kHead + R"("kpiMeasured":"x"})"},
      {"an object for a string", kHead + R"("source":{}})"},
      {"a scalar for a repeated field", kHead + R"("initiativeProposed":{"tags":"a"}})"},
      {"null in an array", kHead + R"("initiativeProposed":{"tags":[null]}})"},
      {"a byte order mark", "\xEF\xBB\xBF" + kHead + R"("activity":"ACTIVITY_PLAN"})"},
      {"not an object", R"(["id"])"},
      {"trailing content", kHead + R"("activity":"ACTIVITY_PLAN"} x)"},
      {"invalid UTF-8", kHead + "\"source\":\"\xC3\x28\"}"},
      {"a lone surrogate", kHead + R"("initiativeWithdrawn":{"reason":"\ud800"}})"},
      {"a trailing comma", kHead + R"("activity":"ACTIVITY_PLAN",})"},
      {"empty", ""},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    EXPECT_FALSE(Fast(row.json)) << "taken: " << row.json;
    // ParseJson (fast path first) agrees with the slow path alone, error text included.
    const auto parsed = ParseJson(row.json, Limits{});
    const auto slow = Slow(row.json, Limits{}.max_json_depth);
    ASSERT_EQ(parsed.has_value(), slow.has_value()) << row.json;
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find("not a ValueChainEvent in JSON: "), std::string::npos)
          << parsed.error().message;
    }
  }
}

TEST(JsonFastPath, DeclinesNestingDeeperThanTheLimitAsTheStrictCheckCountsIt) {
  const std::string json = kHead + R"("planDefined":{"actions":[{"actionId":"a"}]}})";
  // Depths: the event 1, planDefined 2, actions (an array) 3, the action 4.
  EXPECT_TRUE(Fast(json, 4));
  EXPECT_TRUE(Slow(json, 4));
  EXPECT_FALSE(Fast(json, 3));
  EXPECT_FALSE(Slow(json, 3));
}

// The records of the sample scenario in both CloudEvents modes decode to the same events with
// the fast path on and off, and a structured record the fast path declines (an extension
// attribute that is a number) still decodes.
TEST(JsonFastPath, RecordsOfBothModesDecodeTheSameWithTheFastPathOnAndOff) {
  std::ifstream in(std::string(CIR_SOURCE_DIR) + "/events/samples/scenario.jsonl");
  std::string line;
  int compared = 0;
  auto both = [&](const Record& record) {
    internal::SetFastPath(false);
    const auto slow = DecodeRecord(record, Limits{});
    internal::SetFastPath(true);
    const auto fast = DecodeRecord(record, Limits{});
    ASSERT_TRUE(slow) << slow.error().reason;
    ASSERT_TRUE(fast) << fast.error().reason;
    EXPECT_EQ(fast->SerializeAsString(), slow->SerializeAsString());
    ++compared;
  };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    v1::ValueChainEvent event;
    ASSERT_TRUE(pb::util::JsonStringToMessage(line, &event).ok());
    for (const DataFormat format : {DataFormat::kJson, DataFormat::kProtobuf}) {
      both(EncodeEvent(event, format));
    }
    Record structured;
    structured.topic = "in";
    structured.headers = {{"content-type", "application/cloudevents+json"}};
    structured.value = R"({"specversion":"1.0","id":")" + event.id() + R"(","source":")" +
                       event.source() + R"(","type":")" + TypeOf(event) +
                       R"(","subject":")" + event.initiative_id() + R"(","data":)" + line + "}";
    both(structured);
    structured.value->insert(1, R"("sequence":7,)");  // a number: the fast path declines
    both(structured);
  }
  EXPECT_GT(compared, 200);
}

}  // namespace
}  // namespace cir::events
