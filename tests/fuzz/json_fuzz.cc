// Fuzz target: the JSON fast path (events/src/json_fast.h) against the slow path it stands in
// for (CheckJson, protobuf's JsonStringToMessage, nlohmann for the structured envelope). The
// input is decoded four ways, fast path on and off:
//   * ParseJson(input)                                — the codec;
//   * DecodeRecord of a binary-mode record, content-type application/json, input as the value;
//   * DecodeRecord of a structured-mode record, the input as its whole value;
//   * DecodeRecord of a structured-mode record wrapping the input as its data.
// Each pair must agree: the same event bytes, or the same rejection code and reason. On top,
// whatever FastJsonToMessage takes, protobuf's parser must take too, to the same bytes. A
// difference aborts with the input's hex. Seeds: tests/fuzz/corpus/json/.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cir/events/cloudevents.h"
#include "cir/events/codec.h"
#include "json_fast.h"

namespace {

namespace pb = google::protobuf;
using namespace cir;

std::string Deterministic(const pb::Message& message) {
  std::string bytes;
  pb::io::StringOutputStream stream(&bytes);
  pb::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

[[noreturn]] void Differ(const std::string& what, const std::string& json) {
  std::fprintf(stderr, "json_fuzz: the fast path differs from the slow one: %s\ninput (%zu bytes):",
               what.c_str(), json.size());
  for (unsigned char c : json) std::fprintf(stderr, " %02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

template <class Result>
std::string Outcome(const Result& r) {
  if (r) return "event " + Deterministic(*r);
  if constexpr (requires { r.error().reason; }) {
    return "rejected " + std::to_string(r.error().code) + " " + r.error().reason;
  } else {
    return "error " + r.error().message;
  }
}

template <class F>
void BothWays(const char* what, const std::string& input, F decode) {
  events::internal::SetFastPath(true);
  const std::string fast = Outcome(decode());
  events::internal::SetFastPath(false);
  const std::string slow = Outcome(decode());
  events::internal::SetFastPath(true);
  if (fast != slow) Differ(std::string(what) + ":\n  fast: " + fast + "\n  slow: " + slow, input);
}

events::Record Structured(std::string value) {
  events::Record r;
  r.topic = "t";
  r.value = std::move(value);
  r.headers = {{"content-type", "application/cloudevents+json"}};
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  const events::Limits limits;

  events::internal::SetFastPath(true);
  v1::ValueChainEvent fast;
  if (events::internal::FastJsonToMessage(json, limits.max_json_depth, fast)) {
    v1::ValueChainEvent slow;
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    if (!events::CheckJson(json, limits.max_json_depth) ||
        !pb::util::JsonStringToMessage(json, &slow, options).ok()) {
      Differ("taken by the fast path, refused by protobuf", json);
    }
    if (Deterministic(fast) != Deterministic(slow)) Differ("protobuf parsed other bytes", json);
  }

  BothWays("ParseJson", json, [&] { return events::ParseJson(json, limits); });

  events::Record binary;
  binary.topic = "t";
  binary.key = "INI-1";
  binary.value = json;
  binary.headers = {{"ce_specversion", "1.0"},
                    {"ce_id", "e1"},
                    {"ce_source", "//fuzz"},
                    {"ce_type", "dev.cir.v1.KpiMeasured"},
                    {"content-type", "application/json"}};
  BothWays("binary mode", json, [&] { return events::DecodeRecord(binary, limits); });

  const events::Record whole = Structured(json);
  BothWays("structured mode", json, [&] { return events::DecodeRecord(whole, limits); });

  const events::Record wrapped = Structured(
      R"({"specversion":"1.0","id":"e1","source":"//fuzz","type":"dev.cir.v1.KpiMeasured",)"
      R"("datacontenttype":"application/json","data":)" +
      json + "}");
  BothWays("structured data", json, [&] { return events::DecodeRecord(wrapped, limits); });
  return 0;
}
