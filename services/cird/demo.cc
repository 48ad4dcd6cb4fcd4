#include "demo.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cir/base/log.h"
#include "cir/events/cloudevents.h"
#include "cir/events/kafka.h"

namespace cir::cird {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string DefaultScenario() {
  for (const fs::path& candidate :
       {fs::path("events/samples/scenario.jsonl"),
        fs::path(CIR_SOURCE_DIR) / "events/samples/scenario.jsonl"}) {
    if (fs::exists(candidate)) return candidate.string();
  }
  return "events/samples/scenario.jsonl";
}

// True when `flag` was given on the command line or its environment variable is set.
bool Given(const CLI::App& app, const char* flag, const char* env) {
  return app.count(flag) > 0 || std::getenv(env) != nullptr;
}

// Publishes the scenario as binary-mode CloudEvents with JSON data, the way a pipeline would.
Result<std::size_t> Publish(const Config& config, const std::string& file) {
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
Result<std::size_t> PrintOutputs(const Config& config, const Pipeline& pipeline,
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
    auto line = events::ToJson(*output);
    if (!line) {
      log::Warn("unprintable output", {{"error", line.error().message}});
      continue;
    }
    std::cout << *line << std::endl;
    ++printed;
    last_output = std::chrono::steady_clock::now();
  }
  return printed;
}

// circtl beside cird in the build tree (build/default/services/{cird,circtl}), else from PATH.
std::string Circtl() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path sibling = self.parent_path().parent_path() / "circtl" / "circtl";
    if (fs::exists(sibling, error)) return sibling.string();
  }
  return "circtl";
}

void PrintHowToExplore(const Config& config, int http_port) {
  const std::string host = config.http_address == "0.0.0.0" ? "127.0.0.1" : config.http_address;
  const std::string api = "http://" + host + ":" + std::to_string(http_port);
  const std::string circtl = Circtl();
  std::cout << "# cird keeps running with the sample register: API at " << api << ", pid "
            << ::getpid() << ", Kafka at " << config.brokers << ", register in "
            << config.data_dir << "\n"
            << "# try:\n"
            << "#   export CIRCTL_API=" << api << "\n"
            << "#   " << circtl << " list\n"
            << "#   " << circtl << " get CSAT\n"
            << "#   " << circtl << " history CHANGE-FAIL --transitions\n"
            << "#   " << circtl << " alerts\n"
            << "#   " << circtl << " stats\n"
            << "# stop it: kill " << ::getpid()
            << std::endl;
}

}  // namespace

CLI::App* AddDemoCommand(CLI::App& app, DemoOptions& demo) {
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run on embedded Kafka, publish the sample scenario, print the transitions and "
              "alerts as they come back (in the order `circtl replay` prints them), then stop. "
              "Implies --embedded-kafka and --time=event; unless given, HTTP on a free port of "
              "127.0.0.1, --embedded-partitions 1 and --alerts-topic = --transitions-topic "
              "(Kafka orders records only within one partition of one topic).");
  cmd->add_option("--scenario", demo.scenario,
                  "JSON-lines file of value-chain events (default: the shipped sample)");
  cmd->add_flag("--keep", demo.keep,
                "keep running after the outputs: print (as '# ' lines) the API address, the "
                "circtl commands to try and how to stop it, and serve until SIGTERM/SIGINT");
  return cmd;
}

void ApplyDemoDefaults(const CLI::App& app, Config& config, DemoOptions& demo) {
  config.embedded_kafka = true;
  config.time_mode = TimeMode::kEvent;
  // Any free port: the demo must not collide with a running cird (or anything on 8080).
  if (!Given(app, "--http-port", "CIRD_HTTP_PORT")) config.http_port = 0;
  if (!Given(app, "--http-address", "CIRD_HTTP_ADDRESS")) config.http_address = "127.0.0.1";
  if (!Given(app, "--embedded-partitions", "CIRD_EMBEDDED_PARTITIONS")) {
    config.embedded_partitions = 1;
  }
  if (!Given(app, "--alerts-topic", "CIRD_ALERTS_TOPIC")) {
    config.alerts_topic = config.transitions_topic;
  }
  if (demo.scenario.empty()) demo.scenario = DefaultScenario();
}

int RunDemo(const Config& config, Pipeline& pipeline, const DemoOptions& demo, int http_port) {
  Result<void> run_result;
  std::thread ingest([&] { run_result = pipeline.Run(); });
  auto published = Publish(config, demo.scenario);
  Result<std::size_t> printed = published ? PrintOutputs(config, pipeline, *published, demo)
                                          : Result<std::size_t>(std::unexpected(published.error()));
  if (printed) {
    log::Info("demo finished", {{"published", *published},
                                {"printed", *printed},
                                {"dead_letters", pipeline.counters().dead_letters.load()}});
  }
  if (printed && demo.keep) {
    PrintHowToExplore(config, http_port);
  } else {
    pipeline.Stop();
  }
  ingest.join();  // with --keep: until a signal stops the pipeline
  int code = 0;
  if (!printed) {
    log::Error("demo failed", {{"error", printed.error().message}});
    code = 1;
  }
  if (!run_result) {
    log::Error("stopped on an error", {{"error", run_result.error().ToString()}});
    code = 1;
  }
  return code;
}

}  // namespace cir::cird
