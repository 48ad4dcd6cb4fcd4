// circtl: the command-line tool for the continual improvement register.
#include <CLI/CLI.hpp>

#include <iostream>

#include "model_flags.h"
#include "offline.h"

int main(int argc, char** argv) {
  using namespace cir::services;
  CLI::App app{"circtl — the continual improvement register's command-line tool.\n"
               "Exit codes: 0 ok, 1 bad input lines or register problems found, 2 usage or "
               "configuration error, 3 register error."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "circtl 0.1.0");

  ModelFlags model_flags;
  std::string data_dir;

  ReplayOptions replay;
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "Append a file of value-chain events (JSON, one a line) to a register without "
                "Kafka, printing every transition and alert as a JSON line. Blank lines and "
                "lines starting with # are skipped. Time is simulated: timers fire at their "
                "due-times as the events' times pass.");
  replay_cmd->add_option("--data-dir", data_dir, "register directory (created if missing)")
      ->required()
      ->envname("CIR_DATA_DIR");
  replay_cmd->add_option("file", replay.file, "JSON lines file, or - for standard input")
      ->required();
  replay_cmd->add_option("--partition", replay.partition, "partition to append to")
      ->capture_default_str();
  replay_cmd->add_option("--until", replay.until,
                         "after the last line, fire timers due up to this RFC 3339 time "
                         "(default: the last event time)");
  replay_cmd->add_flag("--sync", replay.sync, "fsync every batch (off: a crash of the machine, "
                                              "not of circtl, may lose the last lines)");
  model_flags.Register(*replay_cmd);

  ShowOptions show;
  CLI::App* show_cmd =
      app.add_subcommand("show", "Print an initiative (step, KPIs, actions, alerts) and its history.");
  show_cmd->add_option("--data-dir", data_dir, "register directory")
      ->required()
      ->envname("CIR_DATA_DIR");
  show_cmd->add_option("id", show.initiative_id, "initiative id")->required();
  show_cmd->add_flag("--json", show.json, "one JSON object: {initiative, history}");

  VerifyOptions verify;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "Check the register's invariants: streams, dedupe index, projections against a "
                "rebuild, due-time index, outbox. Use the same model limits as the writer.");
  verify_cmd->add_option("--data-dir", data_dir, "register directory")
      ->required()
      ->envname("CIR_DATA_DIR");
  model_flags.Register(*verify_cmd);

  VerifyOptions rebuild;
  rebuild.rebuild = true;
  CLI::App* rebuild_cmd = app.add_subcommand(
      "rebuild", "Recompute every projection and the due-time index from the event streams.");
  rebuild_cmd->add_option("--data-dir", data_dir, "register directory")
      ->required()
      ->envname("CIR_DATA_DIR");
  model_flags.Register(*rebuild_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  auto config = model_flags.ToConfig();
  if (!config) {
    std::cerr << "circtl: " << config.error().message << "\n";
    return kExitUsage;
  }
  if (*replay_cmd) {
    replay.data_dir = data_dir;
    replay.model = *config;
    return Replay(replay, std::cout, std::cerr);
  }
  if (*show_cmd) {
    show.data_dir = data_dir;
    show.model = *config;
    return Show(show, std::cout, std::cerr);
  }
  if (*verify_cmd) {
    verify.data_dir = data_dir;
    verify.model = *config;
    return Verify(verify, std::cout, std::cerr);
  }
  rebuild.data_dir = data_dir;
  rebuild.model = *config;
  return Verify(rebuild, std::cout, std::cerr);
}
