// cird: the continual improvement register service.
//
//   cird --brokers HOST:PORT --data-dir DIR           the service against a Kafka cluster
//   cird --embedded-kafka                             the same on an in-process mock cluster
//   cird demo                                         embedded Kafka + the sample scenario
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

struct DemoOptions {
  std::string scenario;
  milliseconds idle{2500};
  milliseconds timeout{120000};
};

std::string DefaultScenario() {
  for (const fs::path& candidate :
       {fs::path("events/samples/scenario.jsonl"),
        fs::path(CIR_SOURCE_DIR) / "events/samples/scenario.jsonl"}) {
    if (fs::exists(candidate)) return candidate.string();
  }
  return "events/samples/scenario.jsonl";
}

// Publishes the scenario as binary-mode CloudEvents with JSON data, the way a pipeline would.
Result<std::size_t> Publish(const cird::Config& config, const std::string& file) {
  std::ifstream in(file);
  if (!in) return Fail(ErrorCode::kInvalidArgument, "cannot read scenario '" + file + "'");
  auto producer = events::Producer::Create({config.brokers, config.KafkaProperties()}, nullptr);
  if (!producer) return std::unexpected(producer.error());
  std::size_t published = 0;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    auto event = events::DecodeJson(line, config.limits);
    if (!event) {
      return Fail(ErrorCode::kInvalidArgument,
                  file + ":" + std::to_string(number) + ": " + event.error().message);
    }
    auto ok = (*producer)->Produce(config.input_topics.front(),
                                   events::EncodeEvent(*event, events::DataFormat::kJson), 0);
    if (!ok) return std::unexpected(ok.error());
    ++published;
  }
  if (auto ok = (*producer)->Flush(milliseconds(30000)); !ok) return std::unexpected(ok.error());
  return published;
}

// Prints transitions and alerts as they come back, until the pipeline has consumed everything
// published and no output arrived for `idle`.
Result<void> PrintOutputs(const cird::Config& config, const cird::Pipeline& pipeline,
                          std::size_t published, const DemoOptions& demo) {
  std::vector<std::string> topics{config.transitions_topic};
  if (config.alerts_topic != config.transitions_topic) topics.push_back(config.alerts_topic);
  auto reader = events::TopicReader::Create({config.brokers, config.KafkaProperties()}, topics,
                                            config.startup_timeout);
  if (!reader) return std::unexpected(reader.error());
  const auto start = std::chrono::steady_clock::now();
  auto last_output = start;
  std::size_t printed = 0;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now - start > demo.timeout) {
      return Fail(ErrorCode::kUnavailable, "demo did not finish within the timeout");
    }
    const bool consumed_all = pipeline.counters().records_consumed.load() >= published;
    if (!consumed_all) {
      last_output = now;  // the idle window starts once everything was consumed
    } else if (now - last_output > demo.idle) {
      break;
    }
    auto record = (*reader)->Poll(milliseconds(100));
    if (!record) continue;
    auto output = events::DecodeOutput(*record);
    if (!output) {
      log::Warn("undecodable output", {{"error", output.error().message}});
      continue;
    }
    std::cout << events::ToJson(*output) << std::endl;
    ++printed;
    last_output = std::chrono::steady_clock::now();
  }
  log::Info("demo finished", {{"published", published},
                              {"printed", printed},
                              {"dead_letters", pipeline.counters().dead_letters.load()}});
  return {};
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
  DemoOptions demo;
  CLI::App* demo_cmd = app.add_subcommand(
      "demo", "Run on embedded Kafka, publish the sample scenario, print the transitions and "
              "alerts as they come back, then stop. Implies --embedded-kafka and --time=event.");
  demo_cmd->add_option("--scenario", demo.scenario,
                       "JSON-lines file of value-chain events (default: the shipped sample)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print to stdout; a bad command line is a log line like any error.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    log::Error("bad command line", {{"error", e.what()}, {"hint", "cird --help lists the flags"}});
    return kConfigError;
  }
  const bool demo_mode = demo_cmd->parsed();
  if (demo_mode) {
    if (app.count("--http-port") == 0 && std::getenv("CIRD_HTTP_PORT") == nullptr) {
      config.http_port = 0;  // any free port: the demo must not collide with a running cird
    }
    config.embedded_kafka = true;
    config.time_mode = cird::TimeMode::kEvent;
    if (demo.scenario.empty()) demo.scenario = DefaultScenario();
  }
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
    log::Error("cannot start the HTTP server", {{"error", ok.error().message}});
    return kConfigError;
  }
  log::Info("http listening", {{"address", config.http_address},
                               {"port", http.port()},
                               {"paths", "/metrics, /livez, /readyz, /v1/"}});

  int code = kOk;
  {
    storage::Options options;
    options.path = config.data_dir;
    options.sync = config.sync;
    options.block_cache_bytes = config.block_cache_mb << 20;
    auto reg = storage::Register::Open(options);
    if (!reg) {
      log::Error("cannot open the register",
                 {{"error", reg.error().ToString()}, {"data_dir", config.data_dir}});
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
      log::Error("start-up failed", {{"error", ok.error().message}});
      code = ok.error().code == ErrorCode::kInvalidArgument ||
                     ok.error().code == ErrorCode::kFailedPrecondition
                 ? kConfigError
                 : kRuntimeError;
    } else {
      g_pipeline.store(&pipeline);
      std::signal(SIGTERM, OnSignal);
      std::signal(SIGINT, OnSignal);
      if (demo_mode) {
        Result<void> run_result;
        std::thread ingest([&] { run_result = pipeline.Run(); });
        auto published = Publish(config, demo.scenario);
        Result<void> printed = published ? PrintOutputs(config, pipeline, *published, demo)
                                         : Result<void>(std::unexpected(published.error()));
        pipeline.Stop();
        ingest.join();
        if (!printed) {
          log::Error("demo failed", {{"error", printed.error().message}});
          code = kRuntimeError;
        }
        if (!run_result) {
          log::Error("stopped on an error", {{"error", run_result.error().ToString()}});
          code = kRuntimeError;
        }
      } else if (auto ran = pipeline.Run(); !ran) {
        log::Error("stopped on an error", {{"error", ran.error().ToString()}});
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
