// cird: the continual improvement register service. This file is wiring only: flags, signals,
// then the parts in the order they come up (startup.h, http_server.h, api.h, pipeline.h,
// stats_refresher.h); `cird demo` is in demo.cc.
//
//   cird --brokers HOST:PORT --data-dir DIR           the service against a Kafka cluster
//   cird --embedded-kafka                             the same on an in-process mock cluster
//   cird demo [--keep]                                embedded Kafka + the sample scenario
#include <CLI/CLI.hpp>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>
#include <vector>
#include <optional>

#include "api.h"
#include "cir/base/enum_name.h"
#include "cir/base/log.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "config.h"
#include "demo.h"
#include "http_server.h"
#include "pipeline.h"
#include "probe.h"
#include "startup.h"
#include "stats_refresher.h"

namespace {

using namespace cir;

enum Exit : int { kOk = 0, kRuntimeError = 1, kConfigError = 2 };
constexpr const char* kVersion = "0.1.0";

// SIGTERM/SIGINT: installed first thing, so that a signal during start-up (Kafka can take
// --startup-timeout to answer) stops cird too. Both are lock-free atomics (async-signal-safe).
std::atomic<bool> g_stop_requested{false};
std::atomic<cird::Pipeline*> g_pipeline{nullptr};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<void*>::is_always_lock_free);

extern "C" void OnSignal(int) {
  g_stop_requested.store(true);
  if (auto* p = g_pipeline.load()) p->Stop();
}

// Parses the command line into `config`; nullopt to go on, else the exit code (--help, errors).
std::optional<int> ParseFlags(int argc, char** argv, cird::Config& config,
                              cird::DemoOptions& demo, bool& demo_mode) {
  CLI::App app{"cird — the continual improvement register service: consumes value-chain events "
               "from Kafka, appends them to a RocksDB register, and emits step transitions and "
               "momentum alerts to Kafka.\nExit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime "
               "error, 2 bad configuration."};
  app.set_version_flag("--version", std::string("cird ") + kVersion);
  app.fallthrough();
  config.Register(app);
  CLI::App* demo_cmd = cird::AddDemoCommand(app, demo);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print to stdout; a bad command line is a log line like any error.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    log::Error("bad command line", {{"error", e.what()}, {"hint", "cird --help lists the flags"}});
    return kConfigError;
  }
  demo_mode = demo_cmd->parsed();
  if (demo_mode) cird::ApplyDemoDefaults(app, config, demo);
  log::SetMinLevel(config.log_level == "debug"   ? log::Level::kDebug
                   : config.log_level == "warn"  ? log::Level::kWarn
                   : config.log_level == "error" ? log::Level::kError
                                                 : log::Level::kInfo);
  if (auto ok = config.Validate(); !ok) {
    log::Error("bad configuration", {{"error", ok.error().message}});
    return kConfigError;
  }
  return std::nullopt;
}

// Opens the register; on a full or read-only disk waits and tries again (100 ms doubling to 5 s,
// logged when the wait starts and ends) until it opens, a signal stops it (nullptr), or another
// error. /livez stays up meanwhile (the heartbeat) and /readyz says why cird is not ready.
Result<std::unique_ptr<storage::Register>> OpenWaiting(const storage::Options& options,
                                                       cird::Probe& probe) {
  using namespace std::chrono;
  milliseconds backoff(100);
  bool waiting = false;
  v1::WriteStallReason waited_for = v1::WRITE_STALL_REASON_UNSPECIFIED;  // of the first failed open
  while (true) {
    probe.Heartbeat();
    if (auto space = storage::DiskSpaceOf(options.path)) probe.SetDataDirSpace(*space);
    auto reg = storage::Register::Open(options);
    if (reg || !storage::IsDiskStall(reg.error())) {
      if (waiting && reg) {
        probe.WriteResumed();
        log::Info(waited_for == v1::WRITE_STALL_REASON_READ_ONLY
                      ? "register opened: the disk is writable again"
                      : "register opened: the disk has room again",
                  {{"data_dir", options.path}, {"reason", base::EnumLabel(waited_for)}});
      }
      return reg;
    }
    log::Debug("register open failed; retrying", {{"error", reg.error().message}});
    if (!waiting) {
      waiting = true;
      waited_for = storage::DiskStallReason(reg.error());
      probe.WriteStalled(waited_for, reg.error().message);
      log::Error("cannot open the register for now; waiting for the disk and trying again "
                 "(see the CirRegisterDiskFull runbook)",
                 {{"reason", base::EnumLabel(waited_for)},
                  {"error", reg.error().message},
                  {"data_dir", options.path}});
    }
    const auto until = steady_clock::now() + backoff;
    while (steady_clock::now() < until) {
      if (g_stop_requested.load()) return nullptr;
      probe.Heartbeat();
      std::this_thread::sleep_for(milliseconds(50));
    }
    backoff = std::min(backoff * 2, milliseconds(5000));
  }
}

// Opens the register, then starts and runs the pipeline (or the demo) until a signal or an
// error; the register-wide gauges are refreshed meanwhile. Returns the exit code.
// `servers` are stopped before the register is closed: no handler may run once it is.
int RunRegister(const cird::Config& config, const storage::Projector& projector, cird::Api& api,
                cird::Probe& probe, const cird::DemoOptions* demo,
                std::vector<cird::HttpServer*> servers, int http_port) {
  storage::Options options;
  options.path = config.data_dir;
  // Appends are written unsynced; the pipeline syncs once per flush (group commit, --sync).
  options.sync = false;
  options.block_cache_bytes = config.block_cache_mb << 20;
  options.write_buffer_bytes = config.write_buffer_mb << 20;
  auto reg = OpenWaiting(options, probe);
  if (!reg) {
    log::Error("cannot open the register",
               {{"error", reg.error().ToString()}, {"data_dir", config.data_dir}});
    return kRuntimeError;
  }
  if (*reg == nullptr) {
    log::Info("stopped while waiting to open the register");
    return kOk;
  }
  api.Attach(reg->get());
  struct Detach {  // destroyed before `reg`
    cird::Api& api;
    std::vector<cird::HttpServer*> servers;
    ~Detach() {
      for (auto* server : servers) server->Stop();
      api.Attach(nullptr);
    }
  } detach{api, servers};
  cird::Pipeline pipeline(config, **reg, projector, storage::SystemClock(), probe);
  g_pipeline.store(&pipeline);
  struct Unpublish {
    ~Unpublish() { g_pipeline.store(nullptr); }
  } unpublish;
  if (g_stop_requested.load()) pipeline.Stop();  // a signal before the pipeline was published
  cird::StatsRefresher refresher(cird::StatsSource::Of(**reg), probe, storage::SystemClock(),
                                 [&pipeline] { return pipeline.OwnedPartitions(); },
                                 config.stats_interval);
  refresher.Start();
  if (auto ok = pipeline.Start(); !ok) {
    if (g_stop_requested.load()) {
      log::Info("stopped during start-up (signal)", {{"detail", ok.error().message}});
      return kOk;
    }
    log::Error("start-up failed", {{"error", ok.error().message}});
    return ok.error().code == ErrorCode::kInvalidArgument ||
                   ok.error().code == ErrorCode::kFailedPrecondition
               ? kConfigError
               : kRuntimeError;
  }
  if (demo != nullptr) {
    return cird::RunDemo(config, pipeline, *demo, http_port) != 0 ? kRuntimeError : kOk;
  }
  if (auto ran = pipeline.Run(); !ran) {
    log::Error("stopped on an error", {{"error", ran.error().ToString()}});
    return kRuntimeError;
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  log::RouteProtobufLogs();  // first: every stderr line is a JSON log line
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  cird::Config config;
  cird::DemoOptions demo;
  bool demo_mode = false;
  if (auto exit = ParseFlags(argc, argv, config, demo, demo_mode)) return *exit;
  auto model_config = config.model_flags.ToConfig();  // validated above

  std::unique_ptr<events::MockCluster> mock;
  if (config.embedded_kafka) {
    auto started = cird::StartEmbeddedKafka(config);
    if (!started) {
      log::Error("cannot start embedded Kafka", {{"error", started.error().message}});
      return kRuntimeError;
    }
    mock = std::move(*started);
  }
  cird::TempDataDir temp_dir;  // removed last, after the register is closed
  if (auto made = temp_dir.Apply(config); !made) {
    log::Error("cannot create a temporary data directory", {{"error", made.error().message}});
    return kRuntimeError;
  }

  // Metrics and health come up first, so that /livez answers while Kafka is still joining.
  // With --health-port they also have a listener and threads of their own.
  cird::Probe probe(kVersion);
  probe.SetReadyBounds(config.ready_max_lag,
                       std::chrono::duration<double>(config.ready_max_outbox_age).count());
  cird::HttpServer http;
  cird::HttpServer health_http;
  cird::AddHealthRoutes(http, probe);
  cird::AddHealthRoutes(health_http, probe);
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
  if (auto ok = http.Start(config.http_address, config.http_port, cird::ApiHttpLimits(config));
      !ok) {
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
    if (auto ok = health_http.Start(config.http_address, config.health_port,
                                    cird::HealthHttpLimits(config));
        !ok) {
      log::Error("cannot start the health server (--http-address/--health-port)",
                 {{"error", ok.error().message}});
      return kConfigError;
    }
    log::Info("health listening", {{"address", config.http_address}, {"port", health_http.port()}});
  }
  return RunRegister(config, *projector, api, probe, demo_mode ? &demo : nullptr,
                     {&http, &health_http}, http.port());
}
