// Fuzz target: the whole record path of cird, as one Kafka record takes it.
//
//   bytes → a Kafka record (key, value, headers) → events::DecodeRecord → Register::Append (the
//   real model) → Register::ReadOutbox → the bytes cird would produce (EncodeOutput /
//   EncodeDeadLetter)
//
// and the invariants a hostile record must never break: nothing throws or aborts; what the
// register wrote parses back (ReadOutbox, History, ToJson of every stored record); a dead letter
// fits the producer's limit; cird's own headers are valid UTF-8 and appear once.
//
// The input is split by FuzzedDataProvider: a selector for the content-type and attribute
// headers (so that most inputs reach the decoders instead of failing on a missing header), the
// key, extra headers, and the value. Seeds: tests/fuzz/corpus/record/.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "cir/base/utf8.h"
#include "cir/events/cloudevents.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"

namespace {

using namespace cir;

[[noreturn]] void Broken(const std::string& what) {
  std::fprintf(stderr, "record_fuzz: invariant broken: %s\n", what.c_str());
  std::abort();
}

struct World {
  std::string dir;
  std::unique_ptr<storage::Register> reg;
  std::unique_ptr<storage::Projector> projector;
  events::Limits limits;
  std::int64_t offset = 0;

  World() {
    char pattern[] = "/tmp/cir-record-fuzz-XXXXXX";
    if (mkdtemp(pattern) == nullptr) Broken("mkdtemp");
    dir = pattern;
    storage::Options options;
    options.path = dir + "/db";
    options.sync = false;
    options.block_cache_bytes = 4u << 20;
    options.write_buffer_bytes = 4u << 20;
    auto opened = storage::Register::Open(options);
    if (!opened) Broken("open: " + opened.error().ToString());
    reg = std::move(*opened);
    projector = model::MakeProjector(model::Config{});
    limits.max_dead_letter_bytes = 128 * 1024;
  }
  ~World() {
    reg.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

World& TheWorld() {
  static World world;
  return world;
}

const char* const kContentTypes[] = {
    "application/json", "application/protobuf", "application/cloudevents+json",
    "application/json; charset=utf-8", "text/plain", ""};
const char* const kTypes[] = {"dev.cir.v1.InitiativeProposed", "dev.cir.v1.KpiMeasured",
                              "dev.cir.v1.TargetSet", "dev.cir.v1.BaselineMeasured",
                              "dev.cir.v1.PlanDefined", "dev.cir.v1.ActionUpdated",
                              "dev.cir.v1.ReviewConcluded", "dev.cir.v1.MomentumRecorded"};

void CheckProduced(const events::Record& out, const World& world, bool dead_letter) {
  std::size_t bytes = (out.key ? out.key->size() : 0) + (out.value ? out.value->size() : 0);
  int reason_codes = 0;
  for (const auto& [name, value] : out.headers) {
    bytes += name.size() + value.size();
    if (name.rfind("cir_dlq_", 0) == 0 && !utf8::Valid(value)) Broken("non-UTF-8 " + name);
    if (name == "cir_dlq_reason_code") ++reason_codes;
  }
  if (dead_letter && reason_codes != 1) Broken("cir_dlq_reason_code appears " +
                                               std::to_string(reason_codes) + " times");
  if (dead_letter && bytes > world.limits.max_dead_letter_bytes) {
    Broken("dead letter of " + std::to_string(bytes) + " bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& world = TheWorld();
  FuzzedDataProvider in(data, size);

  events::Record record;
  record.topic = "fuzz.in";
  record.partition = 0;
  record.offset = world.offset++;
  const std::uint8_t shape = in.ConsumeIntegral<std::uint8_t>();
  const char* content_type = kContentTypes[shape % std::size(kContentTypes)];
  if (*content_type != '\0') record.headers.emplace_back("content-type", content_type);
  if ((shape & 0x40) == 0) {
    record.headers.emplace_back("ce_specversion", "1.0");
    record.headers.emplace_back("ce_id", in.ConsumeRandomLengthString(64));
    record.headers.emplace_back("ce_source", (shape & 0x80) ? "//fuzz" : in.ConsumeRandomLengthString(32));
    record.headers.emplace_back("ce_type", kTypes[in.ConsumeIntegral<std::uint8_t>() % std::size(kTypes)]);
    if (in.ConsumeBool()) record.headers.emplace_back("ce_time", in.ConsumeRandomLengthString(40));
  }
  if (in.ConsumeBool()) record.key = in.ConsumeRandomLengthString(64);
  const int extra = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < extra; ++i) {
    std::string name = in.ConsumeRandomLengthString(24);
    record.headers.emplace_back(std::move(name), in.ConsumeRandomLengthString(64));
  }
  if (in.ConsumeIntegralInRange(0, 31) != 0) record.value = in.ConsumeRemainingBytesAsString();

  storage::AppendRequest request;
  request.partition = 0;
  request.offsets.emplace_back(record.topic, record.offset + 1);
  auto decoded = events::DecodeRecord(record, world.limits);
  if (decoded) {
    v1::DeadLetter original;
    if (record.key) original.set_key(*record.key);
    if (record.value) original.set_value(*record.value);
    for (const auto& [k, v] : record.headers) {
      auto* h = original.add_headers();
      h->set_key(k);
      h->set_value(v);
    }
    request.events.push_back(storage::InboundEvent{*decoded, record.topic, record.offset,
                                                   std::move(original)});
  } else {
    if (!utf8::Valid(decoded.error().reason)) Broken("non-UTF-8 reason");
    request.dead_letters.push_back(events::MakeDeadLetter(record, decoded.error(), world.limits));
  }
  auto appended = world.reg->Append(request, *world.projector);
  if (!appended) Broken("append: " + appended.error().ToString());

  // What was written reads back, and every record cird would produce keeps the invariants.
  auto outbox = world.reg->ReadOutbox(0, 0, 1000);
  if (!outbox) Broken("read outbox: " + outbox.error().ToString());
  std::vector<std::uint64_t> seqs;
  for (const v1::OutboxRecord& entry : *outbox) {
    if (entry.kind_case() == v1::OutboxRecord::KIND_NOT_SET) Broken("an outbox record lost its kind");
    if (!utf8::CheckMessage(entry)) Broken("outbox record with invalid UTF-8");
    if (entry.has_dead_letter()) {
      CheckProduced(events::EncodeDeadLetter(entry.dead_letter()), world, true);
    } else {
      CheckProduced(events::EncodeOutput(entry.output(), "//cird/fuzz"), world, false);
      if (!events::ToJson(entry.output())) Broken("an output that does not print");
    }
    seqs.push_back(entry.seq());
  }
  if (auto acked = world.reg->AckOutbox(0, seqs); !acked) Broken("ack: " + acked.error().ToString());
  for (const auto& outcome : appended->events) {
    if (outcome.status == storage::EventOutcome::Status::kRejected) continue;
    auto history = world.reg->History(0, outcome.initiative_id);
    if (!history) Broken("history: " + history.error().ToString());
    for (const auto& stored : *history) {
      if (!events::ToJson(stored)) Broken("a stored event that does not print");
    }
    auto projection = world.reg->GetInitiative(0, outcome.initiative_id);
    if (!projection) Broken("projection: " + projection.error().ToString());
    if (*projection && !events::ToJson(**projection)) Broken("a projection that does not print");
  }
  return 0;
}
