// The register against hostile input and its own past: idempotency keys that mean what they say,
// events it could not parse back refused, outbox records that can never be sent parked, and a
// register written by an older version (invalid UTF-8 in proto3 strings) repaired.
#include <gtest/gtest.h>

#include <algorithm>

#include "cir/base/utf8.h"
#include "cir/storage/register.h"
#include "raw_db.h"
#include "register_fixture.h"

namespace cir::storage {
namespace {

using testing::Event;
using testing::Inbound;
using testing::Ok;
using testing::Value;
using Status = EventOutcome::Status;

const std::string kBad = "x\xff\xfe";

class HostileRegisterTest : public testing::RegisterFixture {
 protected:
  AppendResult Append(Register& reg, std::vector<InboundEvent> events) {
    AppendRequest request;
    request.events = std::move(events);
    return Value(reg.Append(request, projector_));
  }
};

TEST_F(HostileRegisterTest, TheSameIdWithOtherContentIsAConflictNotADuplicate) {
  auto reg = Open();
  v1::ValueChainEvent changed = Event("e1", "a", 1);
  changed.mutable_kpi_measured()->set_value(99);
  // In one batch: the original, a byte-identical repeat, and a changed copy.
  const AppendResult r1 =
      Append(*reg, {Inbound(Event("e1", "a", 1), 0), Inbound(Event("e1", "a", 1), 1),
                    Inbound(changed, 2)});
  ASSERT_EQ(r1.events.size(), 3u);
  EXPECT_EQ(r1.events[0].status, Status::kAppended);
  EXPECT_EQ(r1.events[1].status, Status::kDuplicate);
  EXPECT_EQ(r1.events[2].status, Status::kRejected);
  EXPECT_EQ(r1.events[2].reason_code, "ID_CONFLICT");
  EXPECT_NE(r1.events[2].reason.find("different content"), std::string::npos);
  // Across batches and a reopen: the stored event is the reference.
  reg.reset();
  reg = Open();
  const AppendResult r2 = Append(*reg, {Inbound(changed, 3), Inbound(Event("e1", "a", 1), 4)});
  EXPECT_EQ(r2.events[0].reason_code, "ID_CONFLICT");
  EXPECT_EQ(r2.events[1].status, Status::kDuplicate);
  // Both conflicts are dead letters in the outbox, carrying the conflicting record.
  const auto outbox = Value(reg->ReadOutbox(0, 0, 100));
  int conflicts = 0;
  for (const auto& record : outbox) {
    if (record.has_dead_letter() && record.dead_letter().reason_code() == "ID_CONFLICT") {
      ++conflicts;
      v1::ValueChainEvent carried;
      ASSERT_TRUE(carried.ParseFromString(record.dead_letter().value()));
      EXPECT_EQ(carried.kpi_measured().value(), 99);
    }
  }
  EXPECT_EQ(conflicts, 2);
  EXPECT_EQ(Value(reg->History(0, "a")).size(), 1u);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(HostileRegisterTest, AnEventThatCouldNotBeParsedBackIsRefused) {
  auto reg = Open();
  v1::ValueChainEvent bad = Event("e1", "a", 1);
  bad.set_id(kBad);
  v1::ValueChainEvent bad_kpi = Event("e2", "a", 2);
  bad_kpi.mutable_kpi_measured()->set_kpi(kBad);
  const AppendResult r = Append(*reg, {Inbound(bad, 0), Inbound(bad_kpi, 1)});
  EXPECT_EQ(r.events[0].status, Status::kRejected);
  EXPECT_EQ(r.events[0].reason_code, "INVALID_EVENT");
  EXPECT_EQ(r.events[1].reason_code, "INVALID_EVENT");
  EXPECT_EQ(r.events[1].reason, "kpi_measured.kpi: not valid UTF-8");
  // Everything written parses back: the outbox, the (empty) stream, verify.
  EXPECT_EQ(Value(reg->ReadOutbox(0, 0, 10)).size(), 2u);
  EXPECT_TRUE(Value(reg->History(0, "a")).empty());
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(HostileRegisterTest, AParkedRecordLeavesTheOutboxAndIsListed) {
  auto reg = Open();
  AppendRequest request;
  v1::DeadLetter dl;
  dl.set_reason_code("DECODE_ERROR");
  dl.set_reason("a reason quoting " + kBad);  // made valid UTF-8 by the register
  dl.set_value("v");
  request.dead_letters = {dl, dl};
  request.offsets = {{"in", 2}};
  ASSERT_EQ(Value(reg->Append(request, projector_)).outbox.size(), 2u);
  Ok(reg->ParkOutbox(0, 1, "produce: Broker: Message size too large"));
  Ok(reg->ParkOutbox(0, 1, "again"));  // already parked: nothing happens
  const auto left = Value(reg->ReadOutbox(0, 0, 10));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].seq(), 2u);
  EXPECT_EQ(left[0].dead_letter().reason(), "a reason quoting x\\xFF\\xFE");
  reg.reset();
  reg = Open();
  const auto parked = Value(reg->Parked());
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].seq(), 1u);
  EXPECT_EQ(parked[0].reason(), "produce: Broker: Message size too large");
  v1::OutboxRecord original;
  ASSERT_TRUE(original.ParseFromString(parked[0].record()));
  EXPECT_EQ(original.dead_letter().reason_code(), "DECODE_ERROR");
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

// What versions before 0.2 could write: proto3 strings holding invalid UTF-8, which protobuf
// serializes (with a logged error) but refuses to parse.
// A register written before the partitions' summaries and the index, with a projection an old
// version wrote (a string that is not UTF-8): Open cannot count or index that projection, yet
// opens (else nothing could repair it), Summarize still answers for the partitions it could
// count, and Repair fixes the projection, counts the summary and indexes it.
TEST_F(HostileRegisterTest, AnOldRegisterWithAnUnparsableProjectionOpensAndRepairCountsIt) {
  {
    auto reg = Open();
    AppendRequest request;
    request.events = {Inbound(Event("e1", "a", 1), 0)};
    (void)Value(reg->Append(request, projector_));
    request.partition = 1;
    request.events = {Inbound(Event("e2", "b", 1), 0)};
    (void)Value(reg->Append(request, projector_));
  }
  {
    auto raw = testing::OpenRaw(Opts());
    const std::string key = internal::ProjectionKey(0, "a");
    auto state = Value(raw->GetProto<v1::Initiative>(internal::Cf::kProjections, key));
    ASSERT_TRUE(state.has_value());
    state->set_title("t" + kBad);
    ASSERT_TRUE(raw->raw()
                    ->Put(rocksdb::WriteOptions(), raw->cf(internal::Cf::kProjections), key,
                          state->SerializeAsString())
                    .ok());
    // As before the index existed: none, and no marker.
    rocksdb::WriteBatch drop;
    ASSERT_TRUE(drop.DeleteRange(raw->cf(internal::Cf::kIndex), "", std::string(5, '\xff')).ok());
    ASSERT_TRUE(drop.Delete(raw->cf(internal::Cf::kDefault), "index-built").ok());
    ASSERT_TRUE(raw->raw()->Write(rocksdb::WriteOptions(), &drop).ok());
    for (std::uint32_t p : {0u, 1u}) {  // as before the summaries existed
      auto meta = Value(raw->GetProto<v1::PartitionMeta>(internal::Cf::kMeta, internal::MetaKey(p)));
      ASSERT_TRUE(meta.has_value());
      meta->clear_summary();
      ASSERT_TRUE(raw->raw()
                      ->Put(rocksdb::WriteOptions(), raw->cf(internal::Cf::kMeta),
                            internal::MetaKey(p), meta->SerializeAsString())
                      .ok());
    }
  }
  auto reg = Open();
  EXPECT_EQ(Value(reg->Summarize({1})).initiatives, 1u);  // counted at Open
  EXPECT_FALSE(reg->Summarize({0, 1}).has_value());      // partition 0 is scanned: corruption
  const RepairReport report = Value(reg->Repair(projector_));
  EXPECT_EQ(report.records_rewritten, 1u);
  EXPECT_EQ(Value(reg->Summarize({0, 1})).initiatives, 2u);
  // The index Open built left the unparsable projection out; Repair built it again with it.
  const IndexTerm vision{.field = IndexField::kStep, .number = 0, .text = {}};
  EXPECT_EQ(Value(reg->CountIndexed({0, 1}, vision)), 2u);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
  reg.reset();
  auto raw = testing::OpenRaw(Opts());
  auto meta = Value(raw->GetProto<v1::PartitionMeta>(internal::Cf::kMeta, internal::MetaKey(0)));
  ASSERT_TRUE(meta.has_value());
  EXPECT_TRUE(meta->has_summary()) << "Repair counted partition 0";
  EXPECT_EQ(meta->summary().initiatives(), 1u);
}

TEST_F(HostileRegisterTest, ARegisterWithUnparsableRecordsIsReadAndRepaired) {
  {
    auto reg = Open();
    AppendRequest request;
    request.events = {Inbound(Event("e1", "a", 1), 0), Inbound(Event("e2", "a", 2), 1)};
    request.dead_letters.resize(2);  // outbox seqs 1 and 2, overwritten below
    ASSERT_EQ(Value(reg->Append(request, projector_)).outbox.size(), 2u);
  }
  // The second event's id, and an outbox dead letter, as an old version wrote them.
  auto raw = testing::OpenRaw(Opts());
  const std::string event_key = internal::EventKey(0, "a", 2);
  auto stored = Value(raw->GetProto<v1::StoredEvent>(internal::Cf::kEvents, event_key));
  ASSERT_TRUE(stored.has_value());
  stored->mutable_value_chain()->set_id("e2" + kBad);
  ASSERT_TRUE(raw->raw()
                  ->Put(rocksdb::WriteOptions(), raw->cf(internal::Cf::kEvents), event_key,
                        stored->SerializeAsString())
                  .ok());
  v1::OutboxRecord old;
  old.set_seq(1);
  old.mutable_dead_letter()->set_reason_code("DECODE_ERROR");
  old.mutable_dead_letter()->set_reason("bad id " + kBad);
  ASSERT_TRUE(raw->raw()
                  ->Put(rocksdb::WriteOptions(), raw->cf(internal::Cf::kOutbox),
                        internal::OutboxKey(0, 1), old.SerializeAsString())
                  .ok());
  // Not protobuf at all.
  ASSERT_TRUE(raw->raw()
                  ->Put(rocksdb::WriteOptions(), raw->cf(internal::Cf::kOutbox),
                        internal::OutboxKey(0, 2), std::string("\xff\xff\xff\xff", 4))
                  .ok());
  raw.reset();

  auto reg = Open();
  // The outbox reads instead of failing: repaired in memory, or without a kind (to be parked).
  const auto outbox = Value(reg->ReadOutbox(0, 0, 10));
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[0].dead_letter().reason(), "bad id x\\xFF\\xFE");
  EXPECT_EQ(outbox[1].kind_case(), v1::OutboxRecord::KIND_NOT_SET);
  EXPECT_EQ(outbox[1].seq(), 2u);
  EXPECT_FALSE(reg->History(0, "a").has_value());  // the stream does not parse: corruption
  const auto before = reg->Verify(projector_);
  EXPECT_TRUE(!before.has_value() || !before->problems.empty());

  const RepairReport report = Value(reg->Repair(projector_));
  EXPECT_EQ(report.records_rewritten, 2u);  // the event and the outbox record
  EXPECT_EQ(report.outbox_parked, 1u);      // the one beyond repair
  EXPECT_EQ(report.dedupe_fixed, 2u);       // the old key dropped, the repaired id's added
  EXPECT_TRUE(report.unrepairable.empty());
  const auto history = Value(reg->History(0, "a"));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].value_chain().id(), "e2x\\xFF\\xFE");
  EXPECT_EQ(Value(reg->Parked()).size(), 1u);
  const auto after = Value(reg->Verify(projector_));
  for (const auto& problem : after.problems) ADD_FAILURE() << problem;
  // A second repair finds nothing to do.
  const RepairReport again = Value(reg->Repair(projector_));
  EXPECT_EQ(again.records_rewritten + again.outbox_parked + again.dedupe_fixed, 0u);
}

}  // namespace
}  // namespace cir::storage

namespace cir::storage {
namespace {

// An initiative whose id (and so its keys) is not UTF-8 cannot be re-keyed by a repair: it is
// reported, and nothing unparsable is written for it.
TEST_F(HostileRegisterTest, AnInitiativeKeyedByInvalidUtf8IsReportedNotRewritten) {
  { auto reg = Open(); }
  const std::string bad_id = "id" + kBad;
  v1::StoredEvent stored;
  stored.set_revision(1);
  *stored.mutable_value_chain() = Event("e1", bad_id, 1);
  testing::RawPut(Opts(), internal::Cf::kEvents, internal::EventKey(0, bad_id, 1),
                  stored.SerializeAsString());
  auto reg = Open();
  const auto report = reg->Repair(projector_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(std::count_if(report->unrepairable.begin(), report->unrepairable.end(),
                          [](const std::string& p) {
                            return p.find("is not valid UTF-8") != std::string::npos;
                          }),
            1);
  // The dedupe index holds nothing it could not parse back.
  reg.reset();
  auto raw = testing::OpenRaw(Opts());
  for (internal::Scan scan(*raw, internal::Cf::kDedupe, std::string(), std::nullopt);
       scan.Valid(); scan.Next()) {
    v1::DedupeEntry entry;
    EXPECT_TRUE(entry.ParseFromArray(scan.value().data(), static_cast<int>(scan.value().size())));
  }
}

}  // namespace
}  // namespace cir::storage
