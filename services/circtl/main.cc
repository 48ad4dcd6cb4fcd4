// circtl: the command-line tool for the continual improvement register.
//
// Every subcommand has its own option variables: CLI11 reads the environment variables of the
// subcommands that were not given too, so options shared through one variable would let
// CIR_DATA_DIR (or CIRCTL_API, …) overwrite a flag given on the command line.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cir/model/flags.h"
#include "offline.h"
#include "online.h"

namespace {

using namespace cir::services;

constexpr const char* kDefaultApi = "http://127.0.0.1:8080";

// The options of one offline subcommand.
struct OfflineFlags {
  std::string data_dir;
  cir::model::ModelFlags model;
  int progress = 0;
};

void AddDataDir(CLI::App& cmd, OfflineFlags& flags, const std::string& what) {
  cmd.add_option("--data-dir", flags.data_dir, what)->required()->envname("CIR_DATA_DIR");
}

void AddProgress(CLI::App& cmd, OfflineFlags& flags) {
  cmd.add_flag_callback("--progress", [&flags] { flags.progress = 1; },
                        "report progress on stderr (default: only when stderr is a terminal)");
  cmd.add_flag_callback("--no-progress", [&flags] { flags.progress = -1; },
                        "never report progress");
}

// verify and rebuild: one pass over an existing register, with progress and the model's limits.
CLI::App* AddRegisterPass(CLI::App& app, const std::string& name, const std::string& help,
                          OfflineFlags& flags) {
  CLI::App* cmd = app.add_subcommand(name, help);
  AddDataDir(*cmd, flags, "register directory");
  AddProgress(*cmd, flags);
  flags.model.Register(*cmd);
  return cmd;
}

void AddApi(CLI::App& cmd, ApiTarget& api) {
  cmd.add_option("--api", api.url, "cird's HTTP address")
      ->envname("CIRCTL_API")
      ->default_str(kDefaultApi);
  cmd.add_flag("--json", api.json, "print the API's JSON instead of a table");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"circtl — the continual improvement register's command-line tool.\n"
               "Exit codes: 0 ok, 1 bad input lines or register problems found, 2 usage or "
               "configuration error, 3 register error.\n"
               "A flag given on the command line always beats its environment variable."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "circtl 0.1.0");
  app.footer(
      "replay, verify and rebuild take the model's limits: --stall-limit STEP=DURATION, "
      "--momentum-limit (default 60d) and --lessons-limit (default 30d, 0 = off; "
      "LESSONS_NOT_RECORDED) — the same as cird's (CIR_STALL_LIMITS, CIR_MOMENTUM_LIMIT, "
      "CIR_LESSONS_LIMIT). Durations: a whole number and a unit (ms, s, m, h, d), at most 100 "
      "years. Alert kinds: STEP_SKIPPED, STALLED, TARGET_AT_RISK, TARGET_OVERDUE, TARGET_MISSED, "
      "MOMENTUM_NOT_SUSTAINED, BENEFIT_EROSION, LESSONS_NOT_RECORDED.");

  OfflineFlags replay_flags;
  ReplayOptions replay;
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "Append a file of value-chain events (JSON, one a line) to a register without "
                "Kafka, printing every transition and alert as a JSON line. Blank lines and "
                "lines starting with # are skipped. Time is simulated: timers fire at their "
                "due-times as the events' times pass.");
  AddDataDir(*replay_cmd, replay_flags, "register directory (created if missing)");
  replay_cmd->add_option("file", replay.file, "JSON lines file, or - for standard input")
      ->required();
  replay_cmd->add_option("--partition", replay.partition, "partition to append to")
      ->capture_default_str();
  replay_cmd->add_option("--until", replay.until,
                         "after the last line, fire timers due up to this RFC 3339 time "
                         "(default: the last event time)");
  replay_cmd->add_flag("--sync", replay.sync, "fsync every batch (off: a crash of the machine, "
                                              "not of circtl, may lose the last lines)");
  AddProgress(*replay_cmd, replay_flags);
  replay_flags.model.Register(*replay_cmd);

  OfflineFlags show_flags;
  ShowOptions show;
  CLI::App* show_cmd =
      app.add_subcommand("show", "Print an initiative (step, KPIs, actions, alerts) and its history.");
  AddDataDir(*show_cmd, show_flags, "register directory");
  show_cmd->add_option("id", show.initiative_id, "initiative id")->required();
  show_cmd->add_flag("--json", show.json, "one JSON object: {initiative, history}");

  OfflineFlags verify_flags;
  VerifyOptions verify;
  CLI::App* verify_cmd = AddRegisterPass(
      app, "verify", "Check the register's invariants: streams, dedupe index, projections against a "
                     "rebuild, due-time index, outbox. Use the same model limits as the writer.",
      verify_flags);

  OfflineFlags rebuild_flags;
  VerifyOptions rebuild;
  rebuild.rebuild = true;
  AddRegisterPass(
      app, "rebuild", "Recompute every projection and the due-time index from the event streams.",
      rebuild_flags);

  OfflineFlags repair_flags;
  VerifyOptions repair;
  repair.repair = true;
  CLI::App* repair_cmd = app.add_subcommand(
      "repair", "Make a register readable that holds records protobuf cannot parse (invalid UTF-8 "
                "written by cir before 0.2): re-encode them with the bad bytes escaped (\\xNN), "
                "park outbox records beyond that, reindex the dedupe index, rebuild projections. "
                "Stop cird first.");
  AddDataDir(*repair_cmd, repair_flags, "register directory");
  repair_flags.model.Register(*repair_cmd);

  OfflineFlags parked_flags;
  bool parked_json = false;
  CLI::App* parked_cmd = app.add_subcommand(
      "parked", "List outbox records moved aside for good (refused by Kafka, or unreadable).");
  AddDataDir(*parked_cmd, parked_flags, "register directory");
  parked_cmd->add_flag("--json", parked_json, "one JSON object a line");

  // ---- online: cird's API, or Kafka ----
  ApiTarget get_api;
  std::string get_id;
  CLI::App* get_cmd = app.add_subcommand("get", "Show one initiative through cird's API: step, "
                                                "principles, targets with progress, alerts.");
  AddApi(*get_cmd, get_api);
  get_cmd->add_option("id", get_id, "initiative id")->required();

  ApiTarget list_api;
  ListFilters filters;
  CLI::App* list_cmd = app.add_subcommand(
      "list", "List initiatives through cird's API, one page (--page-size, default 50) or every "
              "page (--all). With --json: {initiatives, total_matching, next_page_token} — the "
              "token (absent on the last page) goes to --page-token for the next page.");
  AddApi(*list_cmd, list_api);
  list_cmd->add_option("--step", filters.step, "vision … momentum, closed");
  list_cmd->add_option("--outcome", filters.outcome, "successful, unsuccessful, withdrawn");
  list_cmd->add_option("--activity", filters.activity, "plan, engage, design_transition, …");
  list_cmd->add_option("--owner", filters.owner, "owner, exactly");
  list_cmd->add_option("--tag", filters.tag, "a tag the initiative carries");
  list_cmd->add_option("--alert-kind", filters.alert_kind, "with an alert of this kind firing");
  list_cmd->add_option("--sort", filters.sort, "id (default), updated_at, created_at, step");
  list_cmd->add_option("--page-size", filters.page_size, "initiatives per page (1..200)");
  list_cmd->add_option("--page-token", filters.page_token,
                       "start at this page (next_page_token of the previous one, same filters)");
  list_cmd->add_flag("--all", filters.all, "follow every page");

  ApiTarget history_api;
  std::string history_id;
  bool transitions = false;
  CLI::App* history_cmd = app.add_subcommand(
      "history", "An initiative's events (or, with --transitions, its step transitions).");
  AddApi(*history_cmd, history_api);
  history_cmd->add_option("id", history_id, "initiative id")->required();
  history_cmd->add_flag("--transitions", transitions, "step transitions instead of events");

  ApiTarget alerts_api;
  std::string kind;
  CLI::App* alerts_cmd = app.add_subcommand("alerts", "Momentum alerts firing now.");
  AddApi(*alerts_cmd, alerts_api);
  alerts_cmd->add_option("--kind", kind, "stalled, target_at_risk, …");

  ApiTarget stats_api;
  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Counts per step and outcome, alerts firing by kind, cycle time per step.");
  AddApi(*stats_cmd, stats_api);

  // publish's two destinations exclude each other, so their environment variables are read
  // here, after parsing, and only when neither flag was given.
  PublishOptions publish;
  CLI::App* publish_cmd = app.add_subcommand(
      "publish", "Validate value-chain events (a JSON-lines FILE and/or --event JSON) and publish "
                 "them: to cird's API (--api, or CIRCTL_API; bearer token from CIRCTL_API_TOKEN) "
                 "or to Kafka directly (--brokers, or CIRCTL_BROKERS; --topic) as CloudEvents. "
                 "A flag beats both variables; with neither flag, exactly one variable must be "
                 "set.");
  publish_cmd->add_option("file", publish.file, "JSON lines; - for standard input");
  publish_cmd->add_option("--event", publish.events, "one event as JSON (repeatable)");
  CLI::Option* publish_api =
      publish_cmd->add_option("--api", publish.api_url, "cird's HTTP address (env CIRCTL_API)");
  CLI::Option* publish_brokers = publish_cmd->add_option(
      "--brokers", publish.brokers, "Kafka bootstrap servers (env CIRCTL_BROKERS)");
  publish_cmd->add_option("--topic", publish.topic, "value-chain topic")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  // Online commands.
  for (ApiTarget* api : {&get_api, &list_api, &history_api, &alerts_api, &stats_api}) {
    if (api->url.empty()) api->url = kDefaultApi;
  }
  if (*get_cmd) return GetInitiative(get_api, get_id, std::cout, std::cerr);
  if (*list_cmd) return ListInitiatives(list_api, filters, std::cout, std::cerr);
  if (*history_cmd) return History(history_api, history_id, transitions, std::cout, std::cerr);
  if (*alerts_cmd) return Alerts(alerts_api, kind, std::cout, std::cerr);
  if (*stats_cmd) return RegisterStats(stats_api, std::cout, std::cerr);
  if (*publish_cmd) {
    if (publish_api->count() == 0 && publish_brokers->count() == 0) {
      if (const char* url = std::getenv("CIRCTL_API")) publish.api_url = url;
      if (const char* brokers = std::getenv("CIRCTL_BROKERS")) publish.brokers = brokers;
    }
    if (const char* token = std::getenv("CIRCTL_API_TOKEN")) publish.token = token;
    return Publish(publish, std::cout, std::cerr);
  }

  // Offline commands.
  OfflineFlags& flags = *replay_cmd ? replay_flags
                        : *show_cmd ? show_flags
                        : *verify_cmd ? verify_flags
                        : *repair_cmd ? repair_flags
                        : *parked_cmd ? parked_flags
                                      : rebuild_flags;
  auto config = flags.model.ToConfig();
  if (!config) {
    std::cerr << "circtl: " << config.error().message << "\n";
    return kExitUsage;
  }
  if (*replay_cmd) {
    replay.data_dir = flags.data_dir;
    replay.progress = flags.progress;
    replay.model = *config;
    return Replay(replay, std::cout, std::cerr);
  }
  if (*show_cmd) {
    show.data_dir = flags.data_dir;
    show.model = *config;
    return Show(show, std::cout, std::cerr);
  }
  if (*parked_cmd) return ListParked(flags.data_dir, parked_json, std::cout, std::cerr);
  if (*repair_cmd) {
    repair.data_dir = flags.data_dir;
    repair.model = *config;
    return Verify(repair, std::cout, std::cerr);
  }
  VerifyOptions& check = *verify_cmd ? verify : rebuild;
  check.data_dir = flags.data_dir;
  check.progress = flags.progress;
  check.model = *config;
  return Verify(check, std::cout, std::cerr);
}
