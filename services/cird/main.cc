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
std::atomic<bool> g_stop{false};  // SIGTERM before the pipeline runs (waiting for the disk)

extern "C" void OnSignal(int) {
  g_stop.store(true, std::memory_order_relaxed);
  if (auto* p = g_pipeline.load()) p->Stop();
}

// Opens the register; on a full or read-only disk waits and tries again (100 ms doubling to 5 s,
// logged when the wait starts and ends) until it opens, a signal stops it (nullptr), or another
// error. /livez stays up meanwhile (the heartbeat) and /readyz says why cird is not ready.
cir::Result<std::unique_ptr<cir::storage::Register>> OpenWaiting(
    const cir::storage::Options& options, cir::cird::Probe& probe) {
  using namespace std::chrono;
  milliseconds backoff(100);
  bool waiting = false;
  while (true) {
    probe.Heartbeat();
    if (auto space = cir::storage::DiskSpaceOf(options.path)) probe.SetDataDirSpace(*space);
    auto reg = cir::storage::Register::Open(options);
    if (reg || !cir::storage::IsDiskStall(reg.error())) {
      if (waiting && reg) {
        probe.WriteResumed();
        cir::log::Info("register opened: the disk has room again", {{"data_dir", options.path}});
      }
      return reg;
    }
    cir::log::Debug("register open failed; retrying", {{"error", reg.error().message}});
    if (!waiting) {
      waiting = true;
      const std::string reason = cir::storage::DiskStallReason(reg.error());
      probe.WriteStalled(reason, reg.error().message);
      cir::log::Error("cannot open the register for now; waiting for the disk and trying again "
                      "(see the CirRegisterDiskFull runbook)",
                      {{"reason", reason}, {"error", reg.error().message},
                       {"data_dir", options.path}});
    }
    const auto until = steady_clock::now() + backoff;
    while (steady_clock::now() < until) {
      if (g_stop.load(std::memory_order_relaxed)) return nullptr;
      probe.Heartbeat();
      std::this_thread::sleep_for(milliseconds(50));
    }
    backoff = std::min(backoff * 2, milliseconds(5000));
  }
}

}  // namespace

int main(int argc, char** argv) {
  log::RouteProtobufLogs();  // first: every stderr line is a JSON log line
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
    // --help and --version print to stdout; a bad command line is a log line like any error.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    log::Error("bad command line", {{"error", e.what()}, {"hint", "cird --help lists the flags"}});
    return kConfigError;
  }
  const bool demo_mode = demo_cmd->parsed();
  if (demo_mode) cird::ApplyDemoDefaults(app, config, demo);
  log::MinLevel() = config.log_level == "debug"  ? log::Level::kDebug
                    : config.log_level == "warn"  ? log::Level::kWarn
                    : config.log_level == "error" ? log::Level::kError
                                                  : log::Level::kInfo;
  if (auto ok = config.Validate(); !ok) {
    log::Error("bad configuration", {{"error", ok.error().message}});
    return kConfigError;
  }
  auto model_config = config.model_flags.ToConfig();  // validated above

  // Embedded Kafka: librdkafka's mock cluster, 3 brokers, topics created up front.
  std::unique_ptr<events::MockCluster> mock;
  if (config.embedded_kafka) {
    auto started = events::MockCluster::Start(3);
    if (!started) {
      log::Error("cannot start embedded Kafka", {{"error", started.error().message}});
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
    log::Info("embedded Kafka started (librdkafka mock cluster, 3 brokers)",
              {{"brokers", config.brokers}});
  }
  bool temp_dir = false;
  if (config.data_dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "cird-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      log::Error("cannot create a temporary data directory", {{"pattern", pattern}});
      return kRuntimeError;
    }
    config.data_dir = pattern;
    temp_dir = true;
    log::Info("register in a temporary directory", {{"data_dir", config.data_dir}});
  }

  // Metrics and health come up first, so that /livez answers while Kafka is still joining.
  // They are not rate-limited and not behind the API's concurrency gate (http_server.h), and
  // with --health-port they also have a listener and threads of their own.
  cird::Probe probe(kVersion);
  probe.SetReadyBounds(config.ready_max_lag,
                       std::chrono::duration<double>(config.ready_max_outbox_age).count());
  cird::RouteOptions health_route;
  health_route.rate_limited = false;
  health_route.gated = false;
  auto add_health = [&](cird::HttpServer& server) {
    server.Route("/metrics", {"GET"}, [&probe](const cird::HttpRequest&) {
      return cird::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", probe.Scrape(),
                                {}};
    }, health_route);
    server.Route("/livez", {"GET"}, [&probe](const cird::HttpRequest&) {
      auto alive = probe.Alive(std::chrono::seconds(60));
      return cird::HttpResponse{alive.ready ? 200 : 503, "application/json", alive.body, {}};
    }, health_route);
    server.Route("/readyz", {"GET"}, [&probe](const cird::HttpRequest&) {
      auto ready = probe.Ready();
      return cird::HttpResponse{ready.ready ? 200 : 503, "application/json", ready.body, {}};
    }, health_route);
  };
  cird::HttpServer http;
  cird::HttpServer health_http;
  add_health(http);
  add_health(health_http);
  auto projector = model::MakeProjector(*model_config);
  cird::ApiOptions api_options;
  api_options.publish_token = config.api_token;
  api_options.publish_topic = config.input_topics.front();
  api_options.kafka = {config.brokers, config.KafkaProperties()};
  api_options.limits = config.limits;
  cird::Api api(api_options, *projector);
  api.Register(http);
  // Declared after everything the handlers use, so it is destroyed (and the servers stopped)
  // first on every way out of main.
  struct StopHttp {
    cird::HttpServer& server;
    cird::HttpServer& health;
    ~StopHttp() {
      server.Stop();
      health.Stop();
    }
  } stop_http{http, health_http};
  cird::HttpLimits http_limits;
  http_limits.max_body_bytes = config.api_max_body_bytes;
  http_limits.requests_per_second = config.api_rate_limit;
  http_limits.threads = config.http_threads;
  http_limits.request_timeout = config.http_request_timeout;
  http_limits.body_timeout = config.http_request_timeout;
  if (auto ok = http.Start(config.http_address, config.http_port, http_limits); !ok) {
    log::Error("cannot start the HTTP server (--http-address/--http-port)",
               {{"error", ok.error().message}});
    return kConfigError;
  }
  log::Info("http listening", {{"address", config.http_address},
                               {"port", http.port()},
                               {"paths", "/metrics, /livez, /readyz, /v1/"},
                               {"threads", config.http_threads},
                               {"api_concurrency", http.api_concurrency()}});
  if (config.health_port >= 0) {
    cird::HttpLimits health_limits;
    health_limits.threads = 4;
    health_limits.max_body_bytes = 1024;
    health_limits.request_timeout = std::min(config.http_request_timeout, milliseconds(5000));
    health_limits.body_timeout = health_limits.request_timeout;
    if (auto ok = health_http.Start(config.http_address, config.health_port, health_limits);
        !ok) {
      log::Error("cannot start the health server (--http-address/--health-port)",
                 {{"error", ok.error().message}});
      return kConfigError;
    }
    log::Info("health listening", {{"address", config.http_address}, {"port", health_http.port()}});
  }

  int code = kOk;
  {
    storage::Options options;
    options.path = config.data_dir;
    options.sync = config.sync;
    options.block_cache_bytes = config.block_cache_mb << 20;
    options.write_buffer_bytes = config.write_buffer_mb << 20;
    // A signal stops a wait for the disk; start-up after it is as before (default disposition).
    std::signal(SIGTERM, OnSignal);
    std::signal(SIGINT, OnSignal);
    auto reg = OpenWaiting(options, probe);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
    if (!reg) {
      log::Error("cannot open the register",
                 {{"error", reg.error().ToString()}, {"data_dir", config.data_dir}});
      return kRuntimeError;
    }
    if (*reg == nullptr) {
      log::Info("stopped while waiting to open the register");
      if (temp_dir) fs::remove_all(config.data_dir);
      return kOk;
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
          if (auto space = (*reg)->Space()) probe.SetDataDirSpace(*space);
        }
        std::this_thread::sleep_for(milliseconds(100));
      }
    });
    if (auto ok = pipeline.Start(); !ok) {
      log::Error("start-up failed", {{"error", ok.error().message}});
      code = ok.error().code == ErrorCode::kInvalidArgument ||
                     ok.error().code == ErrorCode::kFailedPrecondition
                 ? kConfigError
                 : kRuntimeError;
    } else {
      g_pipeline.store(&pipeline);
      std::signal(SIGTERM, OnSignal);
      std::signal(SIGINT, OnSignal);
      if (g_stop.load()) pipeline.Stop();  // a signal during the wait's last moments
      if (demo_mode) {
        if (cird::RunDemo(config, pipeline, demo, http.port()) != 0) code = kRuntimeError;
      } else if (auto ran = pipeline.Run(); !ran) {
        log::Error("stopped on an error", {{"error", ran.error().ToString()}});
        code = kRuntimeError;
      }
      g_pipeline.store(nullptr);
    }
    refreshing = false;
    refresher.join();
    http.Stop();  // no handler may run once the register below is closed
    health_http.Stop();
    api.Attach(nullptr);
  }
  if (temp_dir) fs::remove_all(config.data_dir);
  return code;
}
