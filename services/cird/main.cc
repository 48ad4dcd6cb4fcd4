// cird: the continual improvement register service.
//
//   cird --brokers HOST:PORT --data-dir DIR           the service against a Kafka cluster
//   cird --embedded-kafka                             the same on an in-process mock cluster
//   cird demo [--keep]                                embedded Kafka + the sample scenario
//                                                     (demo.cc)
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cir/events/cloudevents.h"
#include "cir/events/kafka.h"
#include "cir/log.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "config.h"
#include "api.h"
#include "demo.h"
#include "http_server.h"
#include "pipeline.h"
#include "probe.h"

namespace {

namespace fs = std::filesystem;
using namespace cir;
using std::chrono::milliseconds;

enum Exit : int { kOk = 0, kRuntimeError = 1, kConfigError = 2 };
constexpr const char* kVersion = "0.1.0";

std::atomic<cird::Pipeline*> g_pipeline{nullptr};

extern "C" void OnSignal(int) {
  if (auto* p = g_pipeline.load()) p->Stop();
}

}  // namespace

int main(int argc, char** argv) {
  cird::Config config;
  CLI::App app{"cird — the continual improvement register service: consumes value-chain events "
               "from Kafka, appends them to a RocksDB register, and emits step transitions and "
               "momentum alerts to Kafka.\nExit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime "
               "error, 2 bad configuration."};
  app.set_version_flag("--version", std::string("cird ") + kVersion);
  app.fallthrough();
  config.Register(app);
  cird::DemoOptions demo;
  CLI::App* demo_cmd = cird::AddDemoCommand(app, demo);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kConfigError;
  }
  const bool demo_mode = demo_cmd->parsed();
  if (demo_mode) cird::ApplyDemoDefaults(app, config, demo);
  log::MinLevel() = config.log_level == "debug"  ? log::Level::kDebug
                    : config.log_level == "warn"  ? log::Level::kWarn
                    : config.log_level == "error" ? log::Level::kError
                                                  : log::Level::kInfo;
  if (auto ok = config.Validate(); !ok) {
    std::cerr << "cird: " << ok.error().message << "\n";
    return kConfigError;
  }
  auto model_config = config.model_flags.ToConfig();  // validated above

  // Embedded Kafka: librdkafka's mock cluster, 3 brokers, topics created up front.
  std::unique_ptr<events::MockCluster> mock;
  if (config.embedded_kafka) {
    auto started = events::MockCluster::Start(3);
    if (!started) {
      std::cerr << "cird: " << started.error().message << "\n";
      return kRuntimeError;
    }
    mock = std::move(*started);
    for (const auto& topic : config.input_topics) {
      (void)mock->CreateTopic(topic, config.embedded_partitions, 3);
    }
    for (const auto* topic :
         {&config.transitions_topic, &config.alerts_topic, &config.dead_letter_topic}) {
      (void)mock->CreateTopic(*topic, config.embedded_partitions, 3);
    }
    config.brokers = mock->Bootstraps();
    std::cerr << "cird: embedded Kafka (librdkafka mock cluster, 3 brokers) at " << config.brokers
              << "\n";
  }
  bool temp_dir = false;
  if (config.data_dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "cird-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::cerr << "cird: cannot create a temporary data directory\n";
      return kRuntimeError;
    }
    config.data_dir = pattern;
    temp_dir = true;
    std::cerr << "cird: register in temporary directory " << config.data_dir << "\n";
  }

  // Metrics and health come up first, so that /livez answers while Kafka is still joining.
  cird::Probe probe(kVersion);
  cird::HttpServer http;
  http.Route("/metrics", {"GET"}, [&probe](const cird::HttpRequest&) {
    return cird::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", probe.Scrape()};
  }, /*rate_limited=*/false);
  http.Route("/livez", {"GET"}, [&probe](const cird::HttpRequest&) {
    auto alive = probe.Alive(std::chrono::seconds(60));
    return cird::HttpResponse{alive.ready ? 200 : 503, "application/json", alive.body};
  }, /*rate_limited=*/false);
  probe.SetReadyBounds(config.ready_max_lag,
                       std::chrono::duration<double>(config.ready_max_outbox_age).count());
  http.Route("/readyz", {"GET"}, [&probe](const cird::HttpRequest&) {
    auto ready = probe.Ready();
    return cird::HttpResponse{ready.ready ? 200 : 503, "application/json", ready.body};
  }, /*rate_limited=*/false);
  auto projector = model::MakeProjector(*model_config);
  cird::ApiOptions api_options;
  api_options.publish_token = config.api_token;
  api_options.publish_topic = config.input_topics.front();
  api_options.kafka = {config.brokers, config.KafkaProperties()};
  api_options.limits = config.limits;
  cird::Api api(api_options, *projector);
  api.Register(http);
  // Declared after everything the handlers use, so it is destroyed (and the server stopped)
  // first on every way out of main.
  struct StopHttp {
    cird::HttpServer& server;
    ~StopHttp() { server.Stop(); }
  } stop_http{http};
  cird::HttpLimits http_limits;
  http_limits.max_body_bytes = config.api_max_body_bytes;
  http_limits.requests_per_second = config.api_rate_limit;
  if (auto ok = http.Start(config.http_address, config.http_port, 4, http_limits); !ok) {
    std::cerr << "cird: " << ok.error().message << "\n";
    return kConfigError;
  }
  std::cerr << "cird: HTTP on " << config.http_address << ":" << http.port()
            << " (/metrics, /livez, /readyz, /v1/…)\n";
  log::Info("http listening", {{"address", config.http_address}, {"port", http.port()}});

  int code = kOk;
  {
    storage::Options options;
    options.path = config.data_dir;
    options.sync = config.sync;
    options.block_cache_bytes = config.block_cache_mb << 20;
    auto reg = storage::Register::Open(options);
    if (!reg) {
      std::cerr << "cird: cannot open the register: " << reg.error().ToString() << "\n";
      return kRuntimeError;
    }
    api.Attach(reg->get());
    cird::Pipeline pipeline(config, **reg, *projector, storage::SystemClock(), probe);

    // Register-wide gauges, refreshed off the ingest thread (RocksDB reads are thread-safe).
    std::atomic<bool> refreshing{true};
    std::thread refresher([&] {
      auto next = std::chrono::steady_clock::now();
      while (refreshing.load()) {
        if (std::chrono::steady_clock::now() >= next) {
          next = std::chrono::steady_clock::now() + config.stats_interval;
          const auto owned = pipeline.OwnedPartitions();
          if (auto summary = (*reg)->Summarize(owned)) probe.SetSummary(*summary);
          std::uint64_t entries = 0;
          std::optional<std::int64_t> oldest;
          for (std::uint32_t p : owned) {
            auto backlog = (*reg)->Backlog(p);
            if (!backlog) continue;
            entries += backlog->entries;
            if (backlog->oldest_recorded_at) {
              const auto t = backlog->oldest_recorded_at->seconds();
              oldest = oldest ? std::min(*oldest, t) : t;
            }
          }
          const auto now = storage::SystemClock().Now().seconds();
          probe.SetOutbox(entries, oldest ? static_cast<double>(std::max<std::int64_t>(
                                                now - *oldest, 0))
                                          : 0.0);
          probe.SetDbFigures((*reg)->Figures());
        }
        std::this_thread::sleep_for(milliseconds(100));
      }
    });
    if (auto ok = pipeline.Start(); !ok) {
      std::cerr << "cird: " << ok.error().message << "\n";
      code = ok.error().code == ErrorCode::kInvalidArgument ||
                     ok.error().code == ErrorCode::kFailedPrecondition
                 ? kConfigError
                 : kRuntimeError;
    } else {
      g_pipeline.store(&pipeline);
      std::signal(SIGTERM, OnSignal);
      std::signal(SIGINT, OnSignal);
      if (demo_mode) {
        if (cird::RunDemo(config, pipeline, demo, http.port()) != 0) code = kRuntimeError;
      } else if (auto ran = pipeline.Run(); !ran) {
        std::cerr << "cird: " << ran.error().ToString() << "\n";
        code = kRuntimeError;
      }
      g_pipeline.store(nullptr);
    }
    refreshing = false;
    refresher.join();
    http.Stop();  // no handler may run once the register below is closed
    api.Attach(nullptr);
  }
  if (temp_dir) fs::remove_all(config.data_dir);
  return code;
}
