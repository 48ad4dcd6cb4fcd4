// The handlers' shared helpers (api_internal.h).
#include "api_internal.h"

#include "cir/base/log.h"
#include "cir/events/codec.h"

namespace cir::cird::api_internal {

json ToJsonValue(const google::protobuf::Message& message) {
  auto text = events::ToJson(message);
  if (!text) {
    log::Error("cannot print a stored record", {{"error", text.error().message}});
    return json{{"unprintable", text.error().message}};
  }
  return json::parse(*text);
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse Ok(const json& body, int status) {
  return HttpResponse{status, "application/json", Dump(body) + "\n", {}};
}

HttpResponse NotOpen() { return JsonError(503, "the register is not open yet"); }

HttpResponse ScanClock::Error() const {
  return RetryLater(503,
                    "the register scan for this request took longer than " +
                        std::to_string(budget_.count()) + " ms (" + std::to_string(count_) +
                        " initiatives read); narrow the filters or retry later",
                    5);
}

HttpResponse ScansBusy() {
  return RetryLater(503, "the register is busy with other scans (lists with several filters, or "
                         "a filter and a sort); "
                         "retry shortly",
                    1);
}

bool ValidId(const std::string& id, std::size_t max_bytes) {
  if (id.empty() || id.size() > max_bytes || id.find('\0') != std::string::npos) return false;
  return ValidUtf8(id) == id;
}

}  // namespace cir::cird::api_internal
