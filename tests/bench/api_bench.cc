// api_bench: GET /v1/initiatives/{id} latency on a register of 100,000 initiatives, idle and
// while the register ingests at half its measured maximum; the register-wide reads (the list
// unfiltered, filtered by owner, sorted, both; alerts of a kind; stats) idle.
//
//   api_bench [--initiatives N] [--requests N]
//
// Everything is cird's own code in this process: its Pipeline consuming from librdkafka's mock
// cluster (3 brokers) into the register, and its Api on its HttpServer on loopback, reading the
// same register. Requests go through a real TCP connection each (circtl's HTTP client). The
// register is filled through Kafka and cird, which measures cird's maximum ingest rate; then KPI
// measurements are produced at half that rate while the GETs are timed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "api.h"
#include "cir/base/log.h"
#include "cir/events/cloudevents.h"
#include "cir/events/kafka.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "event_builders.h"
#include "http_client.h"
#include "pipeline.h"

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
  auto e = testing::EventAt(
      "I-" + std::to_string(initiative), "e-" + std::to_string(initiative) + "-" + std::to_string(n),
      testing::kDayZeroSeconds + static_cast<std::int64_t>(n) * 3600, "//bench/api");
  if (kind == 0) {
    e = testing::WithProposal(std::move(e), "Initiative " + std::to_string(initiative),
                              "Better service", "Customer trust",
                              "team-" + std::to_string(initiative % 50), v1::REGISTER_LEVEL_TEAM);
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

struct Latency {
  double p50 = 0, p99 = 0, max = 0;
};

// At least `requests` GETs of random initiatives, and for at least `min_seconds`.
Latency TimeGets(const std::string& base, std::uint64_t initiatives, int requests,
                 double min_seconds = 0) {
  std::mt19937_64 rng(42);
  std::vector<double> ms;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(min_seconds));
  for (int i = 0; i < requests || Clock::now() < until; ++i) {
    const auto id = rng() % initiatives;
    const auto start = Clock::now();
    auto reply = services::HttpCall("GET", base + "/v1/initiatives/I-" + std::to_string(id));
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!reply || reply->status != 200) Die("GET failed");
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back()};
}

// `requests` GETs of `path` (each must answer 200).
// `body_bytes`: the size of the last answer.
Latency TimePath(const std::string& base, const std::string& path, int requests,
                 std::size_t* body_bytes = nullptr) {
  std::vector<double> ms;
  for (int i = 0; i < requests; ++i) {
    const auto start = Clock::now();
    auto reply = services::HttpCall("GET", base + path);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!reply || reply->status != 200) Die("GET " + path + " failed");
    if (body_bytes != nullptr) *body_bytes = reply->body.size();
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t initiatives = 100'000;
  int requests = 2000;
  int partitions = 32;
  CLI::App app{"api_bench: register API latency, idle and while cird ingests"};
  app.add_option("--initiatives", initiatives, "initiatives in the register")->capture_default_str();
  app.add_option("--requests", requests, "GETs per measurement")->capture_default_str();
  app.add_option("--partitions", partitions, "input topic partitions")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  log::SetMinLevel(log::Level::kError);

  std::string pattern = (fs::temp_directory_path() / "api-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
  storage::Options options;
  options.path = pattern;
  options.sync = true;
  auto reg = storage::Register::Open(options);
  if (!reg) Die(reg.error().message);
  auto projector = model::MakeProjector(model::Config{});

  // cird's pipeline on the mock cluster, writing the register the API reads.
  auto mock = events::MockCluster::Start(3);
  if (!mock) Die(mock.error().message);
  cird::Config config;
  config.brokers = (*mock)->Bootstraps();
  config.kafka_properties = {"fetch.wait.max.ms=10"};
  for (const auto& t : {config.input_topics[0], config.transitions_topic, config.alerts_topic,
                        config.dead_letter_topic}) {
    if (auto ok = (*mock)->CreateTopic(t, partitions, 3); !ok) Die(ok.error().message);
  }
  cird::Probe probe("bench");
  cird::Pipeline pipeline(config, **reg, *projector, storage::SystemClock(), probe);
  if (auto ok = pipeline.Start(); !ok) Die(ok.error().message);
  Result<void> ran;
  std::thread ingest_thread([&] { ran = pipeline.Run(); });
  auto producer = events::Producer::Create({config.brokers, {}}, nullptr);
  if (!producer) Die(producer.error().message);
  auto produce = [&](const v1::ValueChainEvent& e) {
    const auto record = events::EncodeEvent(e, events::DataFormat::kProtobuf);
    while (!(*producer)->Produce(config.input_topics[0], record, 0)) {
      (*producer)->Poll(std::chrono::milliseconds(1));
    }
  };
  auto consumed = [&] { return pipeline.counters().records_consumed.load(); };

  // Load: every initiative proposed and baselined, through Kafka and cird. Its rate (from the
  // first record consumed to the last) is cird's measured maximum on this machine.
  for (int kind = 0; kind < 2; ++kind) {
    for (std::uint64_t i = 0; i < initiatives; ++i) produce(Event(i, static_cast<std::uint64_t>(kind), kind));
  }
  if (auto ok = (*producer)->Flush(std::chrono::milliseconds(120000)); !ok) Die(ok.error().message);
  while (consumed() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto load_start = Clock::now();
  while (pipeline.counters().events_appended.load() < 2 * initiatives) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double max_rate = static_cast<double>(2 * initiatives) /
                          std::chrono::duration<double>(Clock::now() - load_start).count();
  std::printf("api_bench: %llu initiatives (%llu events) ingested by cird at %.0f events/s "
              "(its maximum here: mock Kafka -> register, sync on)\n",
              static_cast<unsigned long long>(initiatives),
              static_cast<unsigned long long>(2 * initiatives), max_rate);

  cird::ApiOptions api_options;
  api_options.stats_cache = std::chrono::milliseconds(0);  // every stats GET computes its answer
  cird::Api api(api_options, *projector);
  cird::HttpServer server;
  api.Register(server);
  if (auto ok = server.Start("127.0.0.1", 0, {}); !ok) Die(ok.error().message);
  api.Attach(reg->get());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  const Latency idle = TimeGets(base, initiatives, requests);
  std::printf("  GET /v1/initiatives/{id}, cird idle:                    p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
              idle.p50, idle.p99, idle.max);
  // The register-wide reads, against the 20 ms goal and against a GET of one initiative (the
  // baseline: what any request costs here).
  const int wide = std::max(requests / 20, 10);
  // The filtered and sorted lists go through the register's indexes: one owner is 1/50 of the
  // register, and owner + sort reads that owner's initiatives (the one path that is not O(page)).
  for (const char* path :
       {"/v1/initiatives?page_size=50", "/v1/register/stats",
        "/v1/initiatives?page_size=50&owner=team-7",
        "/v1/initiatives?page_size=50&sort=updated_at", "/v1/initiatives?page_size=50&sort=step",
        "/v1/initiatives?page_size=50&owner=team-7&sort=updated_at", "/v1/alerts?kind=stalled"}) {
    std::size_t bytes = 0;
    const Latency l = TimePath(base, path, wide, &bytes);
    std::printf("  GET %-58s cird idle:  p50 %.3f ms  p99 %.3f ms  (%.2f x the 20 ms goal; "
                "%.0f x a GET of one; %zu bytes)\n",
                path, l.p50, l.p99, l.p50 / 20.0, l.p50 / idle.p50, bytes);
  }
  {
    // What the metrics refresher does every 5 s: the register-wide figures of every partition.
    auto all = (*reg)->Partitions();
    if (!all) Die(all.error().message);
    std::vector<double> ms;
    for (int i = 0; i < wide; ++i) {
      const auto start = Clock::now();
      auto summary = (*reg)->Summarize(*all);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (!summary) Die(summary.error().message);
      if (summary->initiatives != initiatives) Die("Summarize counted the wrong initiatives");
    }
    std::sort(ms.begin(), ms.end());
    std::printf("  Register::Summarize (the metrics refresher, every 5 s): p50 %.3f ms  "
                "max %.3f ms (%.1f%% of one core at one call per 5 s)\n",
                ms[ms.size() / 2], ms.back(), ms[ms.size() / 2] / 5000.0 * 100);
  }

  // Under load: KPI measurements produced at half the maximum while the GETs are timed.
  std::atomic<bool> loading{true};
  std::atomic<std::uint64_t> sent{0};
  std::thread load([&] {
    std::mt19937_64 r(11);
    const double rate = max_rate / 2;
    const auto start = Clock::now();
    std::uint64_t n = 2;
    while (loading.load()) {
      const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(sent) / rate));
      if (Clock::now() < due) {
        (*producer)->Poll(std::chrono::milliseconds(0));
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      produce(Event(r() % initiatives, n++, 2));
      sent.fetch_add(1);
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the load settle
  const auto before = pipeline.counters().events_appended.load();
  const auto t0 = Clock::now();
  const auto sent_before = sent.load();
  const Latency loaded = TimeGets(base, initiatives, requests, /*min_seconds=*/10);
  const double produced_rate = static_cast<double>(sent.load() - sent_before) /
                               std::chrono::duration<double>(Clock::now() - t0).count();
  const double achieved = static_cast<double>(pipeline.counters().events_appended.load() - before) /
                          std::chrono::duration<double>(Clock::now() - t0).count();
  loading = false;
  load.join();
  std::printf("  GET /v1/initiatives/{id}, cird ingesting %6.0f ev/s:    p50 %.3f ms  p99 %.3f ms  max %.3f ms\n"
              "    (produced %.0f ev/s, target %.0f = half the maximum; appended %.0f ev/s)\n",
              achieved, loaded.p50, loaded.p99, loaded.max, produced_rate, max_rate / 2, achieved);
  server.Stop();
  api.Attach(nullptr);
  pipeline.Stop();
  ingest_thread.join();
  if (!ran) Die(ran.error().message);
  reg->reset();
  fs::remove_all(pattern);
  return 0;
}
