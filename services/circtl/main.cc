// circtl: the command-line tool for the continual improvement register.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "model_flags.h"
#include "offline.h"
#include "online.h"

int main(int argc, char** argv) {
  using namespace cir::services;
  CLI::App app{"circtl — the continual improvement register's command-line tool.\n"
               "Exit codes: 0 ok, 1 bad input lines or register problems found, 2 usage or "
               "configuration error, 3 register error."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "circtl 0.1.0");
  app.footer(
      "replay, verify and rebuild take the model's limits: --stall-limit STEP=DURATION, "
      "--momentum-limit (default 60d) and --lessons-limit (default 30d, 0 = off; "
      "LESSONS_NOT_RECORDED) — the same as cird's (CIR_STALL_LIMITS, CIR_MOMENTUM_LIMIT, "
      "CIR_LESSONS_LIMIT). Durations: a whole number and a unit (ms, s, m, h, d), at most 100 "
      "years. Alert kinds: STEP_SKIPPED, STALLED, TARGET_AT_RISK, TARGET_OVERDUE, TARGET_MISSED, "
      "MOMENTUM_NOT_SUSTAINED, BENEFIT_EROSION, LESSONS_NOT_RECORDED.");

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

  // ---- online: cird's API, or Kafka ----
  ApiTarget api;
  auto add_api = [&api](CLI::App* cmd) {
    cmd->add_option("--api", api.url, "cird's HTTP address")
        ->envname("CIRCTL_API")
        ->default_str("http://127.0.0.1:8080");
    cmd->add_flag("--json", api.json, "print the API's JSON instead of a table");
  };
  std::string id;
  CLI::App* get_cmd = app.add_subcommand("get", "Show one initiative through cird's API: step, "
                                                "principles, targets with progress, alerts.");
  add_api(get_cmd);
  get_cmd->add_option("id", id, "initiative id")->required();

  ListFilters filters;
  CLI::App* list_cmd = app.add_subcommand("list", "List initiatives through cird's API.");
  add_api(list_cmd);
  list_cmd->add_option("--step", filters.step, "vision … momentum, closed");
  list_cmd->add_option("--outcome", filters.outcome, "successful, unsuccessful, withdrawn");
  list_cmd->add_option("--activity", filters.activity, "plan, engage, design_transition, …");
  list_cmd->add_option("--owner", filters.owner, "owner, exactly");
  list_cmd->add_option("--tag", filters.tag, "a tag the initiative carries");
  list_cmd->add_option("--alert-kind", filters.alert_kind, "with an alert of this kind firing");
  list_cmd->add_option("--sort", filters.sort, "id (default), updated_at, created_at, step");
  list_cmd->add_option("--page-size", filters.page_size, "initiatives per page (1..200)");
  list_cmd->add_flag("--all", filters.all, "follow every page");

  bool transitions = false;
  CLI::App* history_cmd = app.add_subcommand(
      "history", "An initiative's events (or, with --transitions, its step transitions).");
  add_api(history_cmd);
  history_cmd->add_option("id", id, "initiative id")->required();
  history_cmd->add_flag("--transitions", transitions, "step transitions instead of events");

  std::string kind;
  CLI::App* alerts_cmd = app.add_subcommand("alerts", "Momentum alerts firing now.");
  add_api(alerts_cmd);
  alerts_cmd->add_option("--kind", kind, "stalled, target_at_risk, …");

  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Counts per step and outcome, alerts firing by kind, cycle time per step.");
  add_api(stats_cmd);

  PublishOptions publish;
  CLI::App* publish_cmd = app.add_subcommand(
      "publish", "Validate value-chain events (a JSON-lines FILE and/or --event JSON) and publish "
                 "them: to cird's API (--api; bearer token from CIRCTL_API_TOKEN) or to Kafka "
                 "directly (--brokers, --topic) as CloudEvents.");
  publish_cmd->add_option("file", publish.file, "JSON lines; - for standard input");
  publish_cmd->add_option("--event", publish.events, "one event as JSON (repeatable)");
  publish_cmd->add_option("--api", publish.api_url, "cird's HTTP address");
  publish_cmd->add_option("--brokers", publish.brokers, "Kafka bootstrap servers")
      ->envname("CIRCTL_BROKERS");
  publish_cmd->add_option("--topic", publish.topic, "value-chain topic")->capture_default_str();

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
  if (api.url.empty()) api.url = "http://127.0.0.1:8080";
  if (*get_cmd) return GetInitiative(api, id, std::cout, std::cerr);
  if (*list_cmd) return ListInitiatives(api, filters, std::cout, std::cerr);
  if (*history_cmd) return History(api, id, transitions, std::cout, std::cerr);
  if (*alerts_cmd) return Alerts(api, kind, std::cout, std::cerr);
  if (*stats_cmd) return RegisterStats(api, std::cout, std::cerr);
  if (*publish_cmd) {
    if (const char* token = std::getenv("CIRCTL_API_TOKEN")) publish.token = token;
    return Publish(publish, std::cout, std::cerr);
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
