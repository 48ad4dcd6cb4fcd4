// Health never waits behind the API (issue 9): the real cird, on a register of many initiatives
// (filled through storage::Register directly, so list and stats are heavy), held by 8 slow HTTP
// clients (dripping request heads, unauthenticated and authenticated chunked POST bodies) and 4
// clients looping on heavy API calls — while /livez answers within 100 ms every time, on the one
// port the chart probes. /readyz and /metrics are timed too.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "event_builders.h"
#include "harness.h"
#include "raw_http.h"

namespace cir::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
// Fewer under the sanitizers (everything there runs several times slower); the bound stays.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kInitiatives = 10000;
#else
constexpr int kInitiatives = 30000;
#endif

v1::ValueChainEvent Proposed(int n) {
  auto e = WithProposal(EventAt("L-" + std::to_string(n), "load-" + std::to_string(n),
                                kDayZeroSeconds + n, "//http-load-test", v1::ACTIVITY_PLAN),
                        "Initiative " + std::to_string(n),
                        "Better service for everyone who depends on it", "Customer trust",
                        "team-" + std::to_string(n % 50), v1::REGISTER_LEVEL_TEAM);
  auto& p = *e.mutable_initiative_proposed();
  p.add_tags("load");
  p.add_tags("tag-" + std::to_string(n % 7));
  return e;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

class HttpLoadTest : public ApiPipelineTest {
 protected:
  void SetUp() override {
    ApiPipelineTest::SetUp();
    // The register, before cird opens it.
    storage::Options options;
    options.path = (dir_ / "register").string();
    options.sync = false;
    auto reg = storage::Register::Open(options);
    ASSERT_TRUE(reg.has_value()) << reg.error().ToString();
    auto projector = model::MakeProjector(model::Config{});
    for (int p = 0; p < 4; ++p) {
      storage::AppendRequest request;
      request.partition = static_cast<std::uint32_t>(p);
      for (int n = p; n < kInitiatives; n += 4) {
        storage::InboundEvent in;
        in.event = Proposed(n);
        in.source_topic = kInput;
        request.events.push_back(std::move(in));
        if (request.events.size() == 1000 || n + 4 >= kInitiatives) {
          auto appended = (*reg)->Append(request, *projector);
          ASSERT_TRUE(appended.has_value()) << appended.error().ToString();
          ASSERT_EQ(appended->appended, request.events.size());
          request.events.clear();
        }
      }
    }
    reg->reset();
    ASSERT_NO_FATAL_FAILURE(StartApi({"--api-rate-limit", "0"}));
    ASSERT_TRUE(WaitFor(
        [&] {
          auto r = Exchange(port_, Request("GET", "/v1/register/stats"));
          if (r.status != 200) return false;
          auto body = json::parse(r.body, nullptr, false);
          return !body.is_discarded() && body.value("initiatives", 0) == kInitiatives;
        },
        milliseconds(60000)));
  }
};

// One slow client: opens a connection, sends `head`, then one byte of `drip` every 200 ms; when
// the server closes (or the drip runs out), starts again. Counts its connections.
void SlowClient(int port, const std::string& head, const std::string& drip,
                const std::atomic<bool>& stop, std::atomic<int>& connections) {
  while (!stop.load()) {
    const int fd = ConnectLoopback(port);
    if (fd < 0) continue;
    ++connections;
    bool open = SendAll(fd, head);
    for (std::size_t i = 0; open && !stop.load(); i = (i + 1) % drip.size()) {
      open = SendAll(fd, std::string_view(drip).substr(i, 1));
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) break;  // answered or closed: start again
    }
    ::close(fd);
  }
}

TEST_F(HttpLoadTest, LivezAnswersWithin100msUnderSlowClientsAndHeavyCalls) {
  std::atomic<bool> stop{false};
  std::atomic<int> slow_connections{0};
  std::vector<std::atomic<int>> per_client(8);
  std::vector<std::thread> threads;
  const std::string auth = std::string("Authorization: Bearer ") + kToken + "\r\n";
  const std::string chunked =
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  // A chunked body that never ends: "1\r\n{\r\n", "1\r\n \r\n", …
  std::string drip_body = "1\r\n{\r\n";
  for (int i = 0; i < 200; ++i) drip_body += "1\r\n \r\n";
  const std::vector<std::pair<std::string, std::string>> slow = {
      // Request heads that never end.
      {"GET /v1/initiatives HTTP/1.1\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
      {"GET /livez HTTP/1.1\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
      {"POST /v1/events HTTP/1.1\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
      // Bodies that never end, without the token (refused on the head) and with it.
      {"POST /v1/events HTTP/1.1\r\nHost: x\r\n" + chunked, drip_body},
      {"POST /v1/events HTTP/1.1\r\nHost: x\r\n" + chunked, drip_body},
      {"POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth + chunked, drip_body},
      {"POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth + chunked, drip_body},
      {"POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth + chunked, drip_body},
  };
  ASSERT_EQ(slow.size(), 8u);
  for (std::size_t c = 0; c < slow.size(); ++c) {
    threads.emplace_back([&, c] {
      SlowClient(port_, slow[c].first, slow[c].second, stop, per_client[c]);
    });
  }
  const std::vector<std::string> heavy = {
      "/v1/register/stats", "/v1/initiatives?sort=updated_at&page_size=200",
      "/v1/initiatives?owner=team-7&tag=tag-3&sort=created_at", "/v1/alerts?state=firing"};
  std::atomic<int> heavy_ok{0}, heavy_busy{0}, heavy_other{0};
  for (const auto& path : heavy) {
    threads.emplace_back([&, path] {
      while (!stop.load()) {
        const int status = Exchange(port_, Request("GET", path), milliseconds(10000)).status;
        (status == 200 ? heavy_ok : status == 503 ? heavy_busy : heavy_other)++;
      }
    });
  }
  // The slow clients hold their connections before the timing starts.
  ASSERT_TRUE(WaitFor(
      [&] { return std::all_of(per_client.begin(), per_client.end(), [](auto& n) { return n > 0; }); },
      milliseconds(10000)));

  std::vector<double> livez, readyz, metrics;
  int livez_bad = 0, other_bad = 0;
  const auto until = Clock::now() + milliseconds(10000);
  for (int i = 0; Clock::now() < until; ++i) {
    const std::string path = i % 10 == 9 ? "/metrics" : i % 10 == 8 ? "/readyz" : "/livez";
    const auto start = Clock::now();
    const RawReply r = Exchange(port_, Request("GET", path), milliseconds(5000));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (path == "/livez") {
      livez.push_back(ms);
      if (r.status != 200) ++livez_bad;
    } else {
      (path == "/readyz" ? readyz : metrics).push_back(ms);
      if (r.status != 200 && r.status != 503) ++other_bad;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  stop = true;
  for (auto& t : threads) t.join();
  std::string per;
  for (auto& n : per_client) {
    slow_connections += n.load();
    per += " " + std::to_string(n.load());
  }

  const auto max_of = [](const std::vector<double>& v) {
    return v.empty() ? 1e9 : *std::max_element(v.begin(), v.end());
  };
  const double livez_max = max_of(livez);
  std::printf("http_load: %zu /livez: p50 %.1f ms, p99 %.1f ms, max %.1f ms; /readyz max %.1f ms;"
              " /metrics max %.1f ms; heavy calls: %d ok, %d busy (503), %d other;"
              " slow-client connections: %d (per client:%s)\n",
              livez.size(), Percentile(livez, 0.5), Percentile(livez, 0.99), livez_max,
              max_of(readyz), max_of(metrics),
              heavy_ok.load(), heavy_busy.load(), heavy_other.load(), slow_connections.load(),
              per.c_str());
  EXPECT_GT(livez.size(), 100u);
  EXPECT_EQ(livez_bad, 0);
  EXPECT_EQ(other_bad, 0);
  EXPECT_LT(livez_max, 100.0);
  EXPECT_LT(max_of(readyz), 100.0);
  EXPECT_LT(max_of(metrics), 100.0);
  // The load was real: heavy calls were served throughout, and the slow clients were connected.
  EXPECT_GT(heavy_ok.load(), 20);
  EXPECT_EQ(heavy_other.load(), 0);
  EXPECT_GE(slow_connections.load(), 8);
}

// --health-port: a listener of its own for /livez, /readyz and /metrics. Even with every worker
// of the main port held by clients dripping request heads (which no gate can turn away), health
// answers there at once; the API is not served there.
class HealthPortTest : public PipelineTest {};

TEST_F(HealthPortTest, HealthAnswersWhileTheMainPortIsHeld) {
  auto cird = StartCird({"--health-port", "0", "--http-threads", "8"});
  const int main_port = HttpPort();
  ASSERT_GT(main_port, 0);
  int health_port = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::ifstream log(dir_ / "cird.log");
        for (std::string line; std::getline(log, line);) {
          const auto p = line.find("\"port\":");
          if (line.find("\"msg\":\"health listening\"") != std::string::npos && p != std::string::npos) {
            health_port = std::atoi(line.c_str() + p + 7);
          }
        }
        return health_port > 0;
      },
      milliseconds(20000)));
  ASSERT_NE(health_port, main_port);
  EXPECT_EQ(Exchange(health_port, Request("GET", "/livez")).status, 200);
  EXPECT_EQ(Exchange(health_port, Request("GET", "/metrics")).body.find("cir_build_info") !=
                std::string::npos,
            true);
  EXPECT_EQ(Exchange(health_port, Request("GET", "/v1/register/stats")).status, 404);

  // 12 connections dripping heads hold all 8 workers of the main port.
  std::vector<int> held;
  for (int i = 0; i < 12; ++i) {
    const int fd = ConnectLoopback(main_port);
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /livez HTTP/1.1\r\nX-Slow: a");
    held.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread drip([&] {
    while (!stop.load()) {
      for (int fd : held) SendAll(fd, "a");
      std::this_thread::sleep_for(milliseconds(100));
    }
  });
  // The main port is stuck (its /livez waits for a worker) …
  const auto start = Clock::now();
  EXPECT_EQ(Exchange(main_port, Request("GET", "/livez"), milliseconds(1000)).status, 0);
  EXPECT_GE(Clock::now() - start, milliseconds(900));
  // … the health port is not.
  double worst = 0;
  for (int i = 0; i < 50; ++i) {
    const auto t = Clock::now();
    EXPECT_EQ(Exchange(health_port, Request("GET", "/livez"), milliseconds(2000)).status, 200);
    worst = std::max(worst, std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  std::printf("health port: 50 /livez while the main port is held, max %.1f ms\n", worst);
  EXPECT_LT(worst, 100.0);
  stop = true;
  drip.join();
  for (int fd : held) ::close(fd);
  EXPECT_EQ(cird->Terminate(), 0);
}

}  // namespace
}  // namespace cir::testing
