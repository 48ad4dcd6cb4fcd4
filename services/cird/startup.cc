// cird's start-up helpers (startup.h).
#include "startup.h"

#include <cstdlib>
#include <filesystem>

#include "cir/base/log.h"

namespace cir::cird {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

Result<std::unique_ptr<events::MockCluster>> StartEmbeddedKafka(Config& config) {
  auto started = events::MockCluster::Start(3);
  if (!started) return std::unexpected(started.error());
  auto& mock = *started;
  for (const auto& topic : config.input_topics) {
    (void)mock->CreateTopic(topic, config.embedded_partitions, 3);
  }
  for (const auto* topic :
       {&config.transitions_topic, &config.alerts_topic, &config.dead_letter_topic}) {
    (void)mock->CreateTopic(*topic, config.embedded_partitions, 3);
  }
  config.brokers = mock->Bootstraps();
  log::Info("embedded Kafka started (librdkafka mock cluster, 3 brokers)",
            {{"brokers", config.brokers}});
  return std::move(mock);
}

TempDataDir::~TempDataDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

Result<void> TempDataDir::Apply(Config& config) {
  if (!config.data_dir.empty()) return {};
  std::string pattern = (fs::temp_directory_path() / "cird-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Fail(ErrorCode::kIo, "cannot create a temporary data directory " + pattern);
  }
  config.data_dir = path_ = pattern;
  log::Info("register in a temporary directory", {{"data_dir", config.data_dir}});
  return {};
}

void AddHealthRoutes(HttpServer& server, Probe& probe) {
  RouteOptions health;
  health.rate_limited = false;
  health.gated = false;
  server.Route("/metrics", {"GET"}, [&probe](const HttpRequest&) {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", probe.Scrape(), {}};
  }, health);
  server.Route("/livez", {"GET"}, [&probe](const HttpRequest&) {
    auto alive = probe.Alive(std::chrono::seconds(60));
    return HttpResponse{alive.ready ? 200 : 503, "application/json", alive.body, {}};
  }, health);
  server.Route("/readyz", {"GET"}, [&probe](const HttpRequest&) {
    auto ready = probe.Ready();
    return HttpResponse{ready.ready ? 200 : 503, "application/json", ready.body, {}};
  }, health);
}

HttpLimits ApiHttpLimits(const Config& config) {
  HttpLimits limits;
  limits.max_body_bytes = config.api_max_body_bytes;
  limits.requests_per_second = config.api_rate_limit;
  limits.threads = config.http_threads;
  limits.request_timeout = config.http_request_timeout;
  limits.body_timeout = config.http_request_timeout;
  return limits;
}

HttpLimits HealthHttpLimits(const Config& config) {
  HttpLimits limits;
  limits.threads = 4;
  limits.max_body_bytes = 1024;
  limits.request_timeout = std::min(config.http_request_timeout, milliseconds(5000));
  limits.body_timeout = limits.request_timeout;
  return limits;
}

}  // namespace cir::cird
