// CheckMessage: the reflection walk behind utf8.h's promise that nothing unparsable is stored.
#include "cir/base/utf8.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <vector>

namespace cir::utf8 {
namespace {

namespace pb = google::protobuf;

void Walk(const pb::Message& message, const std::string& prefix, std::string& error) {
  const pb::Reflection* reflection = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    if (!error.empty()) return;
    const std::string path = prefix.empty() ? field->name() : prefix + "." + field->name();
    const bool repeated = field->is_repeated();
    const int size = repeated ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < size && error.empty(); ++i) {
      const std::string at = repeated ? path + "[" + std::to_string(i) + "]" : path;
      if (field->type() == pb::FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& text =
            repeated ? reflection->GetRepeatedStringReference(message, field, i, &scratch)
                     : reflection->GetStringReference(message, field, &scratch);
        if (!Valid(text)) error = at + ": not valid UTF-8";
      } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        Walk(repeated ? reflection->GetRepeatedMessage(message, field, i)
                      : reflection->GetMessage(message, field),
             at, error);
      }
    }
  }
}

}  // namespace

Result<void> CheckMessage(const pb::Message& message) {
  std::string error;
  Walk(message, "", error);
  if (!error.empty()) return Fail(ErrorCode::kInvalidArgument, error);
  return {};
}

}  // namespace cir::utf8
