// The prefix rule of enum_name.h, on the enum's descriptor.
#include "cir/base/enum_name.h"

#include <google/protobuf/descriptor.h>

#include <cctype>

namespace cir::base {
namespace {

constexpr std::string_view kUnspecified = "UNSPECIFIED";

// "ACTIVITY_": the zero value's name less "UNSPECIFIED"; "" when the type does not follow the
// <PREFIX>_UNSPECIFIED = 0 convention (then names are used whole).
std::string_view Prefix(const google::protobuf::EnumDescriptor& type) {
  const google::protobuf::EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero == nullptr) return {};
  const std::string_view name = zero->name();
  if (!name.ends_with(kUnspecified)) return {};
  return name.substr(0, name.size() - kUnspecified.size());
}

}  // namespace

std::string_view EnumName(const google::protobuf::EnumDescriptor& type, int number) {
  const google::protobuf::EnumValueDescriptor* value = type.FindValueByNumber(number);
  if (value == nullptr) return {};
  const std::string_view name = value->name();
  const std::string_view prefix = Prefix(type);
  return name.starts_with(prefix) ? name.substr(prefix.size()) : name;
}

std::string EnumLabel(const google::protobuf::EnumDescriptor& type, int number) {
  std::string label(EnumName(type, number));
  for (char& c : label) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return label;
}

std::optional<int> ParseEnumName(const google::protobuf::EnumDescriptor& type,
                                 std::string_view name) {
  if (name.empty()) return std::nullopt;
  const google::protobuf::EnumValueDescriptor* value =
      type.FindValueByName(std::string(Prefix(type)) + std::string(name));
  if (value == nullptr) return std::nullopt;
  return value->number();
}

std::vector<int> EnumNumbers(const google::protobuf::EnumDescriptor& type) {
  std::vector<int> numbers;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() != 0) numbers.push_back(type.value(i)->number());
  }
  return numbers;
}

}  // namespace cir::base
