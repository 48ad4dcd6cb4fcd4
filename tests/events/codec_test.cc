// The codec: JSON lines in, validated events out, and an error naming the field for bad ones.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "cir/events/codec.h"

namespace cir::events {
namespace {

const std::string kEnvelope =
    R"("id":"e1","source":"//ci/deploy","initiativeId":"INI-1","activity":"ACTIVITY_IMPROVE",)"
    R"("eventTime":"2026-01-05T09:00:00Z",)";

// Joins by appending. Not `"{" + kEnvelope + …`: with -O2/-O3, GCC 12 inlines
// operator+(const char*, std::string&&) into a bogus -Wrestrict ("accessing 9223372036854775810 or
// more bytes … may overlap", GCC PR 105651), which broke Release builds of this file.
std::string Concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

std::string Event(const std::string& payload) { return Concat({"{", kEnvelope, payload, "}"}); }

TEST(Codec, DecodesEveryPayloadKind) {
  const std::string payloads[] = {
      R"("initiativeProposed":{"title":"t","vision":"v","organisationalGoal":"g","owner":"o","registerLevel":"REGISTER_LEVEL_TEAM","tags":["a"]})",
      R"("baselineMeasured":{"kpi":"mttr","value":120,"unit":"min","method":"MEASUREMENT_METHOD_AUDIT"})",
      R"("targetSet":{"kpi":"mttr","targetValue":90,"direction":"DIRECTION_DECREASE","deadline":"2026-06-30T00:00:00Z"})",
      R"("planDefined":{"actions":[{"actionId":"a1","description":"runbooks"}]})",
      R"("actionUpdated":{"actionId":"a1","status":"ACTION_STATUS_DONE"})",
      R"("kpiMeasured":{"kpi":"mttr","value":85.5})",
      R"("reviewConcluded":{"result":"REVIEW_RESULT_ACHIEVED","stillRelevant":true})",
      R"("momentumRecorded":{"kind":"MOMENTUM_KIND_TRAINING"})",
      R"("initiativeClosed":{"outcome":"OUTCOME_SUCCESSFUL"})",
      R"("initiativeWithdrawn":{"reason":"merged"})",
  };
  for (const auto& payload : payloads) {
    auto event = DecodeJson(Event(payload), Limits{});
    EXPECT_TRUE(event.has_value()) << payload << ": " << event.error().message;
  }
}

TEST(Codec, AcceptsProtoFieldNamesToo) {
  auto event = DecodeJson(
      R"({"id":"e1","source":"s","initiative_id":"I","activity":"ACTIVITY_PLAN","event_time":"2026-01-05T09:00:00Z","kpi_measured":{"kpi":"k","value":1}})",
      Limits{});
  ASSERT_TRUE(event.has_value()) << event.error().message;
  EXPECT_EQ(event->initiative_id(), "I");
  EXPECT_EQ(event->kpi_measured().value(), 1);
}

struct BadCase {
  std::string name;
  std::string json;
  std::string error_starts_with;
};

// Test names show the row's name, not its bytes.
void PrintTo(const BadCase& row, std::ostream* os) { *os << row.name; }

class CodecRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(CodecRejects, WithAnErrorNamingTheField) {
  auto event = DecodeJson(GetParam().json, Limits{});
  ASSERT_FALSE(event.has_value());
  EXPECT_EQ(event.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(event.error().message.rfind(GetParam().error_starts_with, 0), 0u)
      << event.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CodecRejects,
    ::testing::Values(
        BadCase{"not_json", "{nope", "not a ValueChainEvent in JSON"},
        BadCase{"unknown_field", Event(R"("kpiMeasured":{"kpi":"k","value":1},"colour":"red")"),
                "not a ValueChainEvent in JSON"},
        BadCase{"missing_id",
                R"({"source":"s","initiativeId":"I","activity":"ACTIVITY_PLAN","eventTime":"2026-01-05T09:00:00Z","kpiMeasured":{"kpi":"k"}})",
                "id: required"},
        BadCase{"missing_source",
                R"({"id":"e","initiativeId":"I","activity":"ACTIVITY_PLAN","eventTime":"2026-01-05T09:00:00Z","kpiMeasured":{"kpi":"k"}})",
                "source: required"},
        BadCase{"missing_activity",
                R"({"id":"e","source":"s","initiativeId":"I","eventTime":"2026-01-05T09:00:00Z","kpiMeasured":{"kpi":"k"}})",
                "activity: required"},
        BadCase{"missing_event_time",
                R"({"id":"e","source":"s","initiativeId":"I","activity":"ACTIVITY_PLAN","kpiMeasured":{"kpi":"k"}})",
                "event_time: required"},
        BadCase{"no_payload", Concat({"{", std::string_view(kEnvelope).substr(0, kEnvelope.size() - 1), "}"}),
                "payload: required"},
        BadCase{"unknown_enum_name", Event(R"("momentumRecorded":{"kind":"MOMENTUM_KIND_VIBES"})"),
                "not a ValueChainEvent in JSON"},
        BadCase{"unspecified_direction",
                Event(R"("targetSet":{"kpi":"k","targetValue":1,"deadline":"2026-06-30T00:00:00Z"})"),
                "target_set.direction: required"},
        BadCase{"target_without_deadline",
                Event(R"("targetSet":{"kpi":"k","targetValue":1,"direction":"DIRECTION_INCREASE"})"),
                "target_set.deadline: required"},
        BadCase{"empty_plan", Event(R"("planDefined":{"actions":[]})"),
                "plan_defined.actions: at least one"},
        BadCase{"percent_over_100",
                Event(R"("actionUpdated":{"actionId":"a","status":"ACTION_STATUS_PROGRESSING","percentComplete":130})"),
                "action_updated.percent_complete"},
        BadCase{"control_character_in_id",
                R"({"id":"e\u0001","source":"s","initiativeId":"I","activity":"ACTIVITY_PLAN","eventTime":"2026-01-05T09:00:00Z","kpiMeasured":{"kpi":"k"}})",
                "id: control characters"},
        BadCase{"id_too_long",
                Concat({R"({"id":")", std::string(129, 'x'),
                        R"(","source":"s","initiativeId":"I","activity":"ACTIVITY_PLAN","eventTime":"2026-01-05T09:00:00Z","kpiMeasured":{"kpi":"k"}})"}),
                "id: 129 bytes, at most 128"},
        BadCase{"proposal_without_goal",
                Event(R"("initiativeProposed":{"title":"t","vision":"v","owner":"o","registerLevel":"REGISTER_LEVEL_TEAM"})"),
                "initiative_proposed.organisational_goal: required"},
        BadCase{"oversized_message",
                Event(Concat({R"("initiativeWithdrawn":{"reason":")", std::string(70000, 'r'), R"("})"})),
                "message is"}),
    [](const auto& param) { return param.param.name; });

TEST(Codec, BinaryRoundTrip) {
  auto event = DecodeJson(Event(R"("kpiMeasured":{"kpi":"mttr","value":85.5})"), Limits{});
  ASSERT_TRUE(event.has_value());
  auto again = ParseBinary(event->SerializeAsString(), Limits{});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->SerializeAsString(), event->SerializeAsString());
  EXPECT_FALSE(ParseBinary("\xff\xff\xff", Limits{}).has_value());
}

TEST(Codec, ToJsonIsOneLineWithProtoNames) {
  auto event = DecodeJson(Event(R"("kpiMeasured":{"kpi":"mttr","value":85.5})"), Limits{});
  ASSERT_TRUE(event.has_value());
  const std::string json = ToJson(*event).value();
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(json.find(R"("initiative_id":"INI-1")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("event_time":"2026-01-05T09:00:00Z")"), std::string::npos) << json;
}

}  // namespace
}  // namespace cir::events
