#include "online.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cir/events/cloudevents.h"
#include "cir/events/kafka.h"
#include "cir/v1/improvement.pb.h"
#include "http_client.h"
#include "input.h"
#include "offline.h"

namespace cir::services {
namespace {

using nlohmann::json;

// Calls the API; on success fills `body`. Returns the exit code for failures (already reported).
int Call(const ApiTarget& api, const std::string& path, json& body, std::ostream& err) {
  auto reply = HttpCall("GET", api.url + path);
  if (!reply) {
    err << "circtl: " << reply.error().message << "\n";
    return kExitRegisterError;
  }
  body = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (reply->status >= 200 && reply->status < 300 && !body.is_discarded()) return kExitOk;
  std::string message = reply->body;
  if (!body.is_discarded() && body.contains("error")) {
    message = body["error"].value("message", reply->body);
  }
  err << "circtl: " << reply->status << " " << message << "\n";
  return reply->status >= 500 || body.is_discarded() ? kExitRegisterError : kExitBadInput;
}

// `text` padded to `width` columns, always followed by at least one space.
std::string Column(const std::string& text, std::size_t width) {
  return text + std::string(text.size() < width ? width - text.size() : 1, ' ');
}

std::string Short(const json& value, const std::string& prefix) {
  std::string text = value.is_string() ? value.get<std::string>() : "";
  if (text.rfind(prefix, 0) == 0) text = text.substr(prefix.size());
  return text;
}

}  // namespace

int GetInitiative(const ApiTarget& api, const std::string& id, std::ostream& out,
                  std::ostream& err) {
  json body;
  if (int code = Call(api, "/v1/initiatives/" + UrlEncode(id), body, err)) return code;
  if (api.json) {
    out << body.dump() << "\n";
    return kExitOk;
  }
  const json& s = body["initiative"];
  out << s.value("initiative_id", "") << "  " << s.value("title", "") << "\n"
      << "  step       " << Short(s.value("step", json()), "STEP_") << " (iteration "
      << s.value("iteration", 0) << ")\n"
      << "  owner      " << s.value("owner", "") << "\n";
  if (s.contains("outcome")) out << "  outcome    " << Short(s["outcome"], "OUTCOME_") << "\n";
  out << "  principles ";
  for (const auto& p : body["principles"]) out << Short(p, "PRINCIPLE_") << " ";
  out << "\n";
  for (const auto& t : body["targets"]) {
    out << "  target     " << t.value("kpi", "") << " "
        << (Short(t["direction"], "DIRECTION_") == "DECREASE" ? "<= " : ">= ")
        << t.value("target_value", 0.0);
    if (t.contains("latest_value")) out << "  latest " << t["latest_value"].get<double>();
    if (t.contains("progress")) {
      out << "  progress " << std::fixed << std::setprecision(0)
          << 100 * t["progress"].get<double>() << "%" << std::defaultfloat;
    }
    out << "\n";
  }
  for (const auto& a : s.value("firing_alerts", json::array())) {
    out << "  FIRING     " << Short(a["kind"], "ALERT_KIND_") << "  " << a.value("reason", "")
        << "\n";
  }
  return kExitOk;
}

int ListInitiatives(const ApiTarget& api, const ListFilters& f, std::ostream& out,
                    std::ostream& err) {
  std::string query;
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) query += std::string(query.empty() ? "?" : "&") + name + "=" + UrlEncode(value);
  };
  add("step", f.step);
  add("outcome", f.outcome);
  add("activity", f.activity);
  add("owner", f.owner);
  add("tag", f.tag);
  add("alert_kind", f.alert_kind);
  add("sort", f.sort);
  if (f.page_size > 0) add("page_size", std::to_string(f.page_size));
  json all = json::array();
  std::string token = f.page_token;
  std::uint64_t total = 0, shown = 0;
  if (!api.json) {
    out << Column("ID", 20) << Column("STEP", 15) << Column("ITER", 6) << Column("OWNER", 18)
        << "FIRING\n";
  }
  do {
    json body;
    std::string path = "/v1/initiatives" + query;
    if (!token.empty()) {
      path += std::string(query.empty() ? "?" : "&") + "page_token=" + UrlEncode(token);
    }
    if (int code = Call(api, path, body, err)) return code;
    total = body.value("total_matching", std::uint64_t{0});
    for (const auto& s : body["initiatives"]) {
      ++shown;
      if (api.json) {
        all.push_back(s);
        continue;
      }
      std::string firing;
      for (const auto& a : s.value("firing_alerts", json::array())) {
        firing += (firing.empty() ? "" : ",") + Short(a["kind"], "ALERT_KIND_");
      }
      out << Column(s.value("initiative_id", ""), 20)
          << Column(Short(s.value("step", json()), "STEP_"), 15)
          << Column(std::to_string(s.value("iteration", 0)), 6) << Column(s.value("owner", ""), 18)
          << firing << "\n";
    }
    token = body.value("next_page_token", "");
  } while (f.all && !token.empty());
  if (api.json) {
    json page{{"initiatives", all}, {"total_matching", total}};
    if (!token.empty()) page["next_page_token"] = token;
    out << page.dump() << "\n";
  } else if (!token.empty()) {
    out << "(" << shown << " of " << total << " shown; next page: --page-token " << token
        << ", or --all)\n";
  }
  return kExitOk;
}

int History(const ApiTarget& api, const std::string& id, bool transitions, std::ostream& out,
            std::ostream& err) {
  const std::string kind = transitions ? "transitions" : "events";
  std::string token;
  json all = json::array();
  do {
    json body;
    std::string path = "/v1/initiatives/" + UrlEncode(id) + "/" + kind + "?page_size=200";
    if (!token.empty()) path += "&page_token=" + token;
    if (int code = Call(api, path, body, err)) return code;
    for (const auto& item : body[kind]) all.push_back(item);
    token = body.value("next_page_token", "");
  } while (!token.empty());
  if (api.json) {
    out << json{{kind, all}}.dump() << "\n";
    return kExitOk;
  }
  for (const auto& item : all) {
    if (transitions) {
      // The first transition has no from_step (STEP_UNSPECIFIED is left out of the JSON).
      const std::string from = Short(item.value("from_step", json("")), "STEP_");
      out << item.value("time", "") << "  " << (from.empty() ? "(proposed)" : from)
          << " -> " << Short(item["to_step"], "STEP_") << "  iteration "
          << item.value("iteration", 0);
      if (item.contains("skipped_steps")) {
        out << "  skipped";
        for (const auto& s : item["skipped_steps"]) out << " " << Short(s, "STEP_");
      }
      out << "\n";
    } else {
      out << "#" << item.value("revision", "") << "  ";
      if (item.contains("value_chain")) {
        const auto& v = item["value_chain"];
        std::string payload;
        for (const auto& [key, value] : v.items()) {
          if (value.is_object() && key != "event_time") payload = key;
        }
        out << v.value("event_time", "") << "  " << payload << "  " << v.value("source", "")
            << " " << v.value("id", "");
      } else if (item.contains("timer")) {
        out << item["timer"].value("fired_at", "") << "  timer "
            << Short(item["timer"]["kind"], "ALERT_KIND_");
      }
      if (item.contains("note")) out << "  (" << item["note"].get<std::string>() << ")";
      out << "\n";
    }
  }
  return kExitOk;
}

int Alerts(const ApiTarget& api, const std::string& kind, std::ostream& out, std::ostream& err) {
  json body;
  const std::string path = "/v1/alerts" + (kind.empty() ? "" : "?kind=" + UrlEncode(kind));
  if (int code = Call(api, path, body, err)) return code;
  if (api.json) {
    out << body.dump() << "\n";
    return kExitOk;
  }
  for (const auto& a : body["alerts"]) {
    out << std::left << std::setw(20) << a.value("initiative_id", "") << std::setw(24)
        << Short(a["kind"], "ALERT_KIND_") << a.value("fired_at", "") << "  "
        << a.value("reason", "") << "\n";
  }
  return kExitOk;
}

int RegisterStats(const ApiTarget& api, std::ostream& out, std::ostream& err) {
  json body;
  if (int code = Call(api, "/v1/register/stats", body, err)) return code;
  if (api.json) {
    out << body.dump() << "\n";
    return kExitOk;
  }
  out << "initiatives      " << body.value("initiatives", 0) << "\n"
      << "events appended  " << body.value("events_appended", 0) << "\n";
  // Names are printed without their enum prefix, in columns wide enough for the longest
  // (MOMENTUM_NOT_SUSTAINED), with a space after every name whatever its length.
  for (const auto& [step, n] : body["by_step"].items()) {
    out << "  step   " << Column(Short(json(step), "STEP_"), 23) << n << "\n";
  }
  for (const auto& [outcome, n] : body["by_outcome"].items()) {
    out << "  closed " << Column(Short(json(outcome), "OUTCOME_"), 23) << n << "\n";
  }
  // Every kind, 0 when none fires, so that a reader sees what is watched.
  const json& firing = body.value("alerts_firing_by_kind", json::object());
  for (int k = v1::ALERT_KIND_STEP_SKIPPED; k <= v1::AlertKind_MAX; ++k) {
    const std::string kind = v1::AlertKind_Name(static_cast<v1::AlertKind>(k));
    out << "  firing " << Column(Short(json(kind), "ALERT_KIND_"), 23) << firing.value(kind, 0)
        << "\n";
  }
  for (const auto& [step, c] : body["cycle_time_by_step"].items()) {
    out << "  cycle  " << Column(Short(json(step), "STEP_"), 23) << std::fixed
        << std::setprecision(1) << c.value("mean_seconds", 0.0) / 86400 << " days ("
        << c.value("visits", 0) << " visits)\n"
        << std::defaultfloat;
  }
  return kExitOk;
}

namespace {

// The events to publish, each with where it came from: the --event values, then FILE's lines.
struct Line {
  std::string where;
  std::string text;
};

// False (said on `err`) when FILE cannot be opened.
bool CollectLines(const PublishOptions& options, std::vector<Line>& lines, std::ostream& err) {
  for (std::size_t i = 0; i < options.events.size(); ++i) {
    lines.push_back({"--event #" + std::to_string(i + 1), options.events[i]});
  }
  if (options.file.empty()) return true;
  std::ifstream file;
  std::istream* in = OpenInput(options.file, file, err);
  if (!in) return false;
  std::string text;
  for (int n = 1; std::getline(*in, text); ++n) {
    if (IsSkippedLine(text)) continue;
    lines.push_back({options.file + ":" + std::to_string(n), text});
  }
  return true;
}

// POST /v1/events in batches of 500; kExitOk or the exit code of the first failure.
int PublishToApi(const PublishOptions& options, const std::vector<v1::ValueChainEvent>& good,
                 std::ostream& err) {
  for (std::size_t start = 0; start < good.size(); start += 500) {
    json batch = json::array();
    for (std::size_t i = start; i < good.size() && i < start + 500; ++i) {
      auto text = events::ToJson(good[i]);  // validated above, so it prints
      if (!text) {
        err << "circtl: " << text.error().message << "\n";
        return kExitBadInput;
      }
      batch.push_back(json::parse(*text));
    }
    auto reply = HttpCall("POST", options.api_url + "/v1/events", json{{"events", batch}}.dump(),
                          {{"Content-Type", "application/json"},
                           {"Authorization", "Bearer " + options.token}});
    if (!reply) {
      err << "circtl: " << reply.error().message << "\n";
      return kExitRegisterError;
    }
    if (reply->status != 202) {
      err << "circtl: " << reply->status << " " << reply->body;
      return reply->status >= 500 ? kExitRegisterError : kExitBadInput;
    }
  }
  return kExitOk;
}

// Produces every event to --topic as a JSON CloudEvent and waits for the acknowledgements.
int PublishToKafka(const PublishOptions& options, const std::vector<v1::ValueChainEvent>& good,
                   std::ostream& err) {
  auto producer = events::Producer::Create({options.brokers, {}}, nullptr);
  if (!producer) {
    err << "circtl: " << producer.error().message << "\n";
    return kExitUsage;
  }
  for (const auto& e : good) {
    auto ok =
        (*producer)->Produce(options.topic, events::EncodeEvent(e, events::DataFormat::kJson), 0);
    if (!ok) {
      err << "circtl: " << ok.error().message << "\n";
      return kExitRegisterError;
    }
  }
  if (auto ok = (*producer)->Flush(std::chrono::milliseconds(30000)); !ok) {
    err << "circtl: Kafka did not acknowledge every event: " << ok.error().message << "\n";
    return kExitRegisterError;
  }
  return kExitOk;
}

}  // namespace

int Publish(const PublishOptions& options, std::ostream& out, std::ostream& err) {
  if (options.api_url.empty() == options.brokers.empty()) {
    err << "circtl publish: give exactly one of --api and --brokers\n";
    return kExitUsage;
  }
  std::vector<Line> lines;
  if (!CollectLines(options, lines, err)) return kExitUsage;
  if (lines.empty()) {
    err << "circtl publish: no events (give a FILE or --event)\n";
    return kExitUsage;
  }
  std::vector<v1::ValueChainEvent> good;
  std::size_t bad = 0;
  for (const auto& line : lines) {
    auto event = events::DecodeJson(line.text, events::Limits{});
    if (!event) {
      err << line.where << ": " << event.error().message << "\n";
      ++bad;
    } else {
      good.push_back(std::move(*event));
    }
  }
  const int sent = options.api_url.empty() ? PublishToKafka(options, good, err)
                                           : PublishToApi(options, good, err);
  if (sent != kExitOk) return sent;
  out << "published " << good.size() << " events" << (bad ? ", " + std::to_string(bad) + " bad" : "")
      << "\n";
  return bad > 0 ? kExitBadInput : kExitOk;
}

}  // namespace cir::services
