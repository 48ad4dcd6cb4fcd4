// replay_bench: `circtl replay` and `circtl verify` (the real binary, as a process) of N generated
// JSON lines, beside the same of N/4 lines in the same run: a replay whose cost per line grows with
// the register shows as a ratio well below 1 (a quadratic one tends to 0.25).
//
//   replay_bench --circtl PATH [--lines N] [--keep]
//
// The workload is pipeline_bench's (tests/bench/workload.h): initiatives of nine events, 1,000
// interleaved at a time, one day between steps and nine days between waves, so that event time
// passes and timers are armed, moved and cleared; every tenth initiative stops after its baseline
// and its STALLED timer fires during the replay.
#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "workload.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "replay_bench: %s\n", what.c_str());
  std::exit(1);
}

// Writes the first `n` events of the workload (minus the stopped initiatives' later steps) as JSON
// lines; returns how many lines it wrote.
std::uint64_t WriteLines(const fs::path& file, std::uint64_t n) {
  std::ofstream out(file);
  const cir::bench::Times times{cir::testing::kDayZeroSeconds, 86400, 9 * 86400};
  std::uint64_t lines = 0;
  for (std::uint64_t j = 0; j < n; ++j) {
    if (cir::bench::InitiativeOf(j) % 10 == 0 && cir::bench::StepOf(j) >= 2) continue;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(cir::bench::MakeEvent(j, "replay", times),
                                                     &json)
             .ok()) {
      Die("cannot write an event as JSON");
    }
    out << json << '\n';
    ++lines;
  }
  if (!out) Die("cannot write " + file.string());
  return lines;
}

std::uint64_t CountLines(const fs::path& file) {
  std::ifstream in(file);
  std::uint64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Runs `command` and returns its wall-clock seconds; dies when it does not exit 0.
double Timed(const std::string& command) {
  const auto start = Clock::now();
  const int status = std::system(command.c_str());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (status != 0) Die("failed (" + std::to_string(status) + "): " + command);
  return seconds;
}

struct Figures {
  std::uint64_t lines = 0;
  std::uint64_t outputs = 0;
  double replay_s = 0;
  double verify_s = 0;
};

Figures Run(const std::string& circtl, const fs::path& dir, std::uint64_t n,
            const std::string& name) {
  Figures f;
  const fs::path input = dir / (name + ".jsonl");
  const fs::path data = dir / (name + ".register");
  const fs::path out = dir / (name + ".out");
  f.lines = WriteLines(input, n);
  f.replay_s = Timed(circtl + " replay --no-progress --data-dir " + data.string() + " " +
                     input.string() + " >" + out.string() + " 2>" + (dir / (name + ".err")).string());
  f.outputs = CountLines(out);
  f.verify_s = Timed(circtl + " verify --no-progress --data-dir " + data.string() + " >" +
                     (dir / (name + ".verify")).string() + " 2>&1");
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string circtl;
  std::uint64_t n = 40'000;
  CLI::App app{"replay_bench: circtl replay and verify of N lines beside N/4 lines"};
  app.add_option("--circtl", circtl, "circtl's path")->required();
  app.add_option("--lines", n, "events generated (lines, before the stopped initiatives' steps)")
      ->capture_default_str();
  bool keep = false;
  app.add_flag("--keep", keep, "keep the inputs, outputs and registers (the path is printed)");
  CLI11_PARSE(app, argc, argv);

  std::string pattern = (fs::temp_directory_path() / "replay-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
  const fs::path dir = pattern;

  std::printf("replay_bench: circtl replay/verify of %llu generated events (sync off)\n",
              static_cast<unsigned long long>(n));
  std::fflush(stdout);
  const Figures small = Run(circtl, dir, n / 4, "quarter");
  const Figures full = Run(circtl, dir, n, "full");
  auto rate = [](std::uint64_t lines, double s) { return static_cast<double>(lines) / s; };
  const double small_replay = rate(small.lines, small.replay_s);
  const double full_replay = rate(full.lines, full.replay_s);
  const double small_verify = rate(small.lines, small.verify_s);
  const double full_verify = rate(full.lines, full.verify_s);
  std::printf("  replay, baseline %7llu lines %10.0f events/s  (%.2f s, %llu outputs)\n",
              static_cast<unsigned long long>(small.lines), small_replay, small.replay_s,
              static_cast<unsigned long long>(small.outputs));
  std::printf("  replay,          %7llu lines %10.0f events/s  (%.2f s, %llu outputs)  "
              "%.2f x the baseline's rate (1 = linear)\n",
              static_cast<unsigned long long>(full.lines), full_replay, full.replay_s,
              static_cast<unsigned long long>(full.outputs), full_replay / small_replay);
  std::printf("  verify, baseline %7llu lines %10.0f events/s  (%.2f s)\n",
              static_cast<unsigned long long>(small.lines), small_verify, small.verify_s);
  std::printf("  verify,          %7llu lines %10.0f events/s  (%.2f s)  %.2f x the baseline's "
              "rate\n",
              static_cast<unsigned long long>(full.lines), full_verify, full.verify_s,
              full_verify / small_verify);
  if (keep) {
    std::printf("  kept in %s\n", dir.c_str());
  } else {
    fs::remove_all(dir);
  }
  return 0;
}
