// GET /v1/initiatives/{id}, …/{id}/events and …/{id}/transitions: one initiative, its history
// and its step transitions (api.h). Api::RouteInitiative (api.cc) checks the id and the query
// and picks one of these handlers.
#include <google/protobuf/util/time_util.h>

#include <exception>
#include <functional>
#include <optional>
#include <variant>

#include "api.h"
#include "api_internal.h"
#include "api_page_token.h"
#include "cir/model/kpi.h"
#include "cir/model/model.h"

namespace cir::cird {
namespace {

using namespace api_internal;

// A KPI's target and how far the latest measurement got: "met" is the model's verdict
// (model::Meets), "progress" the share of the way from the baseline to the target (0..1; can
// pass 1 or go below 0).
json TargetJson(const v1::KpiState& k) {
  json t{{"kpi", k.kpi()},
         {"target_value", k.target().target_value()},
         {"direction", v1::Direction_Name(k.target().direction())},
         {"deadline", google::protobuf::util::TimeUtil::ToString(k.target().deadline())}};
  if (k.has_baseline()) t["baseline_value"] = k.baseline_value();
  if (k.has_latest()) {
    t["latest_value"] = k.latest().value();
    t["met"] = model::Meets(k.target(), k.latest().value());
    const double span = k.target().target_value() - k.baseline_value();
    if (k.has_baseline() && span != 0) {
      t["progress"] = (k.latest().value() - k.baseline_value()) / span;
    }
  }
  return t;
}

// The page of `items` (already JSON) that `request` asks for, as {<name>:[…], total,
// next_page_token?}; the 400 answer for a bad page_size or page_token.
HttpResponse HistoryPage(const HttpRequest& request, const ApiOptions& options,
                         const std::string& name, const std::string& id,
                         std::size_t total, const std::function<json(std::size_t)>& item) {
  const std::string fingerprint = Base64Url(name + "|" + id);
  auto paging = ReadPaging(request, fingerprint, options, 1);
  if (auto* error = std::get_if<HttpResponse>(&paging)) return *error;
  const Paging& page = std::get<Paging>(paging);
  std::size_t start = 0;
  if (!page.cursor.empty()) {
    try {
      start = std::stoull(page.cursor[0]);
    } catch (const std::exception&) {
      return JsonError(400, "page_token is damaged");
    }
  }
  json items = json::array();
  for (std::size_t i = start; i < total && items.size() < page.size; ++i) {
    items.push_back(item(i));
  }
  json body;
  body[name] = items;
  body["total"] = total;
  if (start + items.size() < total) {
    body["next_page_token"] = Token(fingerprint, {std::to_string(start + items.size())});
  }
  return Ok(body);
}

// The history of initiative `id`; 404 when there is no such initiative, 500 when the register
// cannot be read.
std::variant<std::vector<v1::StoredEvent>, HttpResponse> FindHistory(storage::Register& reg,
                                                                     const std::string& id) {
  auto found = reg.FindInitiative(id);
  if (!found) return JsonError(500, found.error().ToString());
  if (!*found) return JsonError(404, "no initiative '" + id + "'");
  auto history = reg.FindHistory(id);
  if (!history) return JsonError(500, history.error().ToString());
  return std::move(*history);
}

}  // namespace

HttpResponse Api::GetInitiative(storage::Register& reg, const std::string& id) const {
  auto found = reg.FindInitiative(id);
  if (!found) return JsonError(500, found.error().ToString());
  if (!*found) return JsonError(404, "no initiative '" + id + "'");
  const v1::Initiative& s = **found;
  json body;
  body["initiative"] = ToJsonValue(s);
  json principles = json::array();
  for (v1::Principle p : model::PrinciplesOf(s.step())) principles.push_back(v1::Principle_Name(p));
  body["principles"] = principles;
  json targets = json::array();
  for (const auto& k : s.kpis()) {
    if (k.has_target()) targets.push_back(TargetJson(k));
  }
  body["targets"] = targets;
  return Ok(body);
}

HttpResponse Api::GetEvents(storage::Register& reg, const std::string& id,
                            const HttpRequest& request) const {
  auto history = FindHistory(reg, id);
  if (auto* error = std::get_if<HttpResponse>(&history)) return *error;
  const auto& events = std::get<std::vector<v1::StoredEvent>>(history);
  return HistoryPage(request, options_, "events", id, events.size(),
                     [&](std::size_t i) { return ToJsonValue(events[i]); });
}

HttpResponse Api::GetTransitions(storage::Register& reg, const std::string& id,
                                 const HttpRequest& request) const {
  auto history = FindHistory(reg, id);
  if (auto* error = std::get_if<HttpResponse>(&history)) return *error;
  // Transitions are not stored: the history is folded again through the model, which is
  // deterministic, so they come out exactly as they were emitted.
  std::vector<v1::StepTransition> transitions;
  std::optional<v1::Initiative> state;
  for (const auto& e : std::get<std::vector<v1::StoredEvent>>(history)) {
    storage::Projection projection = projector_.Project(state ? &*state : nullptr, e);
    if (projection.disposition == storage::Projection::Disposition::kRejected) continue;
    for (const auto& o : projection.outputs) {
      if (o.has_transition()) transitions.push_back(o.transition());
    }
    state = std::move(projection.state);
  }
  return HistoryPage(request, options_, "transitions", id, transitions.size(),
                     [&](std::size_t i) { return ToJsonValue(transitions[i]); });
}

}  // namespace cir::cird
