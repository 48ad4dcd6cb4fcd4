#include "api.h"

#include "cir/log.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <set>
#include <variant>
#include <nlohmann/json.hpp>

#include "cir/events/cloudevents.h"
#include "cir/model/model.h"

namespace cir::cird {
namespace {

using nlohmann::json;
namespace pb = google::protobuf;

// A message in protobuf's JSON mapping. What the register holds always prints (Validate keeps
// timestamps in range and strings UTF-8); if something does not, the item says so instead of
// failing the whole response, and the log names it.
json ToJsonValue(const pb::Message& message) {
  auto text = events::ToJson(message);
  if (!text) {
    log::Error("cannot print a stored record", {{"error", text.error().message}});
    return json{{"unprintable", text.error().message}};
  }
  return json::parse(*text);
}

// Strings from the register or the request may hold invalid UTF-8: replaced, never thrown on.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse Ok(const json& body, int status = 200) {
  return HttpResponse{status, "application/json", Dump(body) + "\n", {}};
}

// A register scan with a CPU budget: Expired() turns true once `budget` has passed.
class ScanClock {
 public:
  explicit ScanClock(std::chrono::milliseconds budget)
      : deadline_(std::chrono::steady_clock::now() + budget), budget_(budget) {}
  bool Expired() {
    if (expired_) return true;
    if ((++count_ & 63) == 0) expired_ = std::chrono::steady_clock::now() > deadline_;
    return expired_;
  }
  [[nodiscard]] bool expired() const { return expired_; }
  [[nodiscard]] HttpResponse Error() const {
    return RetryLater(503,
                      "the register scan for this request took longer than " +
                          std::to_string(budget_.count()) + " ms (" + std::to_string(count_) +
                          " initiatives read); narrow the filters or retry later",
                      5);
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds budget_;
  std::uint64_t count_ = 0;
  bool expired_ = false;
};

// A slot among `limit` concurrent register scans; false when none is free.
class ScanSlot {
 public:
  ScanSlot(std::atomic<int>& running, int limit) : running_(running) {
    taken_ = running_.fetch_add(1) < limit;
    if (!taken_) running_.fetch_sub(1);
  }
  ~ScanSlot() {
    if (taken_) running_.fetch_sub(1);
  }
  ScanSlot(const ScanSlot&) = delete;
  ScanSlot& operator=(const ScanSlot&) = delete;
  explicit operator bool() const { return taken_; }

 private:
  std::atomic<int>& running_;
  bool taken_ = false;
};

HttpResponse ScansBusy() {
  return RetryLater(503, "the register is busy with other scans (list, alerts, stats); "
                         "retry shortly",
                    1);
}


// "plan", "PLAN" and "STEP_PLAN" all name STEP_PLAN.
template <class Enum>
bool ParseEnum(const std::string& text, const std::string& prefix,
               bool (*parse)(pb::ConstStringParam, Enum*), Enum* out) {
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind(prefix, 0) != 0) upper = prefix + upper;
  return parse(upper, out) && static_cast<int>(*out) != 0;
}

// Opaque page tokens: base64url of "<query fingerprint>\n<sort key>\n<id>" (list) or
// "<fingerprint>\n<position>" (histories). A token from another query is refused.
std::string Base64Url(const std::string& in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out += kAlphabet[(buffer >> (bits - 6)) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

std::optional<std::string> FromBase64Url(const std::string& in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(sep, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

struct Paging {
  std::size_t size = 0;
  std::vector<std::string> cursor;  // decoded token fields after the fingerprint; empty: first
};

// Reads page_size and page_token; an error response when either is bad.
std::variant<Paging, HttpResponse> ReadPaging(const HttpRequest& request,
                                              const std::string& fingerprint,
                                              const ApiOptions& options, std::size_t fields) {
  Paging paging;
  paging.size = options.default_page_size;
  if (const std::string size = request.Param("page_size"); !size.empty()) {
    std::size_t used = 0;
    long long n = -1;
    try {
      n = std::stoll(size, &used);
    } catch (const std::exception&) {
    }
    if (used != size.size() || n < 1 || n > static_cast<long long>(options.max_page_size)) {
      return JsonError(400, "page_size must be a whole number from 1 to " +
                                std::to_string(options.max_page_size));
    }
    paging.size = static_cast<std::size_t>(n);
  }
  if (const std::string token = request.Param("page_token"); !token.empty()) {
    auto decoded = FromBase64Url(token);
    std::vector<std::string> parts = decoded ? Split(*decoded, '\n') : std::vector<std::string>{};
    if (parts.size() != fields + 1 || parts[0] != fingerprint) {
      return JsonError(400, "page_token is not a token of this query (tokens are opaque; pass "
                            "back next_page_token with the same filters)");
    }
    paging.cursor.assign(parts.begin() + 1, parts.end());
  }
  return paging;
}

std::string Token(const std::string& fingerprint, const std::vector<std::string>& fields) {
  std::string raw = fingerprint;
  for (const auto& f : fields) raw += "\n" + f;
  return Base64Url(raw);
}

// Initiative ids from the path: what ingest accepts as an id (1..max_id_bytes of valid UTF-8),
// so every stored initiative is addressable. Bytes that cannot stand in a path segment ('/',
// '?', '%', NUL and other controls) are percent-encoded by the client: "a%2Fb" is the id "a/b",
// "a%20b" the id "a b". NUL is the exception: the register cannot key it, so ingest
// dead-letters such events and the API refuses it ("API-1%00junk" never finds "API-1").
bool ValidId(const std::string& id, std::size_t max_bytes) {
  if (id.empty() || id.size() > max_bytes || id.find('\0') != std::string::npos) return false;
  return ValidUtf8(id) == id;
}

// "application/json", in any case, with or without parameters ("; charset=utf-8"), parsed
// exactly as the Kafka binding parses content-type (no "application/jsonxyz", no other charset).
bool IsJsonMediaType(const std::string& value) {
  return events::ParseMediaType(value).value_or("") == "application/json";
}

// Compares without an early exit on the first differing byte.
bool SameSecret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

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

}  // namespace


std::variant<std::vector<v1::ValueChainEvent>, HttpResponse> DecodePublishBody(
    const std::string& body, const ApiOptions& options) {
  // Checked before anything recurses into the body (nlohmann's DOM, protobuf's JSON parser).
  if (auto checked = events::CheckJson(body, options.max_json_depth); !checked) {
    return JsonError(400, "body is not a JSON object (one event, or {\"events\":[…]}): " +
                              checked.error().message);
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return JsonError(400, "body is not a JSON object (one event, or {\"events\":[…]})");
  }
  std::vector<json> items;
  if (doc.contains("events")) {
    if (doc.size() != 1 || !doc["events"].is_array()) {
      return JsonError(400, "a batch is {\"events\":[…]} and nothing else");
    }
    for (const auto& e : doc["events"]) items.push_back(e);
    if (items.empty() || items.size() > options.max_batch_events) {
      return JsonError(400, "a batch holds 1.." + std::to_string(options.max_batch_events) +
                                " events");
    }
  } else {
    items.push_back(doc);
  }
  std::vector<v1::ValueChainEvent> decoded;
  json errors = json::array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto event = events::DecodeJson(Dump(items[i]), options.limits);
    if (!event) {
      errors.push_back({{"index", i}, {"error", ValidUtf8(event.error().message)}});
    } else {
      decoded.push_back(std::move(*event));
    }
  }
  if (!errors.empty()) {
    return JsonError(400, std::to_string(errors.size()) + " of " + std::to_string(items.size()) +
                              " events are invalid; none was published",
                     Dump(errors));
  }
  return decoded;
}

Api::Api(ApiOptions options, const storage::Projector& projector)
    : options_(std::move(options)), projector_(projector) {}

Api::~Api() = default;

void Api::Register(HttpServer& server) {
  server.Route("/v1/initiatives", {"GET"}, [this](const HttpRequest& r) { return List(r); });
  server.Route("/v1/initiatives/", {"GET"},
               [this](const HttpRequest& r) { return Initiative(r); });
  server.Route("/v1/alerts", {"GET"}, [this](const HttpRequest& r) { return Alerts(r); });
  server.Route("/v1/register/stats", {"GET"}, [this](const HttpRequest& r) { return Stats(r); });
  RouteOptions publish;
  publish.admit = [this](const HttpRequest& r) { return AdmitPublish(r); };
  server.Route("/v1/events", {"POST"}, [this](const HttpRequest& r) { return Publish(r); },
               publish);
}

// ---- GET /v1/initiatives -------------------------------------------------------------------

HttpResponse Api::List(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return JsonError(503, "the register is not open yet");
  static const std::set<std::string> kKnown = {"step", "outcome", "activity", "owner", "tag",
                                               "alert_kind", "sort", "page_size", "page_token"};
  for (const auto& [name, value] : request.query) {
    if (!kKnown.count(name)) {
      return JsonError(400, "unknown query parameter '" + name +
                                "' (step, outcome, activity, owner, tag, alert_kind, sort, "
                                "page_size, page_token)");
    }
  }
  v1::Step step = v1::STEP_UNSPECIFIED;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
  v1::Activity activity = v1::ACTIVITY_UNSPECIFIED;
  v1::AlertKind alert_kind = v1::ALERT_KIND_UNSPECIFIED;
  if (auto s = request.Param("step");
      !s.empty() && !ParseEnum<v1::Step>(s, "STEP_", &v1::Step_Parse, &step)) {
    return JsonError(400, "step '" + s + "' is not a step (vision … momentum, closed)");
  }
  if (auto s = request.Param("outcome");
      !s.empty() && !ParseEnum<v1::Outcome>(s, "OUTCOME_", &v1::Outcome_Parse, &outcome)) {
    return JsonError(400, "outcome '" + s + "' is not successful, unsuccessful or withdrawn");
  }
  if (auto s = request.Param("activity");
      !s.empty() && !ParseEnum<v1::Activity>(s, "ACTIVITY_", &v1::Activity_Parse, &activity)) {
    return JsonError(400, "activity '" + s + "' is not a value-chain activity");
  }
  if (auto s = request.Param("alert_kind");
      !s.empty() && !ParseEnum<v1::AlertKind>(s, "ALERT_KIND_", &v1::AlertKind_Parse, &alert_kind)) {
    return JsonError(400, "alert_kind '" + s + "' is not an alert kind");
  }
  const std::string sort = request.Param("sort").empty() ? "id" : request.Param("sort");
  static const std::set<std::string> kSorts = {"id", "updated_at", "created_at", "step"};
  if (!kSorts.count(sort)) {
    return JsonError(400, "sort '" + sort + "' is not one of id, updated_at, created_at, step");
  }
  const std::string owner = request.Param("owner");
  const std::string tag = request.Param("tag");
  const std::string fingerprint =
      Base64Url(std::to_string(step) + "|" + std::to_string(outcome) + "|" +
                std::to_string(activity) + "|" + std::to_string(alert_kind) + "|" + owner + "|" +
                tag + "|" + sort);
  auto paging = ReadPaging(request, fingerprint, options_, 2);
  if (auto* error = std::get_if<HttpResponse>(&paging)) return *error;
  const Paging& page = std::get<Paging>(paging);

  ScanSlot slot(scans_, options_.max_scans);
  if (!slot) return ScansBusy();
  ScanClock clock(options_.scan_budget);
  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
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
    if (step && s.step() != step) return true;
    if (outcome && s.outcome() != outcome) return true;
    if (activity && std::find(s.activities().begin(), s.activities().end(), activity) ==
                        s.activities().end()) {
      return true;
    }
    if (!owner.empty() && s.owner() != owner) return true;
    if (!tag.empty() && std::find(s.tags().begin(), s.tags().end(), tag) == s.tags().end()) {
      return true;
    }
    if (alert_kind && std::none_of(s.firing_alerts().begin(), s.firing_alerts().end(),
                                   [&](const auto& a) { return a.kind() == alert_kind; })) {
      return true;
    }
    ++matched;
    std::string key = sort == "id"           ? ""
                      : sort == "updated_at" ? TimeKey(s.updated_at())
                      : sort == "created_at" ? TimeKey(s.created_at())
                                             : StepKey(s.step());
    std::pair<std::string, std::string> k{key, s.initiative_id()};
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

// ---- GET /v1/initiatives/{id}[/events|/transitions] ------------------------------------------

HttpResponse Api::Initiative(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return JsonError(503, "the register is not open yet");
  // Segments: v1, initiatives, {id}[, events|transitions]. An id holding '/' comes as %2F.
  const std::string rest = request.segments.size() > 2 ? request.segments[2] : std::string();
  const std::string sub = request.segments.size() > 3 ? request.segments[3] : std::string();
  if (!ValidId(rest, options_.limits.max_id_bytes)) {
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
  auto found = reg->FindInitiative(rest);
  if (!found) return JsonError(500, found.error().ToString());
  if (!*found) return JsonError(404, "no initiative '" + rest + "'");
  const v1::Initiative& s = **found;

  if (sub.empty()) {
    json body;
    body["initiative"] = ToJsonValue(s);
    json principles = json::array();
    for (v1::Principle p : model::PrinciplesOf(s.step())) principles.push_back(v1::Principle_Name(p));
    body["principles"] = principles;
    json targets = json::array();
    for (const auto& k : s.kpis()) {
      if (!k.has_target()) continue;
      json t{{"kpi", k.kpi()},
             {"target_value", k.target().target_value()},
             {"direction", v1::Direction_Name(k.target().direction())},
             {"deadline", pb::util::TimeUtil::ToString(k.target().deadline())}};
      if (k.has_baseline()) t["baseline_value"] = k.baseline_value();
      if (k.has_latest()) {
        t["latest_value"] = k.latest().value();
        const bool up = k.target().direction() != v1::DIRECTION_DECREASE;
        t["met"] = up ? k.latest().value() >= k.target().target_value()
                      : k.latest().value() <= k.target().target_value();
        const double span = k.target().target_value() - k.baseline_value();
        if (k.has_baseline() && span != 0) {
          // Share of the way from the baseline to the target, 0..1 (can pass 1 or go below 0).
          t["progress"] = (k.latest().value() - k.baseline_value()) / span;
        }
      }
      targets.push_back(t);
    }
    body["targets"] = targets;
    return Ok(body);
  }

  auto found_history = reg->FindHistory(rest);
  if (!found_history) return JsonError(500, found_history.error().ToString());
  const std::vector<v1::StoredEvent>& history = *found_history;
  const std::string fingerprint = Base64Url(sub + "|" + rest);
  auto paging = ReadPaging(request, fingerprint, options_, 1);
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
  std::size_t total = 0;
  if (sub == "events") {
    total = history.size();
    for (std::size_t i = start; i < history.size() && items.size() < page.size; ++i) {
      items.push_back(ToJsonValue(history[i]));
    }
  } else {
    // Transitions are not stored: the history is folded again through the model, which is
    // deterministic, so they come out exactly as they were emitted.
    std::vector<v1::StepTransition> transitions;
    std::optional<v1::Initiative> state;
    for (const auto& e : history) {
      storage::Projection projection = projector_.Project(state ? &*state : nullptr, e);
      if (projection.disposition == storage::Projection::Disposition::kRejected) continue;
      for (const auto& o : projection.outputs) {
        if (o.has_transition()) transitions.push_back(o.transition());
      }
      state = std::move(projection.state);
    }
    total = transitions.size();
    for (std::size_t i = start; i < transitions.size() && items.size() < page.size; ++i) {
      items.push_back(ToJsonValue(transitions[i]));
    }
  }
  json body;
  body[sub] = items;
  body["total"] = total;
  if (start + items.size() < total) {
    body["next_page_token"] = Token(fingerprint, {std::to_string(start + items.size())});
  }
  return Ok(body);
}

// ---- GET /v1/alerts ----------------------------------------------------------------------------

HttpResponse Api::Alerts(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return JsonError(503, "the register is not open yet");
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

// ---- GET /v1/register/stats ---------------------------------------------------------------------

HttpResponse Api::Stats(const HttpRequest& request) const {
  storage::Register* reg = reg_.load();
  if (reg == nullptr) return JsonError(503, "the register is not open yet");
  if (!request.query.empty()) return JsonError(400, "stats takes no query parameters");
  // One scan at a time; the answer is served again for stats_cache (the figures move slowly,
  // and a client looping on stats must not keep a core busy).
  auto cached = [&]() -> std::optional<HttpResponse> {
    if (stats_cached_ && std::chrono::steady_clock::now() - stats_cached_->first <
                             options_.stats_cache) {
      return HttpResponse{200, "application/json", stats_cached_->second, {}};
    }
    return std::nullopt;
  };
  {
    std::lock_guard lock(stats_mu_);
    if (auto hit = cached()) return *hit;
  }
  ScanSlot slot(scans_, options_.max_scans);
  if (!slot) return ScansBusy();
  std::lock_guard lock(stats_mu_);
  if (auto hit = cached()) return *hit;  // computed while this request waited
  const auto now = std::chrono::steady_clock::now();
  ScanClock clock(options_.scan_budget);
  auto partitions = reg->Partitions();
  if (!partitions) return JsonError(500, partitions.error().ToString());
  std::map<std::string, std::uint64_t> by_step, by_outcome, firing;
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> cycle;  // seconds, visits
  std::uint64_t initiatives = 0;
  auto scanned = reg->ScanInitiatives(*partitions, [&](const v1::Initiative& s) {
    if (clock.Expired()) return false;
    ++initiatives;
    ++by_step[v1::Step_Name(s.step())];
    if (s.step() == v1::STEP_CLOSED) ++by_outcome[v1::Outcome_Name(s.outcome())];
    for (const auto& a : s.firing_alerts()) ++firing[v1::AlertKind_Name(a.kind())];
    for (const auto& t : s.step_times()) {
      auto& c = cycle[v1::Step_Name(t.step())];
      c.first += t.seconds();
      c.second += t.visits();
    }
    return true;
  });
  if (!scanned) return JsonError(500, scanned.error().ToString());
  if (clock.expired()) return clock.Error();
  json cycle_json = json::object();
  for (const auto& [step, c] : cycle) {
    cycle_json[step] = {{"visits", c.second},
                        {"mean_seconds", c.second ? static_cast<double>(c.first) /
                                                        static_cast<double>(c.second)
                                                  : 0.0}};
  }
  json body{{"initiatives", initiatives},
            {"by_step", by_step},
            {"by_outcome", by_outcome},
            {"alerts_firing_by_kind", firing},
            {"cycle_time_by_step", cycle_json}};
  if (auto stats = reg->GetStats()) {
    body["events_appended"] = stats->events_appended;
    body["duplicates_skipped"] = stats->duplicates_skipped;
    body["events_rejected"] = stats->events_rejected;
    body["timers_fired"] = stats->timers_fired;
  }
  HttpResponse response = Ok(body);
  stats_cached_.emplace(now, response.body);
  return response;
}

// ---- POST /v1/events --------------------------------------------------------------------------

std::optional<HttpResponse> Api::AdmitPublish(const HttpRequest& request) const {
  if (options_.publish_token.empty()) {
    return JsonError(403, "publishing through the API is off (start cird with CIRD_API_TOKEN)");
  }
  const std::string auth = request.Header("authorization");
  if (!SameSecret(auth, "Bearer " + options_.publish_token)) {
    return JsonError(401, auth.empty() ? "missing Authorization: Bearer <token>"
                                       : "bad bearer token");
  }
  if (!IsJsonMediaType(request.Header("content-type"))) {
    return JsonError(415, "content-type must be application/json");
  }
  return std::nullopt;
}

events::Producer* Api::GetProducer(std::string& error) {
  if (auto* p = producer_ptr_.load()) return p;
  std::lock_guard lock(producer_mu_);
  if (!producer_) {
    auto created = events::Producer::Create(
        options_.kafka, [this](std::uint64_t tag, std::optional<Error> e) {
          Delivered(tag, std::move(e));
        });
    if (!created) {
      error = created.error().message;
      return nullptr;
    }
    producer_ = std::move(*created);
    producer_ptr_.store(producer_.get());
  }
  return producer_.get();
}

void Api::Delivered(std::uint64_t tag, std::optional<Error> error) {
  std::lock_guard lock(pending_mu_);
  auto it = pending_.find(tag);
  if (it == pending_.end()) return;  // the request gave up waiting
  if (it->second.outstanding > 0) --it->second.outstanding;
  if (error && !it->second.error) it->second.error = std::move(error);
}

HttpResponse Api::Publish(const HttpRequest& request) {
  if (auto refused = AdmitPublish(request)) return *refused;
  auto decoded_or = DecodePublishBody(request.body, options_);
  if (auto* refused = std::get_if<HttpResponse>(&decoded_or)) return *refused;
  const auto& decoded = std::get<std::vector<v1::ValueChainEvent>>(decoded_or);
  std::string unreachable;
  events::Producer* producer = GetProducer(unreachable);
  if (producer == nullptr) return RetryLater(503, "cannot reach Kafka: " + unreachable, 5);

  // This request's records share a tag; it waits for their acknowledgements only, polling the
  // producer itself (librdkafka allows concurrent polls). No lock is held while waiting.
  std::uint64_t tag = 0;
  {
    std::lock_guard lock(pending_mu_);
    tag = next_tag_++;
    pending_[tag].outstanding = decoded.size();
  }
  struct Forget {
    Api* api;
    std::uint64_t tag;
    ~Forget() {
      std::lock_guard lock(api->pending_mu_);
      api->pending_.erase(tag);
    }
  } forget{this, tag};
  for (const auto& e : decoded) {
    auto ok = producer->Produce(options_.publish_topic,
                                events::EncodeEvent(e, events::DataFormat::kProtobuf), tag);
    if (!ok && ok.error().code == ErrorCode::kInvalidArgument) {
      // Refused for good (too large for the broker, invalid): publishing again cannot help.
      return JsonError(413, "Kafka refused the events for good: " + ok.error().message);
    }
    if (!ok) {
      return RetryLater(503, "Kafka did not take the events: " + ok.error().message +
                                 "; publish again (duplicates are dropped by source and id)",
                        1);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.publish_timeout;
  std::optional<Error> failed;
  for (;;) {
    {
      std::lock_guard lock(pending_mu_);
      const Pending& p = pending_[tag];
      if (p.outstanding == 0) {
        failed = p.error;
        break;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return RetryLater(503, "Kafka did not acknowledge the events in " +
                                 std::to_string(options_.publish_timeout.count()) +
                                 " ms; publish again (duplicates are dropped by source and id)",
                        1);
    }
    producer->Poll(std::chrono::milliseconds(20));
  }
  if (failed && failed->code == ErrorCode::kInvalidArgument) {
    return JsonError(413, "Kafka refused the events for good: " + failed->message);
  }
  if (failed) {
    return RetryLater(503, "Kafka refused the events: " + failed->message +
                               "; publish again (duplicates are dropped by source and id)",
                      1);
  }
  json accepted = json::array();
  for (const auto& e : decoded) accepted.push_back({{"source", e.source()}, {"id", e.id()}});
  return Ok(json{{"accepted", accepted}, {"topic", options_.publish_topic}}, 202);
}

}  // namespace cir::cird
