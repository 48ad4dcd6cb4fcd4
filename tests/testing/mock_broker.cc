// cir_mock_broker: librdkafka 2.0.2's mock cluster (events::MockCluster) as a process of its own,
// so that a cluster outlives the cird processes a test starts, kills and restarts. Brokers listen
// on 127.0.0.1 only. It prints the bootstrap servers as one line on stdout, then answers a
// line-based control protocol on stdin, one line per command: `ok[ detail]` or `error: reason`.
//
//   ping                                       ok
//   bootstraps                                 ok 127.0.0.1:P1,127.0.0.1:P2,…
//   create-topic NAME PARTITIONS REPLICATION
//   broker-down ID | broker-up ID              ID 1-based, -1: all brokers
//   leader TOPIC PARTITION BROKER              BROKER -1: leaderless
//   rtt BROKER MS                              BROKER -1: all brokers
//   request-errors API ERROR…                  the next requests of API fail, one error each
//   broker-request-errors BROKER API ERROR:RTT_MS…
//   clear-request-errors API
//   quit                                       ok, then exit 0
//
// API is a Kafka request type by name (Produce, Fetch, Heartbeat, …) or number; ERROR a
// librdkafka error name without RD_KAFKA_RESP_ERR_ (NOT_LEADER_FOR_PARTITION, _TRANSPORT) or a
// number. It exits 0 on end of input, `quit`, SIGTERM or SIGINT, and 3 when --max-lifetime passes
// (so that a test that dies cannot leave it running); 2 on a bad command line.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cir/base/log.h"
#include "cir/events/mock_cluster.h"

namespace {

using cir::events::MockCluster;

// Kafka protocol request types (the ApiKey of the request header) by name.
const std::map<std::string, std::int16_t>& ApiKeys() {
  static const std::map<std::string, std::int16_t> keys = {
      {"Produce", 0},          {"Fetch", 1},
      {"ListOffsets", 2},      {"Metadata", 3},
      {"OffsetCommit", 8},     {"OffsetFetch", 9},
      {"FindCoordinator", 10}, {"JoinGroup", 11},
      {"Heartbeat", 12},       {"LeaveGroup", 13},
      {"SyncGroup", 14},       {"ApiVersions", 18},
      {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
      {"EndTxn", 26},          {"OffsetDelete", 47}};
  return keys;
}

bool ParseInt(const std::string& text, int& out) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

bool ParseApi(const std::string& text, std::int16_t& out) {
  if (auto it = ApiKeys().find(text); it != ApiKeys().end()) {
    out = it->second;
    return true;
  }
  int n = 0;
  if (!ParseInt(text, n) || n < 0 || n > 100) return false;
  out = static_cast<std::int16_t>(n);
  return true;
}

std::string Answer(const cir::Result<void>& result, const std::string& ok = "ok") {
  return result ? ok : "error: " + result.error().message;
}

// One command line → its answer line. Sets `quit` for "quit".
std::string Execute(MockCluster& cluster, const std::string& line, bool& quit) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty()) return "error: empty command";
  const std::string& cmd = words[0];
  const std::size_t argc = words.size() - 1;
  auto usage = [&](const char* args) { return "error: usage: " + cmd + " " + args; };
  int a = 0, b = 0, c = 0;
  std::int16_t api = 0;
  if (cmd == "ping" && argc == 0) return "ok";
  if (cmd == "quit" && argc == 0) {
    quit = true;
    return "ok";
  }
  if (cmd == "bootstraps" && argc == 0) return "ok " + cluster.Bootstraps();
  if (cmd == "create-topic") {
    if (argc != 3 || !ParseInt(words[2], a) || !ParseInt(words[3], b) || a < 1 || b < 1) {
      return usage("NAME PARTITIONS REPLICATION");
    }
    return Answer(cluster.CreateTopic(words[1], a, b));
  }
  if (cmd == "broker-down" || cmd == "broker-up") {
    if (argc != 1 || !ParseInt(words[1], a)) return usage("ID");
    return Answer(cluster.SetBrokerUp(a, cmd == "broker-up"));
  }
  if (cmd == "leader") {
    if (argc != 3 || !ParseInt(words[2], a) || !ParseInt(words[3], b)) {
      return usage("TOPIC PARTITION BROKER");
    }
    return Answer(cluster.SetLeader(words[1], a, b));
  }
  if (cmd == "rtt") {
    if (argc != 2 || !ParseInt(words[1], a) || !ParseInt(words[2], b) || b < 0) {
      return usage("BROKER MS");
    }
    return Answer(cluster.SetRtt(a, b));
  }
  if (cmd == "request-errors") {
    if (argc < 2 || !ParseApi(words[1], api)) return usage("API ERROR...");
    return Answer(cluster.PushRequestErrors(api, {words.begin() + 2, words.end()}));
  }
  if (cmd == "broker-request-errors") {
    if (argc < 3 || !ParseInt(words[1], a) || !ParseApi(words[2], api)) {
      return usage("BROKER API ERROR:RTT_MS...");
    }
    std::vector<std::pair<std::string, int>> errors;
    for (std::size_t i = 3; i < words.size(); ++i) {
      const auto colon = words[i].rfind(':');
      if (colon == std::string::npos || !ParseInt(words[i].substr(colon + 1), c) || c < 0) {
        return usage("BROKER API ERROR:RTT_MS...");
      }
      errors.emplace_back(words[i].substr(0, colon), c);
    }
    return Answer(cluster.PushBrokerRequestErrors(a, api, errors));
  }
  if (cmd == "clear-request-errors") {
    if (argc != 1 || !ParseApi(words[1], api)) return usage("API");
    cluster.ClearRequestErrors(api);
    return "ok";
  }
  return "error: unknown command or wrong arguments: " + line;
}

bool WriteLine(const std::string& line) {
  std::string out = line + "\n";
  for (std::size_t done = 0; done < out.size();) {
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"librdkafka's mock Kafka cluster as a process, for tests (loopback only)."};
  int brokers = 3;
  std::vector<std::string> topics;
  int max_lifetime_s = 600;
  app.add_option("--brokers", brokers, "number of brokers (ids 1..N)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--topic", topics, "NAME:PARTITIONS:REPLICATION, created at start (repeatable)");
  app.add_option("--max-lifetime", max_lifetime_s, "seconds after which it exits (code 3)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  ::signal(SIGPIPE, SIG_IGN);
  // SIGTERM/SIGINT stay blocked but for the ppoll below, which returns EINTR on them.
  sigset_t stop_signals, old;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  static volatile sig_atomic_t stop = 0;
  struct sigaction action {};
  action.sa_handler = [](int) { stop = 1; };
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigprocmask(SIG_BLOCK, &stop_signals, &old);

  auto cluster = MockCluster::Start(brokers);
  if (!cluster) {
    cir::log::Error("cannot start the mock cluster", {{"error", cluster.error().message}});
    return 1;
  }
  for (const auto& spec : topics) {
    const auto first = spec.find(':'), last = spec.rfind(':');
    int partitions = 0, replication = 0;
    if (first == std::string::npos || first == last || first == 0 ||
        !ParseInt(spec.substr(first + 1, last - first - 1), partitions) ||
        !ParseInt(spec.substr(last + 1), replication) || partitions < 1 || replication < 1) {
      cir::log::Error("bad --topic, expected NAME:PARTITIONS:REPLICATION", {{"topic", spec}});
      return 2;
    }
    if (auto ok = (*cluster)->CreateTopic(spec.substr(0, first), partitions, replication); !ok) {
      cir::log::Error("cannot create topic", {{"topic", spec}, {"error", ok.error().message}});
      return 1;
    }
  }
  if (!WriteLine((*cluster)->Bootstraps())) return 1;
  cir::log::Info("mock cluster up", {{"bootstraps", (*cluster)->Bootstraps()},
                                     {"brokers", brokers},
                                     {"max_lifetime_s", max_lifetime_s}});

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_lifetime_s);
  std::string pending;
  const char* why = "end of input";
  int code = 0;
  for (bool quit = false; !quit;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::seconds(0)) {
      why = "max lifetime reached";
      code = 3;
      break;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left).count();
    timespec timeout{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    const int ready = ::ppoll(&fd, 1, &timeout, &old);
    if (stop) {
      why = "signal";
      break;
    }
    if (ready <= 0) continue;  // EINTR or the deadline: checked above
    char buffer[4096];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of input (or a broken one): the test is gone
    pending.append(buffer, static_cast<std::size_t>(n));
    for (auto eol = pending.find('\n'); eol != std::string::npos && !quit;
         eol = pending.find('\n')) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const std::string answer = Execute(**cluster, line, quit);
      cir::log::Info("command", {{"command", line}, {"answer", answer}});
      if (!WriteLine(answer)) quit = true;
    }
    if (quit) why = "quit";
  }
  cir::log::Info("mock cluster stopping", {{"reason", why}});
  cluster->reset();
  return code;
}
