// `cird demo`: cird on embedded Kafka with the sample scenario published to it, the transitions
// and alerts printed as they come back, then a stop — or, with --keep, a running cird with the
// sample register and its API to explore with circtl.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

#include "config.h"
#include "pipeline.h"

namespace cir::cird {

struct DemoOptions {
  std::string scenario;  // JSON lines; empty: the shipped sample
  bool keep = false;     // keep running after the outputs, until SIGTERM/SIGINT
  std::chrono::milliseconds idle{2500};
  std::chrono::milliseconds timeout{120000};
};

// Adds the `demo` subcommand and its flags to `app`.
CLI::App* AddDemoCommand(CLI::App& app, DemoOptions& demo);

// What the demo changes in `config` after parsing, unless the flag or its variable was given:
// embedded Kafka, event time, HTTP on a free loopback port, and one input partition with one
// output topic — Kafka keeps order only within a partition, so this is what makes the printed
// order the register's, the order `circtl replay` prints for the same file.
void ApplyDemoDefaults(const CLI::App& app, Config& config, DemoOptions& demo);

// Runs `pipeline` (started, not yet running) on a thread of its own, publishes the scenario,
// prints every output as a JSON line on stdout, and stops the pipeline — with `demo.keep`, first
// prints (as lines starting with "# ") the API address, the circtl commands to try and how to
// stop it, and waits for the pipeline to be stopped by a signal. Returns the exit code (0, or 1
// with the reason on stderr).
[[nodiscard]] int RunDemo(const Config& config, Pipeline& pipeline, const DemoOptions& demo,
                          int http_port);

}  // namespace cir::cird
