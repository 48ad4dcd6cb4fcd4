// circtl's online commands: reading the register through cird's HTTP API, and publishing events
// to Kafka directly or through the API. Tables for people by default, JSON with --json. Exit
// codes as offline.h says: 0 ok, 1 bad input or not found (a 4xx), 2 usage, 3 unreachable or a
// server error (a 5xx).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace cir::services {

struct ApiTarget {
  std::string url;    // e.g. http://127.0.0.1:8080
  bool json = false;  // print the API's JSON instead of a table
};

[[nodiscard]] int GetInitiative(const ApiTarget& api, const std::string& id, std::ostream& out,
                                std::ostream& err);

struct ListFilters {
  std::string step, outcome, activity, owner, tag, alert_kind, sort;
  int page_size = 0;       // 0: the server's default
  std::string page_token;  // start at this page (the previous page's next_page_token)
  bool all = false;        // follow next_page_token to the end
};
// One page, or every page with `all`. With api.json prints one object: {"initiatives":[…],
// "total_matching":N} plus "next_page_token" when more pages follow (never with `all`). The
// table ends with a line naming the next page's token when there is one.
[[nodiscard]] int ListInitiatives(const ApiTarget& api, const ListFilters& filters,
                                  std::ostream& out, std::ostream& err);

[[nodiscard]] int History(const ApiTarget& api, const std::string& id, bool transitions,
                          std::ostream& out, std::ostream& err);

[[nodiscard]] int Alerts(const ApiTarget& api, const std::string& kind, std::ostream& out,
                         std::ostream& err);

[[nodiscard]] int RegisterStats(const ApiTarget& api, std::ostream& out, std::ostream& err);

struct PublishOptions {
  std::string file;                 // JSON lines; "-" for stdin; may be empty with events
  std::vector<std::string> events;  // single events given with --event
  // Exactly one destination: the API (token from CIRCTL_API_TOKEN) or Kafka.
  std::string api_url;
  std::string token;
  std::string brokers;
  std::string topic = "cir.value-chain";
};
// Validates every event first (bad ones are reported with their line number and skipped), then
// publishes the good ones. Prints "published N events".
[[nodiscard]] int Publish(const PublishOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cir::services
