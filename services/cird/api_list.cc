// GET /v1/initiatives (filters, sort, keyset pages) and GET /v1/alerts: the register API's
// lists (api.h), read through the register's secondary indexes (storage/README.md).
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
  // The sort's index (sort is not "id").
  [[nodiscard]] storage::IndexField SortField() const {
    return sort == "updated_at"   ? storage::IndexField::kUpdatedAt
           : sort == "created_at" ? storage::IndexField::kCreatedAt
                                  : storage::IndexField::kStep;
  }
  // Where `s` sorts: the sort's index position (empty for id), then the id.
  [[nodiscard]] std::pair<std::string, std::string> SortKey(const v1::Initiative& s) const {
    return {sort == "id" ? std::string() : storage::SortPosition(SortField(), s),
            s.initiative_id()};
  }
  // The filters as index terms.
  [[nodiscard]] std::vector<storage::IndexTerm> Terms() const {
    using storage::IndexField;
    std::vector<storage::IndexTerm> terms;
    auto number = [&](IndexField field, int value) {
      terms.push_back({.field = field, .number = static_cast<std::uint32_t>(value), .text = {}});
    };
    if (step) number(IndexField::kStep, step);
    if (outcome) number(IndexField::kOutcome, outcome);
    if (activity) number(IndexField::kActivity, activity);
    if (alert_kind) number(IndexField::kAlertKind, alert_kind);
    if (!owner.empty()) terms.push_back({.field = IndexField::kOwner, .number = 0, .text = owner});
    if (!tag.empty()) terms.push_back({.field = IndexField::kTag, .number = 0, .text = tag});
    return terms;
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

using SortKeyed = std::pair<std::pair<std::string, std::string>, v1::Initiative>;

// The page_size + 1 smallest of what the partitions gave (each in order, each at most
// page_size + 1 of them) → the answer, with total_matching and the next page's token.
HttpResponse Page(std::vector<SortKeyed> best, const Paging& page, const std::string& fingerprint,
                  std::uint64_t total) {
  std::sort(best.begin(), best.end(),
            [](const SortKeyed& a, const SortKeyed& b) { return a.first < b.first; });
  json body;
  body["initiatives"] = json::array();
  for (std::size_t i = 0; i < best.size() && i < page.size; ++i) {
    body["initiatives"].push_back(ToJsonValue(best[i].second));
  }
  body["total_matching"] = total;
  if (best.size() > page.size) {
    const auto& [position, id] = best[page.size - 1].first;
    body["next_page_token"] = Token(fingerprint, {Base64Url(position), id});
  }
  return Ok(body);
}

// Keeps the page_size + 1 smallest keys of `best`.
void Trim(std::vector<SortKeyed>& best, std::size_t keep) {
  if (best.size() <= keep) return;
  std::nth_element(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(keep - 1), best.end(),
                   [](const SortKeyed& a, const SortKeyed& b) { return a.first < b.first; });
  best.resize(keep);
}

}  // namespace

// Which path a list takes, each reading what it returns where it can:
// - no filter, by id: each partition's projections in id order from the cursor;
// - no filter, by step, updated_at or created_at: that field's index from the cursor;
// - one filter, by id: that term's index entries from the cursor, total_matching from its
//   counters;
// - more filters, or a filter and another sort: the entries of the term with the fewest
//   initiatives (the counters say which), each projection checked against the other filters.
//   This one reads every initiative of that term, so it takes a scan slot and the scan budget.
// Every path reads at most page_size + 1 initiatives per partition before it merges, except the
// last, which reads the term's initiatives.
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
  std::pair<std::string, std::string> after;  // (position, id); both empty on the first page
  if (!page.cursor.empty()) {
    // The position is the sort field's (none for id): 4 bytes for a step, 12 for a time.
    auto position = FromBase64Url(page.cursor[0]);
    const std::size_t size = query.sort == "id" ? 0 : query.sort == "step" ? 4 : 12;
    if (!position || position->size() != size) {
      return JsonError(400, "page_token is not a token of this list");
    }
    after = {std::move(*position), page.cursor[1]};
  }
  const bool first_page = page.cursor.empty();
  const std::size_t keep = page.size + 1;

  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
  const std::vector<storage::IndexTerm> terms = query.Terms();
  std::vector<SortKeyed> best;

  if (terms.empty()) {
    auto summary = reg->Summarize(*partitions);
    if (!summary) return JsonError(500, summary.error().ToString());
    for (std::uint32_t partition : *partitions) {
      std::size_t taken = 0;
      auto take = [&](const v1::Initiative& s) {
        best.emplace_back(query.SortKey(s), s);
        return ++taken < keep;
      };
      auto scanned =
          query.sort == "id"
              ? reg->ScanInitiativesAfter(partition, after.second, take)
              : reg->ScanSorted(
                    partition, query.SortField(), after.first, after.second,
                    [&](const std::string&, const v1::Initiative& s) { return take(s); });
      if (!scanned) return JsonError(500, scanned.error().ToString());
      Trim(best, keep);
    }
    return Page(std::move(best), page, fingerprint, summary->initiatives);
  }

  // The term with the fewest initiatives drives; its counters give a single filter's total.
  std::size_t driver = 0;
  std::uint64_t fewest = 0;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    auto count = reg->CountIndexed(*partitions, terms[i]);
    if (!count) return JsonError(500, count.error().ToString());
    if (i == 0 || *count < fewest) {
      driver = i;
      fewest = *count;
    }
  }
  if (terms.size() == 1 && query.sort == "id") {
    for (std::uint32_t partition : *partitions) {
      std::size_t taken = 0;
      auto scanned = reg->ScanIndexed(partition, terms[0], after.second, [&](const auto& s) {
        best.emplace_back(query.SortKey(s), s);
        return ++taken < keep;
      });
      if (!scanned) return JsonError(500, scanned.error().ToString());
      Trim(best, keep);
    }
    return Page(std::move(best), page, fingerprint, fewest);
  }

  ScanSlot slot(scans_, options_.max_scans);
  if (!slot) return ScansBusy();
  ScanClock clock(options_.scan_budget);
  std::uint64_t matched = 0;
  for (std::uint32_t partition : *partitions) {
    auto scanned = reg->ScanIndexed(partition, terms[driver], "", [&](const v1::Initiative& s) {
      if (clock.Expired()) return false;
      if (!query.Matches(s)) return true;
      ++matched;
      auto key = query.SortKey(s);
      if (!first_page && !(after < key)) return true;
      best.emplace_back(std::move(key), s);
      if (best.size() >= 2 * keep) Trim(best, keep);
      return true;
    });
    if (!scanned) return JsonError(500, scanned.error().ToString());
    if (clock.expired()) return clock.Error();
    Trim(best, keep);
  }
  return Page(std::move(best), page, fingerprint, matched);
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
  // The alert kind index: what is read is what is firing (each initiative once per kind).
  std::vector<v1::AlertKind> kinds;
  if (kind) {
    kinds.push_back(kind);
  } else {
    const auto* descriptor = v1::AlertKind_descriptor();
    for (int i = 0; i < descriptor->value_count(); ++i) {
      const auto k = static_cast<v1::AlertKind>(descriptor->value(i)->number());
      if (k != v1::ALERT_KIND_UNSPECIFIED) kinds.push_back(k);
    }
  }
  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
  json alerts = json::array();
  constexpr std::size_t kMaxAlerts = 10000;  // a bounded response
  for (std::uint32_t partition : *partitions) {
    for (const v1::AlertKind k : kinds) {
      if (alerts.size() >= kMaxAlerts) break;
      const storage::IndexTerm term{
          .field = storage::IndexField::kAlertKind, .number = static_cast<std::uint32_t>(k),
          .text = {}};
      auto scanned = reg->ScanIndexed(partition, term, "", [&](const v1::Initiative& s) {
        for (const auto& a : s.firing_alerts()) {
          if (a.kind() != k) continue;
          json item = ToJsonValue(a);
          item["initiative_id"] = s.initiative_id();
          alerts.push_back(std::move(item));
          if (alerts.size() >= kMaxAlerts) return false;
        }
        return true;
      });
      if (!scanned) return JsonError(500, scanned.error().ToString());
    }
  }
  return Ok(json{{"alerts", alerts}, {"state", "firing"}});
}

}  // namespace cir::cird
