// The one mapping between a cir.v1 enum value and its text: the value's name without the prefix
// its type shares (ACTIVITY_DELIVER_SUPPORT → "DELIVER_SUPPORT"), and that in lower case as a
// metric label value ("deliver_support"). The prefix is the type's zero value's name less
// "UNSPECIFIED" (every cir.v1 enum starts with <PREFIX>_UNSPECIFIED = 0), so the rule holds for
// any enum without a table. Reason codes are spelled this way on the wire (dead letters'
// `cir_dlq_reason_code`, ignored events' notes), in logs and in label values.
//
// Thread-safety: pure (the descriptors are protobuf's immutable generated pool).
#pragma once

#include <google/protobuf/generated_enum_reflection.h>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cir::base {

template <class E>
concept ProtoEnum = google::protobuf::is_proto_enum<E>::value;

// `number`'s name in `type` without the prefix ("UNSPECIFIED" for the zero value); "" for a
// number the type does not declare. The string lives as long as the program.
[[nodiscard]] std::string_view EnumName(const google::protobuf::EnumDescriptor& type, int number);
// EnumName in lower case: the label value form.
[[nodiscard]] std::string EnumLabel(const google::protobuf::EnumDescriptor& type, int number);
// The number whose EnumName is exactly `name`; nullopt when `type` declares none.
[[nodiscard]] std::optional<int> ParseEnumName(const google::protobuf::EnumDescriptor& type,
                                               std::string_view name);
// Every number `type` declares but its zero value, in declaration order.
[[nodiscard]] std::vector<int> EnumNumbers(const google::protobuf::EnumDescriptor& type);

template <ProtoEnum E>
[[nodiscard]] std::string_view EnumName(E value) {
  return EnumName(*google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}
template <ProtoEnum E>
[[nodiscard]] std::string EnumLabel(E value) {
  return EnumLabel(*google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}
template <ProtoEnum E>
[[nodiscard]] std::optional<E> ParseEnumName(std::string_view name) {
  const auto number = ParseEnumName(*google::protobuf::GetEnumDescriptor<E>(), name);
  if (!number) return std::nullopt;
  return static_cast<E>(*number);
}
// Every value of E but the zero (_UNSPECIFIED) one: the series a metric has from the start.
template <ProtoEnum E>
[[nodiscard]] std::vector<E> EnumValues() {
  std::vector<E> values;
  for (int number : EnumNumbers(*google::protobuf::GetEnumDescriptor<E>())) {
    values.push_back(static_cast<E>(number));
  }
  return values;
}

}  // namespace cir::base
