// The register's read API (and the optional write door), served by cird over HTTP with JSON
// bodies in protobuf's JSON mapping. The contract is ops/openapi.yaml; api*.cc implement it. Reads go straight to RocksDB (thread-safe, snapshot reads) and never wait for
// the ingest thread.
//
//   GET  /v1/initiatives                 list: filters, sort, opaque page tokens, bounded pages
//   GET  /v1/initiatives/{id}            one initiative with targets' progress and principles
//   GET  /v1/initiatives/{id}/events     its history, paginated by revision
//   GET  /v1/initiatives/{id}/transitions  its step transitions (refolded from the history)
//   GET  /v1/alerts?state=firing&kind=…  alerts firing now
//   GET  /v1/register/stats              counts per step, outcomes, cycle times, alerts by kind
//   POST /v1/events                      one event or {"events":[…]}: validated, then produced to
//                                        the value-chain topic (off unless a token is configured)
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cir/base/thread_annotations.h"
#include "cir/events/codec.h"
#include "cir/events/kafka.h"
#include "cir/storage/register.h"
#include "http_server.h"

namespace cir::cird {

struct ApiOptions {
  std::size_t max_page_size = 200;
  std::size_t default_page_size = 50;
  std::size_t max_batch_events = 500;
  // POST /v1/events: enabled when the token is not empty; requests need "Bearer <token>".
  std::string publish_token;
  std::string publish_topic;
  events::KafkaSettings kafka;
  events::Limits limits;
  // Request bodies nested deeper than this (objects and arrays) are refused before parsing.
  std::size_t max_json_depth = 64;
  // A list, alerts or stats call that scans the register for longer stops and answers 503.
  std::chrono::milliseconds scan_budget{2000};
  // Scanning calls (list, alerts, stats) running at once; more get 503 + Retry-After at once.
  int max_scans = 2;
  // How long a computed /v1/register/stats answer is served again.
  std::chrono::milliseconds stats_cache{1000};
  // How long POST /v1/events waits for Kafka to acknowledge its events.
  std::chrono::milliseconds publish_timeout{10000};
};

// The body of POST /v1/events → the events it holds, every one validated; or the 400 answer
// (a JSON error naming each bad event by index). Nothing is published. Exposed for the fuzz
// target (tests/fuzz) and tests.
[[nodiscard]] std::variant<std::vector<v1::ValueChainEvent>, HttpResponse> DecodePublishBody(
    const std::string& body, const ApiOptions& options);

class Api {
 public:
  // `projector` (not owned) must outlive the Api; it refolds histories for /transitions.
  Api(ApiOptions options, const storage::Projector& projector);
  ~Api();

  // Adds the /v1 routes to `server` (before it starts).
  void Register(HttpServer& server);

  // The register to read; until then the routes answer 503. Not owned; must outlive the Api (or
  // be detached first).
  void Attach(storage::Register* reg) { reg_.store(reg); }

 private:
  // One handler per endpoint; each answers 503 until a register is attached. Thread-safe.
  HttpResponse List(const HttpRequest& request) const;     // api_list.cc
  HttpResponse Alerts(const HttpRequest& request) const;   // api_list.cc
  HttpResponse Stats(const HttpRequest& request) const;    // api_stats.cc
  // /v1/initiatives/{id}[/events|/transitions]: checks the id, the path and the query, then
  // calls one of the three below (api.cc).
  HttpResponse RouteInitiative(const HttpRequest& request) const;
  // api_initiative.cc. REQUIRES: `id` is a valid id (ValidId).
  HttpResponse GetInitiative(storage::Register& reg, const std::string& id) const;
  HttpResponse GetEvents(storage::Register& reg, const std::string& id,
                         const HttpRequest& request) const;
  HttpResponse GetTransitions(storage::Register& reg, const std::string& id,
                              const HttpRequest& request) const;
  HttpResponse Publish(const HttpRequest& request);  // api_publish.cc
  // The checks on the request head of POST /v1/events (before its body is read).
  std::optional<HttpResponse> AdmitPublish(const HttpRequest& request) const;
  // The producer, created on first use. Null (and `error` set) when Kafka cannot be reached.
  events::Producer* GetProducer(std::string& error) EXCLUDES(producer_mu_);
  void Delivered(std::uint64_t tag, std::optional<Error> error) EXCLUDES(pending_mu_);
  // Polls `producer` until every record tagged `tag` is acknowledged: nullopt when all were,
  // else the answer (refused, or not acknowledged within publish_timeout).
  std::optional<HttpResponse> AwaitDeliveries(events::Producer& producer, std::uint64_t tag);

  const ApiOptions options_;
  const storage::Projector& projector_;
  std::atomic<storage::Register*> reg_{nullptr};
  mutable std::atomic<int> scans_{0};

  // Held only to create the producer, never across Produce, Poll or Flush.
  Mutex producer_mu_;
  std::unique_ptr<events::Producer> producer_ GUARDED_BY(producer_mu_);
  // producer_.get() once created, read without the lock.
  std::atomic<events::Producer*> producer_ptr_{nullptr};

  // Deliveries outstanding per publish request (the tag of its records).
  struct Pending {
    std::size_t outstanding = 0;
    std::optional<Error> error;
  };
  Mutex pending_mu_;
  std::map<std::uint64_t, Pending> pending_ GUARDED_BY(pending_mu_);
  std::uint64_t next_tag_ GUARDED_BY(pending_mu_) = 1;

  mutable Mutex stats_mu_;  // one stats scan at a time; guards the cache
  mutable std::optional<std::pair<std::chrono::steady_clock::time_point, std::string>>
      stats_cached_ GUARDED_BY(stats_mu_);
};

}  // namespace cir::cird
