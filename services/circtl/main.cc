// circtl: the command-line tool for the continual improvement register.
//
// Every subcommand has its own option variables: CLI11 reads the environment variables of the
// subcommands that were not given too, so options shared through one variable would let
// CIR_DATA_DIR (or CIRCTL_API, …) overwrite a flag given on the command line.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cir/model/flags.h"
#include "offline.h"
#include "online.h"

namespace {

using namespace cir::services;

constexpr const char* kDefaultApi = "http://127.0.0.1:8080";

// A subcommand: its CLI11 node and what runs it once the command line has parsed. The runner
// owns the option variables CLI11 writes to.
struct Command {
  CLI::App* cmd;
  std::function<int()> run;
};

// The options of one offline subcommand.
struct OfflineFlags {
  std::string data_dir;
  cir::model::ModelFlags model;
  int progress = 0;
};

// An offline subcommand with its --data-dir (`what` describes the directory).
CLI::App* AddOffline(CLI::App& app, const std::string& name, const std::string& help,
                     OfflineFlags& flags, const std::string& what) {
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("--data-dir", flags.data_dir, what)->required()->envname("CIR_DATA_DIR");
  return cmd;
}

void AddProgress(CLI::App& cmd, OfflineFlags& flags) {
  cmd.add_flag_callback("--progress", [&flags] { flags.progress = 1; },
                        "report progress on stderr (default: only when stderr is a terminal)");
  cmd.add_flag_callback("--no-progress", [&flags] { flags.progress = -1; },
                        "never report progress");
}

// Runs `run` with the model's config from `flags`, or says why the flags give none.
int WithModel(const OfflineFlags& flags, const std::function<int(const cir::model::Config&)>& run) {
  auto config = flags.model.ToConfig();
  if (!config) {
    std::cerr << "circtl: " << config.error().message << "\n";
    return kExitUsage;
  }
  return run(*config);
}

Command AddReplay(CLI::App& app) {
  auto flags = std::make_shared<OfflineFlags>();
  auto replay = std::make_shared<ReplayOptions>();
  CLI::App* cmd = AddOffline(
      app, "replay",
      "Append a file of value-chain events (JSON, one a line) to a register without Kafka, "
      "printing every transition and alert as a JSON line. Blank lines and lines starting with # "
      "are skipped. Time is simulated: timers fire at their due-times as the events' times pass.",
      *flags, "register directory (created if missing)");
  cmd->add_option("file", replay->file, "JSON lines file, or - for standard input")->required();
  cmd->add_option("--partition", replay->partition, "partition to append to")
      ->capture_default_str();
  cmd->add_option("--until", replay->until,
                  "after the last line, fire timers due up to this RFC 3339 time "
                  "(default: the last event time)");
  cmd->add_flag("--sync", replay->sync, "fsync every batch (off: a crash of the machine, "
                                        "not of circtl, may lose the last lines)");
  AddProgress(*cmd, *flags);
  flags->model.Register(*cmd);
  return {cmd, [flags, replay] {
            return WithModel(*flags, [&](const cir::model::Config& config) {
              replay->data_dir = flags->data_dir;
              replay->progress = flags->progress;
              replay->model = config;
              return Replay(*replay, std::cout, std::cerr);
            });
          }};
}

Command AddShow(CLI::App& app) {
  auto flags = std::make_shared<OfflineFlags>();
  auto show = std::make_shared<ShowOptions>();
  CLI::App* cmd =
      AddOffline(app, "show", "Print an initiative (step, KPIs, actions, alerts) and its history.",
                 *flags, "register directory");
  cmd->add_option("id", show->initiative_id, "initiative id")->required();
  cmd->add_flag("--json", show->json, "one JSON object: {initiative, history}");
  return {cmd, [flags, show] {
            return WithModel(*flags, [&](const cir::model::Config& config) {
              show->data_dir = flags->data_dir;
              show->model = config;
              return Show(*show, std::cout, std::cerr);
            });
          }};
}

// verify, rebuild and repair: one pass over an existing register with the model's limits
// (verify and rebuild with progress too); `mode` says which.
Command AddRegisterPass(CLI::App& app, const std::string& name, const std::string& help,
                        VerifyOptions mode) {
  auto flags = std::make_shared<OfflineFlags>();
  CLI::App* cmd = AddOffline(app, name, help, *flags, "register directory");
  if (!mode.repair) AddProgress(*cmd, *flags);
  flags->model.Register(*cmd);
  return {cmd, [flags, mode] {
            return WithModel(*flags, [&](const cir::model::Config& config) {
              VerifyOptions options = mode;
              options.data_dir = flags->data_dir;
              options.progress = flags->progress;
              options.model = config;
              return Verify(options, std::cout, std::cerr);
            });
          }};
}

Command AddParked(CLI::App& app) {
  auto flags = std::make_shared<OfflineFlags>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = AddOffline(
      app, "parked", "List outbox records moved aside for good (refused by Kafka, or unreadable).",
      *flags, "register directory");
  cmd->add_flag("--json", *json, "one JSON object a line");
  return {cmd, [flags, json] { return ListParked(flags->data_dir, *json, std::cout, std::cerr); }};
}

// An online subcommand reading cird's API: --api and --json into `api`.
CLI::App* AddOnline(CLI::App& app, const std::string& name, const std::string& help,
                    ApiTarget& api) {
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("--api", api.url, "cird's HTTP address")
      ->envname("CIRCTL_API")
      ->default_str(kDefaultApi);
  cmd->add_flag("--json", api.json, "print the API's JSON instead of a table");
  return cmd;
}

// The API target of an online command once parsed (--api's default applies when neither the flag
// nor CIRCTL_API gave one).
const ApiTarget& Resolved(ApiTarget& api) {
  if (api.url.empty()) api.url = kDefaultApi;
  return api;
}

// get and history: one initiative by id (history with --transitions).
Command AddGet(CLI::App& app) {
  auto api = std::make_shared<ApiTarget>();
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = AddOnline(app, "get",
                            "Show one initiative through cird's API: step, principles, targets "
                            "with progress, alerts.",
                            *api);
  cmd->add_option("id", *id, "initiative id")->required();
  return {cmd, [api, id] { return GetInitiative(Resolved(*api), *id, std::cout, std::cerr); }};
}

Command AddList(CLI::App& app) {
  auto api = std::make_shared<ApiTarget>();
  auto filters = std::make_shared<ListFilters>();
  CLI::App* cmd = AddOnline(
      app, "list",
      "List initiatives through cird's API, one page (--page-size, default 50) or every page "
      "(--all). With --json: {initiatives, total_matching, next_page_token} — the token (absent "
      "on the last page) goes to --page-token for the next page.",
      *api);
  ListFilters& f = *filters;
  cmd->add_option("--step", f.step, "vision … momentum, closed");
  cmd->add_option("--outcome", f.outcome, "successful, unsuccessful, withdrawn");
  cmd->add_option("--activity", f.activity, "plan, engage, design_transition, …");
  cmd->add_option("--owner", f.owner, "owner, exactly");
  cmd->add_option("--tag", f.tag, "a tag the initiative carries");
  cmd->add_option("--alert-kind", f.alert_kind, "with an alert of this kind firing");
  cmd->add_option("--sort", f.sort, "id (default), updated_at, created_at, step");
  cmd->add_option("--page-size", f.page_size, "initiatives per page (1..200)");
  cmd->add_option("--page-token", f.page_token,
                  "start at this page (next_page_token of the previous one, same filters)");
  cmd->add_flag("--all", f.all, "follow every page");
  return {cmd,
          [api, filters] { return ListInitiatives(Resolved(*api), *filters, std::cout, std::cerr); }};
}

Command AddHistory(CLI::App& app) {
  auto api = std::make_shared<ApiTarget>();
  auto id = std::make_shared<std::string>();
  auto transitions = std::make_shared<bool>(false);
  CLI::App* cmd = AddOnline(
      app, "history", "An initiative's events (or, with --transitions, its step transitions).",
      *api);
  cmd->add_option("id", *id, "initiative id")->required();
  cmd->add_flag("--transitions", *transitions, "step transitions instead of events");
  return {cmd, [api, id, transitions] {
            return History(Resolved(*api), *id, *transitions, std::cout, std::cerr);
          }};
}

Command AddAlerts(CLI::App& app) {
  auto api = std::make_shared<ApiTarget>();
  auto kind = std::make_shared<std::string>();
  CLI::App* cmd = AddOnline(app, "alerts", "Momentum alerts firing now.", *api);
  cmd->add_option("--kind", *kind, "stalled, target_at_risk, …");
  return {cmd, [api, kind] { return Alerts(Resolved(*api), *kind, std::cout, std::cerr); }};
}

Command AddStats(CLI::App& app) {
  auto api = std::make_shared<ApiTarget>();
  CLI::App* cmd = AddOnline(
      app, "stats", "Counts per step and outcome, alerts firing by kind, cycle time per step.", *api);
  return {cmd, [api] { return RegisterStats(Resolved(*api), std::cout, std::cerr); }};
}

// publish's two destinations exclude each other, so their environment variables are read after
// parsing, and only when neither flag was given.
Command AddPublish(CLI::App& app) {
  auto publish = std::make_shared<PublishOptions>();
  CLI::App* cmd = app.add_subcommand(
      "publish", "Validate value-chain events (a JSON-lines FILE and/or --event JSON) and publish "
                 "them: to cird's API (--api, or CIRCTL_API; bearer token from CIRCTL_API_TOKEN) "
                 "or to Kafka directly (--brokers, or CIRCTL_BROKERS; --topic) as CloudEvents. "
                 "A flag beats both variables; with neither flag, exactly one variable must be "
                 "set.");
  cmd->add_option("file", publish->file, "JSON lines; - for standard input");
  cmd->add_option("--event", publish->events, "one event as JSON (repeatable)");
  CLI::Option* api =
      cmd->add_option("--api", publish->api_url, "cird's HTTP address (env CIRCTL_API)");
  CLI::Option* brokers = cmd->add_option("--brokers", publish->brokers,
                                         "Kafka bootstrap servers (env CIRCTL_BROKERS)");
  cmd->add_option("--topic", publish->topic, "value-chain topic")->capture_default_str();
  return {cmd, [publish, api, brokers] {
            if (api->count() == 0 && brokers->count() == 0) {
              if (const char* url = std::getenv("CIRCTL_API")) publish->api_url = url;
              if (const char* b = std::getenv("CIRCTL_BROKERS")) publish->brokers = b;
            }
            if (const char* token = std::getenv("CIRCTL_API_TOKEN")) publish->token = token;
            return Publish(*publish, std::cout, std::cerr);
          }};
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

  VerifyOptions rebuild;
  rebuild.rebuild = true;
  VerifyOptions repair;
  repair.repair = true;
  // In the order --help lists them: offline (a register directory), then online (cird's API, or
  // Kafka).
  const std::vector<Command> commands = {
      AddReplay(app),
      AddShow(app),
      AddRegisterPass(app, "verify",
                      "Check the register's invariants: streams, dedupe index, projections "
                      "against a rebuild, due-time index, outbox. Use the same model limits as "
                      "the writer.",
                      VerifyOptions{}),
      AddRegisterPass(
          app, "rebuild",
          "Recompute every projection and the due-time index from the event streams.", rebuild),
      AddRegisterPass(app, "repair",
                      "Make a register readable that holds records protobuf cannot parse "
                      "(invalid UTF-8 written by cir before 0.2): re-encode them with the bad "
                      "bytes escaped (\\xNN), park outbox records beyond that, reindex the dedupe "
                      "index, rebuild projections. Stop cird first.",
                      repair),
      AddParked(app),
      AddGet(app),
      AddList(app),
      AddHistory(app),
      AddAlerts(app),
      AddStats(app),
      AddPublish(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (const Command& c : commands) {
    if (*c.cmd) return c.run();
  }
  return kExitUsage;  // require_subcommand(1): not reached
}
