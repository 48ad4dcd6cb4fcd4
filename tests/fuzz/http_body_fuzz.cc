// Fuzz target: the HTTP body → validation path of POST /v1/events (DecodePublishBody: the
// strict JSON check, nlohmann's DOM, protobuf's JSON parser, Validate), and the request path →
// routing segments (HttpServer::ParsePath). Invariants: nothing crashes, hangs or leaks; a
// refusal is a 400 whose body is valid JSON in valid UTF-8 with error.code 400; accepted events
// pass Validate and survive a protobuf round trip.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "api.h"
#include "http_server.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckErrorBody(const cir::cird::HttpResponse& response, int status) {
  Check(response.status == status);
  const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  Check(!doc.is_discarded());  // also rejects invalid UTF-8
  Check(doc.is_object() && doc.contains("error") && doc["error"]["code"] == status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  static const cir::cird::ApiOptions options = [] {
    cir::cird::ApiOptions o;
    o.max_batch_events = 50;
    return o;
  }();
  auto decoded = cir::cird::DecodePublishBody(input, options);
  if (auto* refused = std::get_if<cir::cird::HttpResponse>(&decoded)) {
    CheckErrorBody(*refused, 400);
  } else {
    for (const auto& event : std::get<std::vector<cir::v1::ValueChainEvent>>(decoded)) {
      Check(cir::events::Validate(event, options.limits).has_value());
      const std::string bytes = event.SerializeAsString();
      cir::v1::ValueChainEvent again;
      Check(again.ParseFromString(bytes));
      Check(again.SerializeAsString() == bytes);
    }
  }
  // The same bytes as a request path (CivetWeb passes any URI characters through).
  cir::cird::HttpRequest request;
  const std::string path = "/" + input;
  if (auto error = cir::cird::HttpServer::ParsePath(path, request)) {
    CheckErrorBody(*error, 400);
  } else {
    for (const auto& segment : request.segments) Check(segment != "." && segment != "..");
  }
  // Whatever a message quotes, an error body is valid JSON.
  CheckErrorBody(cir::cird::JsonError(404, "no such path: " + input), 404);
  return 0;
}
