// api_bench: GET /v1/initiatives/{id} latency on a register of 100,000 initiatives, idle and
// while the register ingests at half its measured maximum.
//
//   api_bench [--initiatives N] [--requests N]
//
// The API is cird's own (Api on HttpServer, in this process, on loopback); requests go through a
// real TCP connection each (circtl's HTTP client). The ingest load is cird's ingest path below
// Kafka — Register::Append of 500-event batches through the real model, with sync on — first
// flat out to measure its maximum, then paced at half of it while the GETs are timed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "api.h"
#include "cir/log.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "http_client.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = cir::v1;
using namespace cir;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "api_bench: %s\n", what.c_str());
  std::exit(1);
}

v1::ValueChainEvent Event(std::uint64_t initiative, std::uint64_t n, int kind) {
  v1::ValueChainEvent e;
  e.set_id("e-" + std::to_string(initiative) + "-" + std::to_string(n));
  e.set_source("//bench/api");
  e.set_initiative_id("I-" + std::to_string(initiative));
  e.set_activity(v1::ACTIVITY_IMPROVE);
  e.mutable_event_time()->set_seconds(1767225600 + static_cast<std::int64_t>(n) * 3600);
  if (kind == 0) {
    auto& p = *e.mutable_initiative_proposed();
    p.set_title("Initiative " + std::to_string(initiative));
    p.set_vision("Better service");
    p.set_organisational_goal("Customer trust");
    p.set_owner("team-" + std::to_string(initiative % 50));
    p.set_register_level(v1::REGISTER_LEVEL_TEAM);
  } else if (kind == 1) {
    e.mutable_baseline_measured()->set_kpi("mttr");
    e.mutable_baseline_measured()->set_value(240);
    e.mutable_baseline_measured()->set_method(v1::MEASUREMENT_METHOD_AUDIT);
  } else {
    e.mutable_kpi_measured()->set_kpi("mttr");
    e.mutable_kpi_measured()->set_value(200 + static_cast<double>(n % 40));
  }
  return e;
}

void AppendBatch(storage::Register& reg, const storage::Projector& projector,
                 std::vector<v1::ValueChainEvent> events) {
  storage::AppendRequest request;
  for (auto& e : events) request.events.push_back({std::move(e), "bench", 0, std::nullopt});
  if (auto r = reg.Append(request, projector); !r) Die(r.error().message);
}

struct Latency {
  double p50 = 0, p99 = 0, max = 0;
};

Latency TimeGets(const std::string& base, std::uint64_t initiatives, int requests) {
  std::mt19937_64 rng(42);
  std::vector<double> ms;
  for (int i = 0; i < requests; ++i) {
    const auto id = rng() % initiatives;
    const auto start = Clock::now();
    auto reply = services::HttpCall("GET", base + "/v1/initiatives/I-" + std::to_string(id));
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!reply || reply->status != 200) Die("GET failed");
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t initiatives = 100'000;
  int requests = 2000;
  CLI::App app{"api_bench: register API latency, idle and under ingest"};
  app.add_option("--initiatives", initiatives, "initiatives in the register")->capture_default_str();
  app.add_option("--requests", requests, "GETs per measurement")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  log::MinLevel() = log::Level::kWarn;

  std::string pattern = (fs::temp_directory_path() / "api-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
  storage::Options options;
  options.path = pattern;
  options.sync = true;
  auto reg = storage::Register::Open(options);
  if (!reg) Die(reg.error().message);
  auto projector = model::MakeProjector(model::Config{});

  // The register: every initiative proposed and baselined.
  const auto fill_start = Clock::now();
  for (int kind = 0; kind < 2; ++kind) {
    std::vector<v1::ValueChainEvent> batch;
    for (std::uint64_t i = 0; i < initiatives; ++i) {
      batch.push_back(Event(i, static_cast<std::uint64_t>(kind), kind));
      if (batch.size() == 500) AppendBatch(**reg, *projector, std::exchange(batch, {}));
    }
    if (!batch.empty()) AppendBatch(**reg, *projector, std::move(batch));
  }
  std::printf("api_bench: %llu initiatives (%llu events) loaded in %.1f s\n",
              static_cast<unsigned long long>(initiatives),
              static_cast<unsigned long long>(2 * initiatives),
              std::chrono::duration<double>(Clock::now() - fill_start).count());

  cird::ApiOptions api_options;
  cird::Api api(api_options, *projector);
  cird::HttpServer server;
  api.Register(server);
  if (auto ok = server.Start("127.0.0.1", 0, 4, {}); !ok) Die(ok.error().message);
  api.Attach(reg->get());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  const Latency idle = TimeGets(base, initiatives, requests);
  std::printf("  GET /v1/initiatives/{id}, idle:              p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
              idle.p50, idle.p99, idle.max);

  // The ingest maximum: KPI measurements in batches of 500, flat out, for ~3 s.
  std::uint64_t n = 2;
  auto ingest_batch = [&](std::mt19937_64& rng) {
    std::vector<v1::ValueChainEvent> batch;
    for (int i = 0; i < 500; ++i) batch.push_back(Event(rng() % initiatives, n++, 2));
    AppendBatch(**reg, *projector, std::move(batch));
  };
  std::mt19937_64 rng(7);
  std::uint64_t appended = 0;
  const auto max_start = Clock::now();
  while (Clock::now() - max_start < std::chrono::seconds(3)) {
    ingest_batch(rng);
    appended += 500;
  }
  const double max_rate =
      static_cast<double>(appended) / std::chrono::duration<double>(Clock::now() - max_start).count();
  std::printf("  ingest maximum (Register::Append, 500/batch, sync): %.0f events/s\n", max_rate);

  std::atomic<bool> loading{true};
  std::uint64_t paced = 0;
  std::thread ingest([&] {
    std::mt19937_64 r(11);
    const double rate = max_rate / 2;
    const auto start = Clock::now();
    while (loading.load()) {
      const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(paced) / rate));
      if (Clock::now() < due) {
        std::this_thread::sleep_until(due);
        continue;
      }
      ingest_batch(r);
      paced += 500;
    }
  });
  const auto load_start = Clock::now();
  const Latency loaded = TimeGets(base, initiatives, requests);
  const double achieved =
      static_cast<double>(paced) / std::chrono::duration<double>(Clock::now() - load_start).count();
  loading = false;
  ingest.join();
  std::printf("  GET /v1/initiatives/{id}, ingesting %.0f ev/s: p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
              achieved, loaded.p50, loaded.p99, loaded.max);
  server.Stop();
  api.Attach(nullptr);
  reg->reset();
  fs::remove_all(pattern);
  return 0;
}
