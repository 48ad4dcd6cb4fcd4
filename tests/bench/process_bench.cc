// process_bench: the cird binary as operators run it, on the standalone mock broker
// (cir_mock_broker, a process of its own, so the broker's memory is not cird's).
//
//   process_bench --cird PATH [--events N] [--partitions N] [--cird-flag F]...
//
// Phases:
//   1. memory: N value-chain events (the benchmarks' workload) are produced up front; cird starts
//      with default settings on an empty data directory and consumes them until /readyz says it
//      is caught up and /metrics shows every transition delivered (sampled every 250 ms); the
//      ingest rate counts from the group join to the latter. Its resident set (VmRSS of /proc/PID/status) is sampled every 250 ms; printed:
//      at each quarter of the run, the peak (VmHWM), and the last quarter's growth (flat: ~0);
//   2. restart: SIGTERM (a clean stop, timed), then cird starts again on the same data directory
//      and topics: the time to /readyz 200, and within it the time to the group join (the log's
//      first "partition assigned"), which the mock's group coordinator sets (session.timeout.ms
//      - 1 s after the last member left: 5 s here), and the rest (opening the register, the lag
//      becoming known).
// The mock keeps ~5 MiB per partition: N events need N / 20,000 partitions or more.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cir/base/log.h"
#include "cir/events/cloudevents.h"
#include "cir/events/kafka.h"
#include "http_client.h"
#include "mock_broker_process.h"
#include "child_process.h"
#include "workload.h"

namespace {

namespace fs = std::filesystem;
using namespace cir;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The children alive now (cird, the broker): Die kills them, since exit runs no destructors.
std::vector<pid_t> g_children;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "process_bench: %s\n", what.c_str());
  for (pid_t pid : g_children) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::exit(1);
}

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"); -1 when the process is gone.
long StatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

double MiB(long kib) { return static_cast<double>(kib) / 1024.0; }

class Cird {
 public:
  Cird(const std::string& binary, const std::vector<std::string>& flags, const fs::path& log) {
    std::vector<std::string> args = {binary};
    args.insert(args.end(), flags.begin(), flags.end());
    pid_ = testing::Spawn(std::move(args), log.string(), /*append=*/false);
    if (pid_ < 0) Die("cannot start " + binary);
    g_children.push_back(pid_);
  }
  ~Cird() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      Forget();
    }
  }
  pid_t pid() const { return pid_; }
  bool Alive() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  // SIGTERM; the exit code, or -1 after 30 s (then killed).
  int Stop() {
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    int status = 0;
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        Forget();
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    return -1;
  }

 private:
  void Forget() { std::erase(g_children, pid_); }
  pid_t pid_ = -1;
};

// The first line of `log` containing `needle`, if any.
std::optional<std::string> LogLine(const fs::path& log, const std::string& needle) {
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return std::nullopt;
}

int HttpPort(const fs::path& log) {
  auto line = LogLine(log, "\"msg\":\"http listening\"");
  if (!line) return 0;
  const auto p = line->find("\"port\":");
  return p == std::string::npos ? 0 : std::atoi(line->c_str() + p + 7);
}

int ReadyzStatus(int port) {
  auto reply = services::HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/readyz");
  return reply ? reply->status : -1;
}

// The sum of every series of `name` in cird's /metrics (0 when unreachable).
double MetricSum(int port, const std::string& name) {
  auto reply = services::HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  if (!reply || reply->status != 200) return 0;
  double sum = 0;
  std::istringstream lines(reply->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum += std::atof(line.c_str() + line.rfind(' ') + 1);
  }
  return sum;
}

struct Started {
  double http_s = 0;    // to the HTTP port in the log
  double joined_s = 0;  // to the first "partition assigned"
  double ready_s = 0;   // to /readyz 200
};

// Waits (every 5 ms, up to `timeout`) for cird to listen, join and be ready, and for `also` to
// hold; `sample` is called every 250 ms meanwhile.
Started WaitReady(Cird& cird, const fs::path& log, Clock::duration timeout,
                  const std::function<void()>& sample = {},
                  const std::function<bool()>& also = {}) {
  const auto start = Clock::now();
  Started at;
  int port = 0;
  bool joined = false;
  auto sampled = start;
  while (Clock::now() - start < timeout) {
    if (!cird.Alive()) Die("cird exited; its log: " + log.string());
    if (port == 0 && (port = HttpPort(log)) > 0) at.http_s = Seconds(Clock::now() - start);
    if (!joined && LogLine(log, "\"msg\":\"partition assigned\"")) {
      joined = true;
      at.joined_s = Seconds(Clock::now() - start);
    }
    if (port > 0 && joined && at.ready_s == 0 && ReadyzStatus(port) == 200) {
      at.ready_s = Seconds(Clock::now() - start);
    }
    if (at.ready_s > 0 && (!also || also())) return at;
    if (sample && Clock::now() - sampled >= milliseconds(250)) {
      sampled = Clock::now();
      sample();
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  Die("cird not ready within the deadline; its log: " + log.string());
}

}  // namespace

int main(int argc, char** argv) {
  std::string cird_binary;
  std::uint64_t n = 1'000'000;
  int partitions = 64;
  std::vector<std::string> extra;
  CLI::App app{"process_bench: cird's memory while ingesting, and its restart to ready"};
  app.add_option("--cird", cird_binary, "the cird binary")->required();
  app.add_option("--events", n, "events to ingest")->capture_default_str();
  app.add_option("--partitions", partitions, "partitions of each topic")->capture_default_str();
  app.add_option("--cird-flag", extra, "a flag for cird (repeatable)");
  CLI11_PARSE(app, argc, argv);
  n -= n % bench::kStepsPerLife;
  log::SetMinLevel(log::Level::kWarn);
  ::signal(SIGPIPE, SIG_IGN);

  std::string pattern = (fs::temp_directory_path() / "process-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
  const fs::path dir = pattern;
  testing::MockBrokerProcess::Options broker_options;
  for (const char* t : {"cir.value-chain", "cir.transitions", "cir.alerts", "cir.dead-letters"}) {
    broker_options.topics.push_back(std::string(t) + ":" + std::to_string(partitions) + ":1");
  }
  broker_options.max_lifetime_s = 3600;
  broker_options.log_path = (dir / "broker.log").string();
  std::string error;
  auto broker = testing::MockBrokerProcess::Start(broker_options, &error);
  if (!broker) Die(error);
  g_children.push_back(broker->pid());
  events::KafkaSettings settings;
  settings.brokers = broker->bootstraps();

  // The last wave ends about now (no stall timer falls due during the run).
  const auto waves = static_cast<std::int64_t>(n / (bench::kStepsPerLife * bench::kWave)) + 1;
  const bench::Times times{static_cast<std::int64_t>(std::time(nullptr)) - waves * 9, 1, 9};
  {
    // librdkafka 2.0.2's mock keeps at most 100,000 records and 5 MiB per partition
    // (rdkafka_mock.c) and drops the oldest beyond: cird would never see them all.
    const std::uint64_t per_partition = n / static_cast<std::uint64_t>(partitions) + 1;
    const auto sample =
        events::EncodeEvent(bench::MakeEvent(0, "proc", times), events::DataFormat::kProtobuf);
    // A record in a v2 batch: its value, key and headers and about 10 bytes of varints.
    std::size_t record_bytes =
        10 + sample.value.value_or("").size() + sample.key.value_or("").size();
    for (const auto& [k, v] : sample.headers) record_bytes += k.size() + v.size() + 2;
    if (per_partition > 100000 || per_partition * record_bytes > (5u << 20)) {
      Die("the mock broker keeps at most 100,000 records and 5 MiB per partition; " +
          std::to_string(per_partition) + " records of about " + std::to_string(record_bytes) +
          " bytes each would not fit: use more --partitions or fewer --events");
    }
    auto producer = events::Producer::Create(settings, nullptr);
    if (!producer) Die(producer.error().message);
    for (std::uint64_t j = 0; j < n; ++j) {
      const auto record = events::EncodeEvent(bench::MakeEvent(j, "proc", times),
                                              events::DataFormat::kProtobuf);
      while (!(*producer)->Produce("cir.value-chain", record, 0)) {
        (*producer)->Poll(milliseconds(10));
      }
    }
    if (!(*producer)->Flush(milliseconds(300000))) Die("producing the workload timed out");
  }

  std::vector<std::string> flags = {"--brokers",      settings.brokers,
                                    "--data-dir",     (dir / "register").string(),
                                    "--http-address", "127.0.0.1",
                                    "--http-port",    "0",
                                    // The 2.0.2 mock holds a group whose last member left for
                                    // session.timeout.ms - 1 s before a new member may join
                                    // (45 s by default); as in the integration tests.
                                    "--kafka-property", "session.timeout.ms=6000",
                                    "--kafka-property", "heartbeat.interval.ms=500"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  std::printf("process_bench: %llu events, %d partitions, cird %s\n",
              static_cast<unsigned long long>(n), partitions, cird_binary.c_str());

  // Phase 1: memory while ingesting.
  std::vector<std::pair<double, long>> rss;  // (seconds since start, KiB)
  // At the largest sample: RocksDB's memtables and block cache as cird's /metrics said (its
  // refresher updates them every 5 s), in bytes.
  long rss_max = 0;
  double memtables_at_max = 0, block_cache_at_max = 0;
  const fs::path log1 = dir / "cird-1.log";
  Started first;
  long hwm = 0;
  double delivered_s = 0;  // every transition delivered (sampled every 250 ms)
  {
    Cird cird(cird_binary, flags, log1);
    const auto start = Clock::now();
    // Every initiative makes 8 transitions; all delivered is the end of the ingest.
    const double transitions = static_cast<double>(n / bench::kStepsPerLife * 8);
    first = WaitReady(cird, log1, std::chrono::minutes(30), [&] {
      rss.emplace_back(Seconds(Clock::now() - start), StatusKiB(cird.pid(), "VmRSS"));
      if (rss.back().second > rss_max) {
        rss_max = rss.back().second;
        const int port = HttpPort(log1);
        memtables_at_max = MetricSum(port, "cir_rocksdb_memory_bytes{kind=\"memtable\"}");
        block_cache_at_max = MetricSum(port, "cir_rocksdb_memory_bytes{kind=\"block_cache\"}");
      }
      if (delivered_s == 0 && MetricSum(HttpPort(log1), "cir_transitions_total") >= transitions) {
        delivered_s = Seconds(Clock::now() - start);
      }
    }, [&] { return delivered_s > 0; });
    rss.emplace_back(Seconds(Clock::now() - start), StatusKiB(cird.pid(), "VmRSS"));
    hwm = StatusKiB(cird.pid(), "VmHWM");
    const auto stop_start = Clock::now();
    const int code = cird.Stop();
    std::printf("  ingest: every transition delivered %.1f s after the start, %.0f events/s from "
                "the group join; /readyz 200 at %.1f s (lag from the 5 s statistics); SIGTERM to "
                "exit %.3f s (exit %d)\n",
                delivered_s, static_cast<double>(n) / (delivered_s - first.joined_s),
                first.ready_s, Seconds(Clock::now() - stop_start), code);
  }
  auto at = [&](double share) {
    const double t = share * rss.back().first;
    return std::find_if(rss.begin(), rss.end(), [&](const auto& s) { return s.first >= t; })
        ->second;
  };
  std::printf("  resident set while ingesting: 25%% %.0f MiB, 50%% %.0f MiB, 75%% %.0f MiB, "
              "100%% %.0f MiB; peak (VmHWM) %.0f MiB (%.2f x the 256 MiB goal); last quarter "
              "%+.0f MiB\n",
              MiB(at(0.25)), MiB(at(0.5)), MiB(at(0.75)), MiB(rss.back().second), MiB(hwm),
              MiB(hwm) / 256.0, MiB(rss.back().second - at(0.75)));
  std::printf("  at the largest sample (%.0f MiB): RocksDB memtables %.0f MiB, block cache %.0f "
              "MiB, the rest %.0f MiB\n",
              MiB(rss_max), memtables_at_max / 1048576.0, block_cache_at_max / 1048576.0,
              MiB(rss_max) - (memtables_at_max + block_cache_at_max) / 1048576.0);

  // Phase 2: restart after the clean stop.
  const fs::path log2 = dir / "cird-2.log";
  {
    Cird cird(cird_binary, flags, log2);
    const Started again = WaitReady(cird, log2, std::chrono::minutes(5));
    std::printf("  restart to ready: %.2f s = group join %.2f s + %.2f s after it (goal: 1 s "
                "after it; HTTP up at %.2f s)\n",
                again.ready_s, again.joined_s, again.ready_s - again.joined_s, again.http_s);
    if (cird.Stop() != 0) Die("cird did not stop cleanly after the restart");
  }
  broker.reset();
  fs::remove_all(dir);
  return 0;
}
