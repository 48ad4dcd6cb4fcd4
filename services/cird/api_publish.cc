// POST /v1/events: the register API's write door (api.h). Events are validated, produced to the
// value-chain topic and acknowledged by Kafka before the answer; ingest appends them later like
// any other producer's.
#include <variant>

#include "api.h"
#include "api_internal.h"
#include "cir/events/cloudevents.h"

namespace cir::cird {
namespace {

using namespace api_internal;

// "application/json", in any case, with or without parameters ("; charset=utf-8"), parsed
// exactly as the Kafka binding parses content-type (no "application/jsonxyz", no other charset).
bool IsJsonMediaType(const std::string& value) {
  return events::ParseMediaType(value).value_or("") == "application/json";
}

// Compares without an early exit on the first differing byte.
bool SameSecret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

// The answer for events Kafka would not take: 413 when it refused them for good (too large,
// invalid), else 503 with Retry-After (`what` says at which stage).
HttpResponse KafkaFailed(const Error& error, const std::string& what) {
  if (error.code == ErrorCode::kInvalidArgument) {
    return JsonError(413, "Kafka refused the events for good: " + error.message);
  }
  return RetryLater(503, what + error.message +
                             "; publish again (duplicates are dropped by source and id)",
                    1);
}

}  // namespace

std::variant<std::vector<v1::ValueChainEvent>, HttpResponse> DecodePublishBody(
    const std::string& body, const ApiOptions& options) {
  // Checked before anything recurses into the body (nlohmann's DOM, protobuf's JSON parser).
  if (auto checked = events::CheckJson(body, options.max_json_depth); !checked) {
    return JsonError(400, "body is not a JSON object (one event, or {\"events\":[…]}): " +
                              checked.error().message);
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return JsonError(400, "body is not a JSON object (one event, or {\"events\":[…]})");
  }
  std::vector<json> items;
  if (doc.contains("events")) {
    if (doc.size() != 1 || !doc["events"].is_array()) {
      return JsonError(400, "a batch is {\"events\":[…]} and nothing else");
    }
    for (const auto& e : doc["events"]) items.push_back(e);
    if (items.empty() || items.size() > options.max_batch_events) {
      return JsonError(400, "a batch holds 1.." + std::to_string(options.max_batch_events) +
                                " events");
    }
  } else {
    items.push_back(doc);
  }
  std::vector<v1::ValueChainEvent> decoded;
  json errors = json::array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto event = events::DecodeJson(Dump(items[i]), options.limits);
    if (!event) {
      errors.push_back({{"index", i}, {"error", ValidUtf8(event.error().message)}});
    } else {
      decoded.push_back(std::move(*event));
    }
  }
  if (!errors.empty()) {
    return JsonError(400, std::to_string(errors.size()) + " of " + std::to_string(items.size()) +
                              " events are invalid; none was published",
                     errors);
  }
  return decoded;
}

std::optional<HttpResponse> Api::AdmitPublish(const HttpRequest& request) const {
  if (options_.publish_token.empty()) {
    return JsonError(403, "publishing through the API is off (start cird with CIRD_API_TOKEN)");
  }
  const std::string auth = request.Header("authorization");
  if (!SameSecret(auth, "Bearer " + options_.publish_token)) {
    return JsonError(401, auth.empty() ? "missing Authorization: Bearer <token>"
                                       : "bad bearer token");
  }
  if (!IsJsonMediaType(request.Header("content-type"))) {
    return JsonError(415, "content-type must be application/json");
  }
  return std::nullopt;
}

events::Producer* Api::GetProducer(std::string& error) {
  if (auto* p = producer_ptr_.load()) return p;
  MutexLock lock(producer_mu_);
  if (!producer_) {
    auto created = events::Producer::Create(
        options_.kafka, [this](std::uint64_t tag, std::optional<Error> e) {
          Delivered(tag, std::move(e));
        });
    if (!created) {
      error = created.error().message;
      return nullptr;
    }
    producer_ = std::move(*created);
    producer_ptr_.store(producer_.get());
  }
  return producer_.get();
}

void Api::Delivered(std::uint64_t tag, std::optional<Error> error) {
  MutexLock lock(pending_mu_);
  auto it = pending_.find(tag);
  if (it == pending_.end()) return;  // the request gave up waiting
  if (it->second.outstanding > 0) --it->second.outstanding;
  if (error && !it->second.error) it->second.error = std::move(error);
}

std::optional<HttpResponse> Api::AwaitDeliveries(events::Producer& producer, std::uint64_t tag) {
  const auto deadline = std::chrono::steady_clock::now() + options_.publish_timeout;
  for (;;) {
    {
      MutexLock lock(pending_mu_);
      const Pending& p = pending_[tag];
      if (p.outstanding == 0) {
        if (p.error) return KafkaFailed(*p.error, "Kafka refused the events: ");
        return std::nullopt;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return RetryLater(503, "Kafka did not acknowledge the events in " +
                                 std::to_string(options_.publish_timeout.count()) +
                                 " ms; publish again (duplicates are dropped by source and id)",
                        1);
    }
    producer.Poll(std::chrono::milliseconds(20));
  }
}

HttpResponse Api::Publish(const HttpRequest& request) {
  if (auto refused = AdmitPublish(request)) return *refused;
  auto decoded_or = DecodePublishBody(request.body, options_);
  if (auto* refused = std::get_if<HttpResponse>(&decoded_or)) return *refused;
  const auto& decoded = std::get<std::vector<v1::ValueChainEvent>>(decoded_or);
  std::string unreachable;
  events::Producer* producer = GetProducer(unreachable);
  if (producer == nullptr) return RetryLater(503, "cannot reach Kafka: " + unreachable, 5);

  // This request's records share a tag; it waits for their acknowledgements only, polling the
  // producer itself (librdkafka allows concurrent polls). No lock is held while waiting.
  std::uint64_t tag = 0;
  {
    MutexLock lock(pending_mu_);
    tag = next_tag_++;
    pending_[tag].outstanding = decoded.size();
  }
  struct Forget {
    Api* api;
    std::uint64_t tag;
    ~Forget() {
      MutexLock lock(api->pending_mu_);
      api->pending_.erase(tag);
    }
  } forget{this, tag};
  for (const auto& e : decoded) {
    auto ok = producer->Produce(options_.publish_topic,
                                events::EncodeEvent(e, events::DataFormat::kProtobuf), tag);
    if (!ok) return KafkaFailed(ok.error(), "Kafka did not take the events: ");
  }
  if (auto failed = AwaitDeliveries(*producer, tag)) return *failed;
  json accepted = json::array();
  for (const auto& e : decoded) accepted.push_back({{"source", e.source()}, {"id", e.id()}});
  return Ok(json{{"accepted", accepted}, {"topic", options_.publish_topic}}, 202);
}

}  // namespace cir::cird
