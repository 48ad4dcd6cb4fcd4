// What cird's main sets up before the pipeline runs, apart from main's wiring: embedded Kafka,
// a temporary data directory, the health routes and the HTTP servers' limits from the config.
#pragma once

#include <memory>
#include <string>

#include "cir/base/error.h"
#include "cir/events/kafka.h"
#include "config.h"
#include "http_server.h"
#include "probe.h"

namespace cir::cird {

// --embedded-kafka: librdkafka's mock cluster (3 brokers) with every topic of `config` created
// up front (--embedded-partitions each); `config.brokers` is pointed at it. The cluster lives
// as long as the returned object.
[[nodiscard]] Result<std::unique_ptr<events::MockCluster>> StartEmbeddedKafka(Config& config);

// No --data-dir: the register goes to a new directory under the system's temporary directory,
// removed again when this object is destroyed. With --data-dir nothing is created or removed.
class TempDataDir {
 public:
  TempDataDir() = default;
  ~TempDataDir();
  TempDataDir(const TempDataDir&) = delete;
  TempDataDir& operator=(const TempDataDir&) = delete;

  // Sets `config.data_dir` to a new temporary directory when it is empty.
  [[nodiscard]] Result<void> Apply(Config& config);

 private:
  std::string path_;  // empty: nothing to remove
};

// /metrics, /livez and /readyz on `server`: not rate-limited and not behind the API's
// concurrency gate, so health answers while the API is busy. `probe` must outlive the server.
void AddHealthRoutes(HttpServer& server, Probe& probe);

// The main HTTP server's limits (--api-max-body-bytes, --api-rate-limit, --http-threads,
// --http-request-timeout) and the health server's (--health-port: 4 threads, tiny bodies).
[[nodiscard]] HttpLimits ApiHttpLimits(const Config& config);
[[nodiscard]] HttpLimits HealthHttpLimits(const Config& config);

}  // namespace cir::cird
