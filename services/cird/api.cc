// The register API's routes (api.h): which handler answers which path. The handlers live by
// concern: api_list.cc (list, alerts), api_stats.cc, api_initiative.cc (one initiative, its
// events, its transitions), api_publish.cc (POST /v1/events); page tokens in api_page_token.*.
#include "api.h"

#include "api_internal.h"

namespace cir::cird {

using namespace api_internal;

Api::Api(ApiOptions options, const storage::Projector& projector)
    : options_(std::move(options)), projector_(projector) {}

Api::~Api() = default;

void Api::Register(HttpServer& server) {
  server.Route("/v1/initiatives", {"GET"}, [this](const HttpRequest& r) { return List(r); });
  server.Route("/v1/initiatives/", {"GET"},
               [this](const HttpRequest& r) { return RouteInitiative(r); });
  server.Route("/v1/alerts", {"GET"}, [this](const HttpRequest& r) { return Alerts(r); });
  server.Route("/v1/register/stats", {"GET"}, [this](const HttpRequest& r) { return Stats(r); });
  RouteOptions publish;
  publish.admit = [this](const HttpRequest& r) { return AdmitPublish(r); };
  server.Route("/v1/events", {"POST"}, [this](const HttpRequest& r) { return Publish(r); },
               publish);
}

HttpResponse Api::RouteInitiative(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return NotOpen();
  // Segments: v1, initiatives, {id}[, events|transitions]. An id holding '/' comes as %2F.
  const std::string id = request.segments.size() > 2 ? request.segments[2] : std::string();
  const std::string sub = request.segments.size() > 3 ? request.segments[3] : std::string();
  if (!ValidId(id, options_.limits.max_id_bytes)) {
    return JsonError(400, "initiative id must be 1.." +
                              std::to_string(options_.limits.max_id_bytes) +
                              " bytes of UTF-8 without NUL (percent-encoded; a '/' in an id "
                              "is %2F)");
  }
  if (request.segments.size() > 4 || (request.segments.size() == 4 && sub != "events" &&
                                       sub != "transitions")) {
    return JsonError(404, "no such path: " + request.path +
                              " (initiatives have /events and /transitions)");
  }
  for (const auto& [name, value] : request.query) {
    if (sub.empty() || (name != "page_size" && name != "page_token")) {
      return JsonError(400, "unknown query parameter '" + name + "'");
    }
  }
  if (sub.empty()) return GetInitiative(*reg, id);
  if (sub == "events") return GetEvents(*reg, id, request);
  return GetTransitions(*reg, id, request);
}

}  // namespace cir::cird
