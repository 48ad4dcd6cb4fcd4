// pipeline_bench: the full pipeline — producer → librdkafka mock broker → cird's Pipeline →
// output topic — beside a bare librdkafka consumer on the same broker, in the same run.
//
//   pipeline_bench [--events N] [--partitions N] [--latency-events N] [--latency-rate R]
//                  [--idle-seconds S] [--json-events N] [--no-sync]
//
// Phases (each on fresh topics of the same 3-broker mock cluster):
//   0. (with --json-events) decoding alone, no Kafka: protobuf, JSON, JSON by the slow path;
//   1. baseline: N records of the workload's size produced to a topic, then read by a bare
//      librdkafka consumer in a group: msgs/s;
//   2. throughput: N value-chain events produced up front, then cird's Pipeline (wall time, the
//      production configuration) consumes, appends and publishes; events/s from its first record
//      to the last output read back from the output topic;
//   3. latency: events produced at --latency-rate (default: half the rate measured in phase 2),
//      timing each transition from the moment its causing event was produced to the moment it was
//      read from the output topic: p50/p99. Its consumers run with fetch.wait.max.ms=1 (the other
//      phases' with 10) and the bench's producers with linger.ms=1 (see Cluster);
//   4. JSON vs protobuf: --json-events events as binary-mode records with protobuf data, then
//      the same with JSON data (application/json), then JSON with the fast path off (the slow
//      path alone, as before it), each on fresh topics: events/s and the ratios;
//   5. idle: a pipeline of 4 partitions, caught up, left alone for --idle-seconds: the register's
//      synced writes (each an fsync of the WAL) per second.
// Event times are the current time (the last event about now, one second between an initiative's
// steps), so no time-based alert is due during the run, as in production; January dates made
// every stall timer due at once and the latency figures meaningless.
// The mock keeps ~5 MiB per partition, so phases 1–2 use enough partitions to hold everything.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>
#include <optional>

#include "cir/base/log.h"
#include "cir/events/cloudevents.h"
#include "cir/events/kafka.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "json_fast.h"  // events/src: the fast path turned off for the baseline
#include "pipeline.h"
#include "workload.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = cir::v1;
using namespace cir;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "pipeline_bench: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T Must(Result<T> r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}
void Must(Result<void> r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().message);
}

// --kafka-property: more librdkafka properties for cird's clients (after fetch.wait.max.ms).
std::vector<std::string> g_cird_properties;
// --max-batch-wait-ms: cird's --max-batch-wait (0: cird's default).
int g_max_batch_wait_ms = 0;

// Where the workload's events sit in time (set in main: ending about now).
bench::Times g_times;

// The j-th event of the workload (tests/bench/workload.h).
v1::ValueChainEvent MakeEvent(std::uint64_t j, const std::string& run) {
  return bench::MakeEvent(j, run, g_times);
}

// The 2.0.2 mock answers a fetch that finds no data only after fetch.wait.max.ms (500 ms by
// default), even when data arrives meanwhile, where a broker answers as soon as data arrives: a
// record that misses a fetch waits out the rest of it. The latency phase's consumers (cird's and
// the output reader) wait 1 ms, to keep that artefact of the mock out of the figure (with 10 ms
// it was ~5 ms per hop, two hops per output); the throughput phases' wait 10 ms, since the mock
// then spins through its short waits and takes CPU from cird on two cores.
constexpr const char* kMockFetchWait = "10";
constexpr const char* kMockFetchWaitForLatency = "1";

struct Cluster {
  std::unique_ptr<events::MockCluster> mock;
  events::KafkaSettings settings;  // the consumers'
  // The bench's producers (the input pipeline): linger.ms=1, as a publisher that cares about
  // latency sets it (librdkafka's default is 5 ms, added to every event's latency).
  [[nodiscard]] events::KafkaSettings producer_settings() const {
    return events::KafkaSettings{settings.brokers, {{"linger.ms", "1"}}};
  }
};

void ProduceAll(const Cluster& cluster, const std::string& topic, std::uint64_t n,
                const std::string& run,
                events::DataFormat format = events::DataFormat::kProtobuf) {
  auto producer = Must(events::Producer::Create(cluster.producer_settings(), nullptr), "producer");
  for (std::uint64_t j = 0; j < n; ++j) {
    const auto record = events::EncodeEvent(MakeEvent(j, run), format);
    while (true) {
      auto ok = producer->Produce(topic, record, 0);
      if (ok) break;
      if (ok.error().code != ErrorCode::kUnavailable) Die(ok.error().message);
      producer->Poll(milliseconds(10));
    }
  }
  Must(producer->Flush(milliseconds(120000)), "flush");
}

// Phase 0: decoding alone, in this process, no Kafka: the same events as binary-mode records
// with protobuf data, with JSON data (fast path on), and JSON with the fast path off, in
// alternating rounds so that the machine's drift between them cancels. Nanoseconds per record,
// the best round of each.
struct DecodeFigures {
  double protobuf_ns = 0, json_ns = 0, json_slow_ns = 0;
};
DecodeFigures DecodeOnly(std::uint64_t n) {
  std::vector<events::Record> proto, json;
  for (std::uint64_t j = 0; j < n; ++j) {
    const auto event = MakeEvent(j, "decode");
    proto.push_back(events::EncodeEvent(event, events::DataFormat::kProtobuf));
    json.push_back(events::EncodeEvent(event, events::DataFormat::kJson));
  }
  const events::Limits limits;
  auto time = [&](const std::vector<events::Record>& records) {
    const auto start = Clock::now();
    for (const auto& r : records) {
      if (!events::DecodeRecord(r, limits)) Die("a workload record does not decode");
    }
    return Seconds(Clock::now() - start) * 1e9 / static_cast<double>(records.size());
  };
  DecodeFigures best{1e18, 1e18, 1e18};
  for (int round = 0; round < 5; ++round) {
    best.protobuf_ns = std::min(best.protobuf_ns, time(proto));
    best.json_ns = std::min(best.json_ns, time(json));
    events::internal::SetFastPath(false);
    best.json_slow_ns = std::min(best.json_slow_ns, time(json));
    events::internal::SetFastPath(true);
  }
  return best;
}

// Phase 1.
double BareConsumer(const Cluster& cluster, std::uint64_t n, int partitions) {
  Must(cluster.mock->CreateTopic("bench.raw", partitions, 3), "topic");
  ProduceAll(cluster, "bench.raw", n, "raw");
  struct NoOp final : events::RebalanceHandler {
    void OnAssign(std::vector<events::TopicPartition>&) override {}
    void OnRevoke(const std::vector<events::TopicPartition>&, bool) override {}
    void OnOffsetGap(const events::TopicPartition&, const std::string&) override {}
  } handler;
  auto consumer = Must(events::Consumer::Create(cluster.settings, "bench-bare", {"bench.raw"},
                                                &handler),
                       "consumer");
  std::uint64_t got = 0;
  Clock::time_point first;
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  while (got < n && Clock::now() < deadline) {
    auto record = Must(consumer->Poll(milliseconds(100)), "poll");
    if (record) {
      if (got++ == 0) first = Clock::now();
    }
  }
  const double rate = static_cast<double>(got) / Seconds(Clock::now() - first);
  consumer->Close();
  return rate;
}

struct PipelineRun {
  double events_per_s = 0;
  std::vector<double> latencies_ms;
  double idle_synced_writes_per_s = 0;  // idle_seconds > 0
  std::uint64_t fsyncs = 0;             // the register's WAL fsyncs over the whole run
};

// Phases 2 and 3: one Pipeline on fresh topics. `rate` 0: everything is produced up front and
// the result is throughput; otherwise events are produced at `rate` per second and the result
// carries each transition's produce-to-read latency.
// `idle_seconds` > 0: afterwards the pipeline is left idle that long, counting synced writes.
// `format`: the records' data (binary mode), for throughput runs.
PipelineRun RunPipeline(const Cluster& cluster, std::uint64_t n, int partitions, double rate,
                        bool sync, const std::string& run, const fs::path& dir,
                        double idle_seconds = 0,
                        events::DataFormat format = events::DataFormat::kProtobuf) {
  cird::Config config;
  config.brokers = cluster.settings.brokers;
  config.input_topics = {run + ".in"};
  config.transitions_topic = run + ".transitions";
  config.alerts_topic = run + ".alerts";
  config.dead_letter_topic = run + ".dead";
  config.group_id = "bench-" + run;
  config.sync = sync;
  const char* fetch_wait = rate > 0 ? kMockFetchWaitForLatency : kMockFetchWait;
  config.kafka_properties = {std::string("fetch.wait.max.ms=") + fetch_wait};
  if (g_max_batch_wait_ms > 0) config.max_batch_wait = milliseconds(g_max_batch_wait_ms);
  config.kafka_properties.insert(config.kafka_properties.end(), g_cird_properties.begin(),
                                 g_cird_properties.end());
  for (const auto& t : {config.input_topics[0], config.transitions_topic, config.alerts_topic,
                        config.dead_letter_topic}) {
    Must(cluster.mock->CreateTopic(t, partitions, 3), "topic");
  }
  storage::Options options;
  options.path = (dir / run).string();
  options.sync = false;  // as in cird (main.cc): the pipeline syncs once per flush (config.sync)
  auto reg = Must(storage::Register::Open(options), "register");
  auto projector = model::MakeProjector(model::Config{});
  cird::Probe probe("bench");
  cird::Pipeline pipeline(config, *reg, *projector, storage::SystemClock(), probe);
  Must(pipeline.Start(), "pipeline start");
  if (rate == 0) ProduceAll(cluster, config.input_topics[0], n, run, format);

  std::vector<Clock::time_point> produced_at(n);
  std::atomic<std::uint64_t> produced{0};
  Result<void> ran;
  std::thread ingest([&] { ran = pipeline.Run(); });
  std::thread producer_thread;
  if (rate > 0) {
    producer_thread = std::thread([&] {
      auto producer =
          Must(events::Producer::Create(cluster.producer_settings(), nullptr), "producer");
      // The first event waits for the group to form; the paced stream starts once it is consumed.
      auto send = [&](std::uint64_t j) {
        const auto record = events::EncodeEvent(MakeEvent(j, run), events::DataFormat::kProtobuf);
        produced_at[j] = Clock::now();
        while (!producer->Produce(config.input_topics[0], record, 0)) {
          producer->Poll(milliseconds(1));
        }
        produced.store(j + 1, std::memory_order_release);
      };
      send(0);
      while (pipeline.counters().records_consumed.load() == 0) producer->Poll(milliseconds(5));
      const auto start = Clock::now();
      for (std::uint64_t j = 1; j < n; ++j) {
        const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(static_cast<double>(j) / rate));
        // Not a busy wait: spinning here took a whole core of the two from cird and the mock.
        // Sub-millisecond waits are slept; the producer's queue is served meanwhile.
        for (auto now = Clock::now(); now < due; now = Clock::now()) {
          if (due - now >= milliseconds(1)) {
            producer->Poll(milliseconds(1));
          } else {
            std::this_thread::sleep_for(due - now);
          }
        }
        send(j);
      }
      Must(producer->Flush(milliseconds(60000)), "flush");
    });
  }

  events::KafkaSettings reader_settings{cluster.settings.brokers,
                                        {{"fetch.wait.max.ms", fetch_wait}}};
  auto reader = Must(events::TopicReader::Create(reader_settings, {config.transitions_topic},
                                                 milliseconds(10000)),
                     "reader");
  PipelineRun result;
  const std::uint64_t expected_outputs = n / 9 * 8;
  const std::string prefix = run + "-";
  std::uint64_t outputs = 0;
  std::optional<Clock::time_point> first_consumed;
  Clock::time_point last_output;
  const auto deadline = Clock::now() + std::chrono::minutes(20);
  while (outputs < expected_outputs && Clock::now() < deadline) {
    if (!first_consumed && pipeline.counters().records_consumed.load() > 0) {
      first_consumed = Clock::now();
    }
    auto record = reader->Poll(milliseconds(20));
    if (!record) continue;
    ++outputs;
    last_output = Clock::now();
    if (rate > 0) {
      auto output = events::DecodeOutput(*record);
      if (!output) continue;
      const std::string& cause = output->transition().cause_event_id();
      const std::uint64_t j = std::stoull(cause.substr(prefix.size()));
      // Event 0 waited for the group to form; it is not a latency sample.
      if (j > 0 && j < produced.load(std::memory_order_acquire)) {
        result.latencies_ms.push_back(Seconds(last_output - produced_at[j]) * 1000);
      }
    }
  }
  if (idle_seconds > 0 && outputs == expected_outputs) {
    // Caught up: every output is out. Let the acknowledgements land, then count.
    const auto settle = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < settle) (void)reader->Poll(milliseconds(50));
    const std::uint64_t before = reg->Figures().synced_writes;
    const auto start = Clock::now();
    const auto until = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(idle_seconds));
    while (Clock::now() < until) (void)reader->Poll(milliseconds(50));
    result.idle_synced_writes_per_s =
        static_cast<double>(reg->Figures().synced_writes - before) / Seconds(Clock::now() - start);
  }
  pipeline.Stop();
  ingest.join();
  result.fsyncs = reg->Figures().synced_writes;
  if (producer_thread.joinable()) producer_thread.join();
  Must(std::move(ran), "pipeline");
  if (outputs < expected_outputs) Die("not every output arrived in time");
  result.events_per_s = static_cast<double>(n) / Seconds(last_output - *first_consumed);
  return result;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = 1'000'000;
  int partitions = 64;
  std::uint64_t latency_events = 90'000;
  double latency_rate = 0;
  double idle_seconds = 5;
  std::uint64_t json_events = 450'000;
  bool no_sync = false;
  CLI::App app{"pipeline_bench: cird's full pipeline beside a bare librdkafka consumer"};
  app.add_option("--events", n, "events through the pipeline (and records for the baseline)")
      ->capture_default_str();
  app.add_option("--partitions", partitions, "partitions of each topic")->capture_default_str();
  app.add_option("--latency-events", latency_events, "events in the latency phase")
      ->capture_default_str();
  app.add_option("--latency-rate", latency_rate,
                 "events/s in the latency phase (0: half the throughput measured)")
      ->capture_default_str();
  app.add_option("--idle-seconds", idle_seconds, "length of the idle phase (0: skip it)")
      ->capture_default_str();
  app.add_option("--json-events", json_events,
                 "events in each run of the JSON-vs-protobuf phase (0: skip it)")
      ->capture_default_str();
  app.add_flag("--no-sync", no_sync, "do not fsync the register on every batch");
  app.add_option("--max-batch-wait-ms", g_max_batch_wait_ms,
                 "cird's --max-batch-wait in ms (0: cird's default)");
  app.add_option("--kafka-property", g_cird_properties,
                 "key=value for cird's librdkafka clients (repeatable), as cird's own flag");
  CLI11_PARSE(app, argc, argv);
  n -= n % 9;
  latency_events -= latency_events % 9;
  json_events -= json_events % 9;
  cir::log::SetMinLevel(cir::log::Level::kWarn);
  // The last wave ends about now: every event time is in the last n/1000 seconds or so.
  const std::int64_t waves =
      static_cast<std::int64_t>(std::max(n, latency_events) / (9 * bench::kWave)) + 1;
  g_times = bench::Times{static_cast<std::int64_t>(std::time(nullptr)) - waves * 9, 1, 9};

  std::string pattern = (fs::temp_directory_path() / "pipeline-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
  const fs::path dir = pattern;
  Cluster cluster;
  cluster.mock = Must(events::MockCluster::Start(3), "mock cluster");
  cluster.settings.brokers = cluster.mock->Bootstraps();
  cluster.settings.properties = {{"fetch.wait.max.ms", kMockFetchWait}};

  std::printf("pipeline_bench: %llu events, %d partitions, 3 mock brokers, sync=%s\n",
              static_cast<unsigned long long>(n), partitions, no_sync ? "false" : "true");
  if (json_events > 0) {
    const DecodeFigures d = DecodeOnly(100'000);
    std::printf("  decoding alone (DecodeRecord, 100000 records, best of 5 rounds):\n"
                "    protobuf %.0f ns   JSON %.0f ns   JSON slow path only %.0f ns per record\n"
                "    (the fast path decodes %.2f x as fast as the slow path alone)\n",
                d.protobuf_ns, d.json_ns, d.json_slow_ns, d.json_slow_ns / d.json_ns);
    std::fflush(stdout);
  }
  const double bare = BareConsumer(cluster, n, partitions);
  std::printf("  bare librdkafka consumer        %10.0f msgs/s\n", bare);
  std::fflush(stdout);
  const PipelineRun full = RunPipeline(cluster, n, partitions, 0, !no_sync, "tput", dir);
  std::printf("  cird end to end (in -> out)     %10.0f events/s   (%.3f x the bare consumer)\n"
              "    register fsyncs: %.1f per 1000 events (group commit: one per flush)\n",
              full.events_per_s, full.events_per_s / bare,
              1000.0 * static_cast<double>(full.fsyncs) / static_cast<double>(n));
  std::fflush(stdout);
  const double rate = latency_rate > 0 ? latency_rate : full.events_per_s / 2;
  const PipelineRun timed =
      RunPipeline(cluster, latency_events, std::min(partitions, 16), rate, !no_sync, "lat", dir);
  std::printf("  event -> output latency at %.0f events/s (%.2f x the maximum), %zu transitions:\n"
              "    p50 %.2f ms   p99 %.2f ms   max %.2f ms\n",
              rate, rate / full.events_per_s, timed.latencies_ms.size(),
              Percentile(timed.latencies_ms, 0.50), Percentile(timed.latencies_ms, 0.99),
              Percentile(timed.latencies_ms, 1.0));
  std::fflush(stdout);
  if (json_events > 0) {
    // The same workload as binary-mode records with JSON data, beside protobuf data, each on
    // fresh topics and an empty register, back to back. Fewer events than phase 2: JSON records
    // are about twice the size, and the mock keeps ~5 MiB per partition.
    const PipelineRun proto = RunPipeline(cluster, json_events, partitions, 0, !no_sync,
                                          "fmt-proto", dir, 0, events::DataFormat::kProtobuf);
    const PipelineRun json = RunPipeline(cluster, json_events, partitions, 0, !no_sync,
                                         "fmt-json", dir, 0, events::DataFormat::kJson);
    // The baseline: JSON through the slow path alone (strict check + protobuf's parser), as
    // before the fast path (events/README.md).
    events::internal::SetFastPath(false);
    const PipelineRun slow = RunPipeline(cluster, json_events, partitions, 0, !no_sync,
                                         "fmt-slow", dir, 0, events::DataFormat::kJson);
    events::internal::SetFastPath(true);
    const auto events_count = static_cast<unsigned long long>(json_events);
    std::printf("  %llu events, protobuf input            %10.0f events/s\n"
                "  %llu events, JSON input                %10.0f events/s   (%.3f x protobuf "
                "input)\n"
                "  %llu events, JSON, slow path only      %10.0f events/s   (%.3f x protobuf "
                "input; the fast path is %.2f x this)\n",
                events_count, proto.events_per_s, events_count, json.events_per_s,
                json.events_per_s / proto.events_per_s, events_count, slow.events_per_s,
                slow.events_per_s / proto.events_per_s, json.events_per_s / slow.events_per_s);
    std::fflush(stdout);
  }
  if (idle_seconds > 0) {
    const PipelineRun idle =
        RunPipeline(cluster, 9 * bench::kWave, 4, 0, !no_sync, "idle", dir, idle_seconds);
    std::printf("  idle and caught up, 4 partitions, %.0f s: %.2f synced register writes/s "
                "(fsyncs; goal 0)\n",
                idle_seconds, idle.idle_synced_writes_per_s);
  }
  fs::remove_all(dir);
  return 0;
}
