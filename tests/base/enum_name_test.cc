// cir/base/enum_name.h: the text of an enum value, and the reason codes' wire names it gives
// (dead letters' cir_dlq_reason_code, ignored events' notes, the `reason` label values).
#include "cir/base/enum_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cir/v1/improvement.pb.h"
#include "cir/v1/register.pb.h"
#include "cir/v1/value_chain.pb.h"

namespace cir::base {
namespace {

TEST(EnumName, DropsTheTypesPrefix) {
  EXPECT_EQ(EnumName(v1::ACTIVITY_DELIVER_SUPPORT), "DELIVER_SUPPORT");
  EXPECT_EQ(EnumName(v1::ALERT_KIND_LESSONS_NOT_RECORDED), "LESSONS_NOT_RECORDED");
  EXPECT_EQ(EnumName(v1::STEP_UNSPECIFIED), "UNSPECIFIED");
  EXPECT_EQ(EnumName(static_cast<v1::Step>(99)), "");  // not declared
  EXPECT_EQ(EnumLabel(v1::STEP_CURRENT_STATE), "current_state");
  EXPECT_EQ(EnumLabel(v1::DEAD_LETTER_REASON_UNSUPPORTED_CONTENT_TYPE),
            "unsupported_content_type");
}

TEST(EnumName, ParsesOnlyTheShortNameBack) {
  EXPECT_EQ(ParseEnumName<v1::DeadLetterReason>("UNKNOWN_INITIATIVE"),
            v1::DEAD_LETTER_REASON_UNKNOWN_INITIATIVE);
  EXPECT_EQ(ParseEnumName<v1::DeadLetterReason>("DEAD_LETTER_REASON_UNKNOWN_INITIATIVE"),
            std::nullopt);
  EXPECT_EQ(ParseEnumName<v1::DeadLetterReason>("unknown_initiative"), std::nullopt);
  EXPECT_EQ(ParseEnumName<v1::DeadLetterReason>(""), std::nullopt);
  EXPECT_EQ(ParseEnumName<v1::IgnoreReason>("DECODE_ERROR"), std::nullopt);  // another enum's
  for (v1::DeadLetterReason r : EnumValues<v1::DeadLetterReason>()) {
    EXPECT_EQ(ParseEnumName<v1::DeadLetterReason>(EnumName(r)), r) << EnumName(r);
  }
}

// The reason codes on the wire: renaming an enum value would change bytes that dead-letter
// consumers, alerts and dashboards match on.
TEST(EnumName, ReasonCodesAreTheWireNames) {
  std::vector<std::string> dead, ignored;
  for (auto r : EnumValues<v1::DeadLetterReason>()) dead.emplace_back(EnumName(r));
  for (auto r : EnumValues<v1::IgnoreReason>()) ignored.emplace_back(EnumName(r));
  EXPECT_EQ(dead, (std::vector<std::string>{
                      "OVERSIZED", "NULL_VALUE", "MISSING_ATTRIBUTE", "BAD_ATTRIBUTE",
                      "UNSUPPORTED_CONTENT_TYPE", "DECODE_ERROR", "ATTRIBUTE_MISMATCH",
                      "INVALID_EVENT", "ID_CONFLICT", "UNKNOWN_INITIATIVE", "ALREADY_PROPOSED",
                      "NO_PAYLOAD"}));
  EXPECT_EQ(ignored,
            (std::vector<std::string>{"UNKNOWN_KPI", "INITIATIVE_CLOSED", "STALE_TIMER"}));
}

}  // namespace
}  // namespace cir::base
