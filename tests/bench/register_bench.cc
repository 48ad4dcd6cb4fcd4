// register_bench: appends events through Register::Append in poll-sized batches, the way cird
// does, and sets the rate beside RocksDB's own raw-write baseline (db_bench fillseq) on the same
// machine, with the same value size, sync mode and batch size.
//
//   register_bench [--events N] [--batch N] [--initiatives N] [--dir DIR] [--no-sync]
//                  [--projector model|test] [--db-bench PATH] [--no-db-bench]
//
// The workload: every initiative is first proposed, then gets a baseline, a target and a plan,
// then a seeded mix of KPI measurements and action updates. Events are spread round-robin over
// the initiatives, so a batch of 500 touches 500 different projections. Each batch's outbox
// records are acknowledged after it, as cird does once they are delivered; the rate counts both.
// Besides the rate it prints the write path's shape: key writes per event by column family, WAL
// bytes per event and the write amplification.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "test_projector.h"

namespace {

using cir::storage::AppendRequest;
using cir::storage::InboundEvent;
namespace v1 = cir::v1;

constexpr std::int64_t kEpoch = 1'700'000'000;

v1::ValueChainEvent MakeEvent(std::uint64_t j, std::uint64_t initiatives, std::mt19937_64& rng) {
  const std::uint64_t x = j % initiatives;
  const std::uint64_t k = j / initiatives;  // the initiative's k-th event
  const auto at = static_cast<std::int64_t>(j);
  v1::ValueChainEvent e;
  e.set_id("evt-" + std::to_string(j));
  e.set_source("//bench.example/pipeline");
  e.set_initiative_id("initiative-" + std::to_string(x));
  e.mutable_event_time()->set_seconds(kEpoch + at);
  switch (k) {
    case 0: {
      e.set_activity(v1::ACTIVITY_IMPROVE);
      auto* p = e.mutable_initiative_proposed();
      p->set_title("Cut incident resolution time for service " + std::to_string(x));
      p->set_vision("Customers get their service back within the hour");
      p->set_organisational_goal("Customer satisfaction above 45");
      p->set_owner("team-" + std::to_string(x % 37) + "@example.com");
      p->set_register_level(v1::REGISTER_LEVEL_TEAM);
      p->add_tags("sre");
      p->add_tags("incident-management");
      break;
    }
    case 1: {
      e.set_activity(v1::ACTIVITY_DELIVER_SUPPORT);
      auto* b = e.mutable_baseline_measured();
      b->set_kpi("mttr_minutes");
      b->set_value(120.0);
      b->set_unit("min");
      b->set_method(v1::MEASUREMENT_METHOD_OPERATIONAL_STATISTICS);
      b->mutable_measured_at()->set_seconds(kEpoch + at);
      break;
    }
    case 2: {
      e.set_activity(v1::ACTIVITY_PLAN);
      auto* t = e.mutable_target_set();
      t->set_kpi("mttr_minutes");
      t->set_target_value(80.0);
      t->set_direction(v1::DIRECTION_DECREASE);
      t->mutable_deadline()->set_seconds(kEpoch + at + 180 * 86400);
      t->set_priority(1);
      t->set_critical_success_factor("runbooks for the top ten incident types");
      break;
    }
    case 3: {
      e.set_activity(v1::ACTIVITY_PLAN);
      auto* p = e.mutable_plan_defined();
      p->set_summary("Runbooks first, then automated diagnostics");
      for (int a = 1; a <= 2; ++a) {
        auto* action = p->add_actions();
        action->set_action_id("a" + std::to_string(a));
        action->set_description("action " + std::to_string(a));
        action->set_experiment(a == 2);
      }
      break;
    }
    default:
      if (rng() % 2 == 0) {
        e.set_activity(v1::ACTIVITY_DELIVER_SUPPORT);
        auto* m = e.mutable_kpi_measured();
        m->set_kpi("mttr_minutes");
        m->set_value(120.0 - static_cast<double>(k) * 0.3 + static_cast<double>(rng() % 10));
        m->mutable_measured_at()->set_seconds(kEpoch + at);
      } else {
        e.set_activity(v1::ACTIVITY_OBTAIN_BUILD);
        auto* u = e.mutable_action_updated();
        u->set_action_id(rng() % 2 == 0 ? "a1" : "a2");
        u->set_status(v1::ACTION_STATUS_PROGRESSING);
        u->set_percent_complete(static_cast<std::uint32_t>(std::min<std::uint64_t>(99, k)));
      }
  }
  return e;
}

// Bytes this process (and its RocksDB threads) caused to be written to storage.
std::uint64_t ProcWriteBytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return 0;
}

std::uint64_t DirBytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

struct DbBenchRun {
  double ops_per_sec = 0;
  std::uint64_t write_bytes = 0;
  std::string line;
};

// Runs db_bench with `args`, returns its fillseq line and the bytes it wrote.
std::optional<DbBenchRun> RunDbBench(const std::string& binary, const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  // argv is built before the fork: the child only redirects and execs (no allocation).
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "db_bench failed (status %d):\n%s\n", status, output.c_str());
    return std::nullopt;
  }
  DbBenchRun run;
  run.write_bytes = static_cast<std::uint64_t>(usage.ru_oublock) * 512;
  std::size_t pos = 0;
  while (pos < output.size()) {
    const std::size_t end = output.find('\n', pos);
    const std::string line = output.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? output.size() : end + 1;
    const std::size_t ops = line.find(" ops/sec");
    if (line.rfind("fillseq", 0) == 0 && ops != std::string::npos) {
      const std::size_t start = line.rfind(' ', ops - 1);
      run.ops_per_sec = std::strtod(line.c_str() + start + 1, nullptr);
      run.line = line;
    }
  }
  if (run.line.empty()) {
    std::fprintf(stderr, "no fillseq line in db_bench's output:\n%s\n", output.c_str());
    return std::nullopt;
  }
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Appends events through cir's register and compares with db_bench fillseq."};
  std::uint64_t events = 1'000'000;
  std::uint64_t batch = 500;
  std::uint64_t initiatives = 10'000;
  std::string dir;
  bool no_sync = false;
  std::string projector_name = "model";
  std::string db_bench = "/usr/bin/db_bench";
  bool no_db_bench = false;
  app.add_option("--events", events, "events to append")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "events per Append (poll batch)")->check(CLI::PositiveNumber);
  app.add_option("--initiatives", initiatives, "initiatives the events are spread over")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "work directory (default: a fresh one under $TMPDIR, removed)");
  app.add_flag("--no-sync", no_sync, "do not fsync the WAL per batch");
  app.add_option("--projector", projector_name, "model: the improvement model; test: a trivial fold")
      ->check(CLI::IsMember({"model", "test"}));
  app.add_option("--db-bench", db_bench, "the db_bench binary");
  app.add_flag("--no-db-bench", no_db_bench, "skip the db_bench baseline");
  CLI11_PARSE(app, argc, argv);

  bool remove_dir = false;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                          "/register-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = pattern;
    remove_dir = true;
  }
  std::filesystem::create_directories(dir);

  std::unique_ptr<cir::storage::Projector> projector;
  if (projector_name == "model") {
    projector = cir::model::MakeProjector(cir::model::Config{});
  } else {
    projector = std::make_unique<cir::storage::testing::TestProjector>();
  }

  cir::storage::Options options;
  options.path = dir + "/register";
  options.sync = !no_sync;
  auto opened = cir::storage::Register::Open(options);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    return 1;
  }
  auto reg = std::move(*opened);

  std::printf("register_bench: %llu events, batches of %llu, %llu initiatives, sync=%s, "
              "projector=%s, dir=%s\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(batch),
              static_cast<unsigned long long>(initiatives), no_sync ? "off" : "on",
              projector_name.c_str(), dir.c_str());
  std::mt19937_64 rng(42);
  std::uint64_t applied = 0, ignored = 0, rejected = 0, outbox = 0, stored_bytes = 0;
  double append_seconds = 0;
  const std::uint64_t io_before = ProcWriteBytes();
  v1::StoredEvent sized;  // what the register stores per event, to size db_bench's values
  sized.set_revision(50);
  sized.set_disposition(v1::DISPOSITION_APPLIED);
  sized.set_source_topic("value-chain");
  sized.mutable_recorded_at()->set_seconds(kEpoch);
  sized.mutable_recorded_at()->set_nanos(123'456'789);
  for (std::uint64_t j = 0; j < events;) {
    AppendRequest request;
    const std::uint64_t n = std::min(batch, events - j);
    request.events.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i, ++j) {
      InboundEvent& in = request.events.emplace_back();
      in.event = MakeEvent(j, initiatives, rng);
      in.source_topic = "value-chain";
      in.source_offset = static_cast<std::int64_t>(j);
      *sized.mutable_value_chain() = in.event;
      sized.set_source_offset(in.source_offset);
      stored_bytes += sized.ByteSizeLong();
    }
    request.offsets = {{"value-chain", static_cast<std::int64_t>(j)}};
    const auto start = std::chrono::steady_clock::now();
    auto result = reg->Append(request, *projector);
    if (!result) {
      std::fprintf(stderr, "append: %s\n", result.error().ToString().c_str());
      return 1;
    }
    // As cird does once the outputs are delivered: acknowledge them (unsynced deletes).
    std::vector<std::uint64_t> seqs;
    seqs.reserve(result->outbox.size());
    for (const auto& record : result->outbox) seqs.push_back(record.seq());
    if (auto acked = reg->AckOutbox(request.partition, seqs); !acked) {
      std::fprintf(stderr, "ack: %s\n", acked.error().ToString().c_str());
      return 1;
    }
    append_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    applied += result->appended;
    ignored += result->ignored;
    rejected += result->rejected;
    outbox += result->outbox.size();
  }
  const cir::storage::DbFigures figures = reg->Figures();
  reg.reset();  // close: flushes nothing, but joins RocksDB's threads
  const std::uint64_t io_written = ProcWriteBytes() - io_before;
  const std::uint64_t on_disk = DirBytes(options.path);
  const double ours = static_cast<double>(events) / append_seconds;
  const std::uint64_t mean_size = events > 0 ? stored_bytes / events : 0;

  std::printf("outcomes: %llu applied, %llu ignored, %llu rejected; %llu outbox records\n",
              static_cast<unsigned long long>(applied), static_cast<unsigned long long>(ignored),
              static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(outbox));
  std::printf("register: %.0f events/s (%.2f s in Append and AckOutbox); mean stored event %llu "
              "bytes\n",
              ours,
              append_seconds, static_cast<unsigned long long>(mean_size));
  std::printf("register: %.1f MB written to storage (WAL, flushes, compactions), %.1f MB on disk "
              "at the end, %.1f MB of stored events\n",
              static_cast<double>(io_written) / 1e6, static_cast<double>(on_disk) / 1e6,
              static_cast<double>(stored_bytes) / 1e6);

  // The write path's shape: key writes per input event by column family, WAL record bytes per
  // event, and what reached the disk against the stored events' own bytes.
  const double per_event = events > 0 ? 1.0 / static_cast<double>(events) : 0;
  std::uint64_t key_writes = 0;
  std::string by_family;
  for (const auto& [family, count] : figures.key_writes) {
    key_writes += count;
    char part[80];
    std::snprintf(part, sizeof part, "%s%s %.2f", by_family.empty() ? "" : ", ", family.c_str(),
                  static_cast<double>(count) * per_event);
    by_family += part;
  }
  std::printf("write path: %.2f key writes per event (%s); %llu writes, %llu synced\n",
              static_cast<double>(key_writes) * per_event, by_family.c_str(),
              static_cast<unsigned long long>(figures.writes),
              static_cast<unsigned long long>(figures.synced_writes));
  std::printf("write path: %.0f WAL bytes per event (%.0f stored-event bytes); write "
              "amplification %.1fx (bytes written to storage / stored-event bytes)\n",
              static_cast<double>(figures.wal_bytes) * per_event, static_cast<double>(mean_size),
              stored_bytes > 0 ? static_cast<double>(io_written) / static_cast<double>(stored_bytes)
                               : 0.0);

  struct Row {
    std::string name;
    double ops;
    double mb;
  };
  std::vector<Row> rows{{"register Append (events/s)", ours, static_cast<double>(io_written) / 1e6}};
  if (!no_db_bench) {
    const std::string n = std::to_string(events);
    const std::string v = std::to_string(mean_size);
    auto common = [&](const std::string& name) {
      return std::vector<std::string>{"--benchmarks=fillseq", "--num=" + n, "--value_size=" + v,
                                      "--db=" + dir + "/" + name, "--compression_type=lz4",
                                      "--threads=1", "--histogram=0"};
    };
    auto same = common("db_bench_batched");
    same.push_back(std::string("--sync=") + (no_sync ? "0" : "1"));
    same.push_back("--batch_size=" + std::to_string(batch));
    auto raw = common("db_bench_raw");
    raw.push_back("--sync=0");
    raw.push_back("--batch_size=1");
    const auto batched = RunDbBench(db_bench, same);
    if (batched) {
      std::printf("db_bench: %s\n", batched->line.c_str());
      rows.push_back({"db_bench fillseq, sync=" + std::string(no_sync ? "0" : "1") +
                          " batch_size=" + std::to_string(batch) + " (ops/s)",
                      batched->ops_per_sec, static_cast<double>(batched->write_bytes) / 1e6});
    }
    const auto unbatched = RunDbBench(db_bench, raw);
    if (unbatched) {
      std::printf("db_bench: %s\n", unbatched->line.c_str());
      rows.push_back({"db_bench fillseq, sync=0 batch_size=1 (ops/s)", unbatched->ops_per_sec,
                      static_cast<double>(unbatched->write_bytes) / 1e6});
    }
    if (!batched || !unbatched) std::fprintf(stderr, "db_bench baseline incomplete\n");
  }
  std::printf("\n%-48s %14s %12s %14s\n", "", "rate", "MB written", "register/this");
  for (const Row& row : rows) {
    std::printf("%-48s %14.0f %12.1f %14.2f\n", row.name.c_str(), row.ops, row.mb, ours / row.ops);
  }
  if (remove_dir) std::filesystem::remove_all(dir);
  return 0;
}
