// GET /v1/initiatives (filters, sort, keyset pages) and GET /v1/alerts: the register API's
// scanning lists (api.h).
#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>
#include <variant>

#include "api.h"
#include "api_internal.h"
#include "api_page_token.h"

namespace cir::cird {
namespace {

using namespace api_internal;
namespace pb = google::protobuf;

std::string StepKey(v1::Step step) {
  char buffer[4];
  std::snprintf(buffer, sizeof buffer, "%02d", static_cast<int>(step));
  return buffer;
}

std::string TimeKey(const pb::Timestamp& t) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%020lld.%09d", static_cast<long long>(t.seconds()),
                t.nanos());
  return buffer;
}

// The list's filters and sort, as the query string names them.
struct ListQuery {
  v1::Step step = v1::STEP_UNSPECIFIED;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  v1::Activity activity = v1::ACTIVITY_UNSPECIFIED;
  v1::AlertKind alert_kind = v1::ALERT_KIND_UNSPECIFIED;
  std::string owner;
  std::string tag;
  std::string sort;

  // What a page token of this query carries, so that a token pages only its own query.
  [[nodiscard]] std::string Fingerprint() const {
    return Base64Url(std::to_string(step) + "|" + std::to_string(outcome) + "|" +
                     std::to_string(activity) + "|" + std::to_string(alert_kind) + "|" + owner +
                     "|" + tag + "|" + sort);
  }
  [[nodiscard]] bool Matches(const v1::Initiative& s) const {
    if (step && s.step() != step) return false;
    if (outcome && s.outcome() != outcome) return false;
    if (activity && std::find(s.activities().begin(), s.activities().end(), activity) ==
                        s.activities().end()) {
      return false;
    }
    if (!owner.empty() && s.owner() != owner) return false;
    if (!tag.empty() && std::find(s.tags().begin(), s.tags().end(), tag) == s.tags().end()) {
      return false;
    }
    return !alert_kind || std::any_of(s.firing_alerts().begin(), s.firing_alerts().end(),
                                      [&](const auto& a) { return a.kind() == alert_kind; });
  }
  [[nodiscard]] bool Unfiltered() const {
    return !step && !outcome && !activity && !alert_kind && owner.empty() && tag.empty();
  }
  [[nodiscard]] std::string SortKey(const v1::Initiative& s) const {
    return sort == "id"           ? ""
           : sort == "updated_at" ? TimeKey(s.updated_at())
           : sort == "created_at" ? TimeKey(s.created_at())
                                  : StepKey(s.step());
  }
};

// The list's query string → its filters; the 400 answer for an unknown parameter or value.
std::variant<ListQuery, HttpResponse> ReadListQuery(const HttpRequest& request) {
  static const std::set<std::string> kKnown = {"step", "outcome", "activity", "owner", "tag",
                                               "alert_kind", "sort", "page_size", "page_token"};
  for (const auto& [name, value] : request.query) {
    if (!kKnown.count(name)) {
      return JsonError(400, "unknown query parameter '" + name +
                                "' (step, outcome, activity, owner, tag, alert_kind, sort, "
                                "page_size, page_token)");
    }
  }
  ListQuery q;
  if (auto s = request.Param("step");
      !s.empty() && !ParseEnum<v1::Step>(s, "STEP_", &v1::Step_Parse, &q.step)) {
    return JsonError(400, "step '" + s + "' is not a step (vision … momentum, closed)");
  }
  if (auto s = request.Param("outcome");
      !s.empty() && !ParseEnum<v1::Outcome>(s, "OUTCOME_", &v1::Outcome_Parse, &q.outcome)) {
    return JsonError(400, "outcome '" + s + "' is not successful, unsuccessful or withdrawn");
  }
  if (auto s = request.Param("activity");
      !s.empty() && !ParseEnum<v1::Activity>(s, "ACTIVITY_", &v1::Activity_Parse, &q.activity)) {
    return JsonError(400, "activity '" + s + "' is not a value-chain activity");
  }
  if (auto s = request.Param("alert_kind");
      !s.empty() &&
      !ParseEnum<v1::AlertKind>(s, "ALERT_KIND_", &v1::AlertKind_Parse, &q.alert_kind)) {
    return JsonError(400, "alert_kind '" + s + "' is not an alert kind");
  }
  q.sort = request.Param("sort").empty() ? "id" : request.Param("sort");
  static const std::set<std::string> kSorts = {"id", "updated_at", "created_at", "step"};
  if (!kSorts.count(q.sort)) {
    return JsonError(400, "sort '" + q.sort + "' is not one of id, updated_at, created_at, step");
  }
  q.owner = request.Param("owner");
  q.tag = request.Param("tag");
  return q;
}

// The whole register in id order (no filter): each partition's projections are stored in id order,
// so a page reads at most page_size + 1 of them per partition, from the cursor on, and merges
// them; total_matching is the partitions' summaries' count. O(page × partitions), whatever the
// register's size.
HttpResponse ListById(storage::Register& reg, const std::vector<std::uint32_t>& partitions,
                      const Paging& page, const std::string& fingerprint) {
  const std::string after = page.cursor.empty() ? std::string() : page.cursor[1];
  std::vector<v1::Initiative> best;  // the page_size + 1 smallest ids after the cursor
  for (std::uint32_t partition : partitions) {
    std::size_t taken = 0;
    auto scanned = reg.ScanInitiativesAfter(partition, after, [&](const v1::Initiative& s) {
      best.push_back(s);
      return ++taken < page.size + 1;
    });
    if (!scanned) return JsonError(500, scanned.error().ToString());
    std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) {
      return a.initiative_id() < b.initiative_id();
    });
    if (best.size() > page.size + 1) best.resize(page.size + 1);
  }
  auto summary = reg.Summarize(partitions);
  if (!summary) return JsonError(500, summary.error().ToString());
  json body;
  body["initiatives"] = json::array();
  for (std::size_t i = 0; i < best.size() && i < page.size; ++i) {
    body["initiatives"].push_back(ToJsonValue(best[i]));
  }
  body["total_matching"] = summary->initiatives;
  if (best.size() > page.size) {
    body["next_page_token"] = Token(fingerprint, {"", best[page.size - 1].initiative_id()});
  }
  return Ok(body);
}

}  // namespace

HttpResponse Api::List(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return NotOpen();
  auto query_or = ReadListQuery(request);
  if (auto* error = std::get_if<HttpResponse>(&query_or)) return *error;
  const ListQuery& query = std::get<ListQuery>(query_or);
  const std::string fingerprint = query.Fingerprint();
  auto paging = ReadPaging(request, fingerprint, options_, 2);
  if (auto* error = std::get_if<HttpResponse>(&paging)) return *error;
  const Paging& page = std::get<Paging>(paging);

  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
  // Not a scan: no scan slot, no time budget.
  if (query.sort == "id" && query.Unfiltered()) {
    return ListById(*reg, *partitions, page, fingerprint);
  }
  ScanSlot slot(scans_, options_.max_scans);
  if (!slot) return ScansBusy();
  ScanClock clock(options_.scan_budget);
  // Keyset pagination over (sort key, id): a full scan per page, filtered, keeping only the
  // page_size smallest keys after the cursor — memory bounded by the page, not the register.
  using Entry = std::pair<std::pair<std::string, std::string>, v1::Initiative>;
  std::vector<Entry> best;
  std::uint64_t matched = 0;
  const std::pair<std::string, std::string> after =
      page.cursor.empty() ? std::pair<std::string, std::string>{}
                          : std::pair{page.cursor[0], page.cursor[1]};
  auto less = [](const Entry& a, const Entry& b) { return a.first < b.first; };
  auto scanned = reg->ScanInitiatives(*partitions, [&](const v1::Initiative& s) {
    if (clock.Expired()) return false;
    if (!query.Matches(s)) return true;
    ++matched;
    std::pair<std::string, std::string> k{query.SortKey(s), s.initiative_id()};
    if (!page.cursor.empty() && !(after < k)) return true;
    if (best.size() < page.size + 1 || k < best.back().first) {
      best.emplace_back(std::move(k), s);
      std::sort(best.begin(), best.end(), less);
      if (best.size() > page.size + 1) best.pop_back();
    }
    return true;
  });
  if (!scanned) return JsonError(500, scanned.error().ToString());
  if (clock.expired()) return clock.Error();
  json body;
  body["initiatives"] = json::array();
  for (std::size_t i = 0; i < best.size() && i < page.size; ++i) {
    body["initiatives"].push_back(ToJsonValue(best[i].second));
  }
  body["total_matching"] = matched;
  if (best.size() > page.size) {
    const auto& last = best[page.size - 1].first;
    body["next_page_token"] = Token(fingerprint, {last.first, last.second});
  }
  return Ok(body);
}

HttpResponse Api::Alerts(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return NotOpen();
  for (const auto& [name, value] : request.query) {
    if (name != "state" && name != "kind") {
      return JsonError(400, "unknown query parameter '" + name + "' (state, kind)");
    }
  }
  const std::string state = request.Param("state").empty() ? "firing" : request.Param("state");
  if (state != "firing") {
    return JsonError(400, "state '" + state + "': only firing alerts are kept in the register; "
                          "resolved ones are on the alerts topic and in "
                          "/v1/initiatives/{id}/events");
  }
  v1::AlertKind kind = v1::ALERT_KIND_UNSPECIFIED;
  if (auto k = request.Param("kind");
      !k.empty() && !ParseEnum<v1::AlertKind>(k, "ALERT_KIND_", &v1::AlertKind_Parse, &kind)) {
    return JsonError(400, "kind '" + k + "' is not an alert kind");
  }
  ScanSlot slot(scans_, options_.max_scans);
  if (!slot) return ScansBusy();
  ScanClock clock(options_.scan_budget);
  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
  json alerts = json::array();
  auto scanned = reg->ScanInitiatives(*partitions, [&](const v1::Initiative& s) {
    if (clock.Expired()) return false;
    for (const auto& a : s.firing_alerts()) {
      if (kind && a.kind() != kind) continue;
      json item = ToJsonValue(a);
      item["initiative_id"] = s.initiative_id();
      alerts.push_back(std::move(item));
      if (alerts.size() >= 10000) return false;  // bounded response
    }
    return true;
  });
  if (!scanned) return JsonError(500, scanned.error().ToString());
  if (clock.expired()) return clock.Error();
  return Ok(json{{"alerts", alerts}, {"state", "firing"}});
}

}  // namespace cir::cird
