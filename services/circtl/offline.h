// circtl's offline commands: they open a register directory directly, without Kafka or cird.
// Each returns the process exit code (see ExitCode) and writes results to `out`, diagnostics to
// `err`, so that tests can call them in-process as well as through the binary.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "cir/model/config.h"

namespace cir::services {

enum ExitCode : int {
  kExitOk = 0,
  kExitBadInput = 1,       // some lines were bad, or verify found problems
  kExitUsage = 2,          // bad flags or configuration
  kExitRegisterError = 3,  // the register could not be opened, read or written
};

struct ReplayOptions {
  std::string data_dir;
  std::string file;          // JSON lines; "-" for standard input
  std::uint32_t partition = 0;
  // Simulated clock: before each event, timers due by its event time fire; after the last line
  // they fire up to `until` (RFC 3339), or up to the last event time when unset.
  std::optional<std::string> until;
  bool sync = false;
  int progress = 0;  // > 0 report progress on `err`, < 0 never, 0 when stderr is a terminal
  model::Config model;
};

// Appends every line of the file, printing each transition and alert as one JSON line
// ({"transition":{…}} or {"alert":{…}}). Bad lines (unparseable, invalid, or rejected by the
// model) are reported on `err` as "FILE:LINE: reason" and skipped; duplicates are counted.
[[nodiscard]] int Replay(const ReplayOptions& options, std::ostream& out, std::ostream& err);

struct ShowOptions {
  std::string data_dir;
  std::string initiative_id;
  bool json = false;
  model::Config model;
};
// Prints an initiative's projection and its history (a summary for people, or one JSON object).
[[nodiscard]] int Show(const ShowOptions& options, std::ostream& out, std::ostream& err);

struct VerifyOptions {
  std::string data_dir;
  bool rebuild = false;  // rewrite projections from the streams instead of only checking
  bool repair = false;   // make unreadable records readable, then reindex and rebuild
  int progress = 0;      // as ReplayOptions::progress
  model::Config model;
};
// Checks the register's invariants (or rebuilds its projections) and prints the findings.
[[nodiscard]] int Verify(const VerifyOptions& options, std::ostream& out, std::ostream& err);

// Lists the outbox records moved aside for good (Register::Parked): one line each with partition,
// seq, when, why, and what it was (topic-bound output id or dead-letter reason); --json: one JSON
// object a line.
[[nodiscard]] int ListParked(const std::string& data_dir, bool json, std::ostream& out,
                             std::ostream& err);

}  // namespace cir::services
