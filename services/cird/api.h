// The register's read API (and the optional write door), served by cird over HTTP with JSON
// bodies in protobuf's JSON mapping. The contract is ops/openapi.yaml; this file is its
// implementation. Reads go straight to RocksDB (thread-safe, snapshot reads) and never wait for
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
#include <memory>
#include <mutex>
#include <string>

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
};

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
  HttpResponse List(const HttpRequest& request) const;
  HttpResponse Initiative(const HttpRequest& request) const;
  HttpResponse Alerts(const HttpRequest& request) const;
  HttpResponse Stats(const HttpRequest& request) const;
  HttpResponse Publish(const HttpRequest& request);

  const ApiOptions options_;
  const storage::Projector& projector_;
  std::atomic<storage::Register*> reg_{nullptr};
  std::mutex producer_mu_;
  std::unique_ptr<events::Producer> producer_;  // GUARDED_BY(producer_mu_), created lazily
};

}  // namespace cir::cird
