// The register on RocksDB: appends, dedupe, rejection, ignoring, outbox, offsets, reads, Open.
#include "cir/storage/register.h"

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include "raw_db.h"
#include "register_fixture.h"

namespace cir::storage {
namespace {

using testing::Event;
using testing::Inbound;
using testing::Ok;
using testing::TestProjector;
using testing::Value;
using Status = EventOutcome::Status;

using RegisterTest = testing::RegisterFixture;

TEST_F(RegisterTest, AppendStoresEventsProjectionsOffsetsAndOutboxDurably) {
  {
    auto reg = Open();
    AppendRequest request;
    request.events = {Inbound(Event("a1", "a", 100), 10), Inbound(Event("a2", "a", 200), 11),
                      Inbound(Event("b1", "b", 150), 12), Inbound(Event("a3", "a", 300), 13)};
    request.offsets = {{"value-chain", 14}};
    const AppendResult result = Value(reg->Append(request, projector_));
    ASSERT_EQ(result.events.size(), 4u);
    EXPECT_EQ(result.appended, 4u);
    EXPECT_EQ(result.events[0].revision, 1u);
    EXPECT_EQ(result.events[1].revision, 2u);
    EXPECT_EQ(result.events[2].initiative_id, "b");
    EXPECT_EQ(result.events[2].revision, 1u);
    EXPECT_EQ(result.events[3].revision, 3u);
    ASSERT_EQ(result.outbox.size(), 1u);  // a's third event
    EXPECT_EQ(result.outbox[0].seq(), 1u);
    EXPECT_EQ(result.outbox[0].output().transition().id(), "a/t/1");
  }
  auto reg = Open();  // everything below is read back from disk
  const auto history = Value(reg->History(0, "a"));
  ASSERT_EQ(history.size(), 3u);
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].revision(), i + 1);
    EXPECT_EQ(history[i].disposition(), v1::DISPOSITION_APPLIED);
    EXPECT_EQ(history[i].source_topic(), "value-chain");
    EXPECT_EQ(history[i].partition(), 0u);
    EXPECT_EQ(history[i].recorded_at().seconds(), clock_.Now().seconds());
  }
  EXPECT_EQ(history[1].value_chain().id(), "a2");
  EXPECT_EQ(history[1].source_offset(), 11);
  const auto a = Value(reg->GetInitiative(0, "a"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->revision(), 3u);
  EXPECT_EQ(a->iteration(), 3u);
  ASSERT_EQ(a->timers_size(), 1);
  EXPECT_EQ(a->timers(0).due_at().seconds(), 300 + 3600);
  EXPECT_EQ(Value(reg->Offset(0, "value-chain")), std::optional<std::int64_t>(14));
  EXPECT_EQ(Value(reg->Offset(0, "other")), std::nullopt);
  EXPECT_EQ(Value(reg->Offset(1, "value-chain")), std::nullopt);
  const auto outbox = Value(reg->ReadOutbox(0, 0, 100));
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].output().transition().cause_event_id(), "a3");
  EXPECT_EQ(outbox[0].partition(), 0u);
  const Stats stats = Value(reg->GetStats());
  EXPECT_EQ(stats.events_appended, 4u);
  EXPECT_EQ(stats.duplicates_skipped, 0u);
  EXPECT_EQ(Value(reg->Partitions()), std::vector<std::uint32_t>{0});
  EXPECT_TRUE(Value(reg->History(0, "nobody")).empty());
}

// Figures().key_writes is the write path's shape: per event its stored event and its dedupe
// entry; per batch each touched initiative's projection once, the offsets and the meta once.
TEST_F(RegisterTest, FiguresCountTheKeyWritesOfEachFamilyAndTheWalBytes) {
  auto reg = Open();
  auto count = [&](const std::string& family) -> std::uint64_t {
    for (const auto& [name, n] : reg->Figures().key_writes) {
      if (name == family) return n;
    }
    return 0;
  };
  EXPECT_TRUE(reg->Figures().key_writes.empty());
  EXPECT_EQ(reg->Figures().wal_bytes, 0u);
  AppendRequest request;
  request.events = {Inbound(Event("a1", "a", 100), 10), Inbound(Event("a2", "a", 200), 11),
                    Inbound(Event("b1", "b", 150), 12), Inbound(Event("a3", "a", 300), 13)};
  request.offsets = {{"value-chain", 14}};
  const AppendResult result = Value(reg->Append(request, projector_));
  EXPECT_EQ(count("events"), 4u);
  EXPECT_EQ(count("dedupe"), 4u);
  EXPECT_EQ(count("projections"), 2u) << "a and b, once each";
  EXPECT_EQ(count("offsets"), 1u);
  EXPECT_EQ(count("meta"), 1u);
  ASSERT_EQ(result.outbox.size(), 1u);  // the test projector's third event of "a"
  EXPECT_EQ(count("outbox"), 1u);
  const std::uint64_t wal = reg->Figures().wal_bytes;
  EXPECT_GT(wal, 4 * 20u) << "four events' keys and values at least";

  Ok(reg->AckOutbox(0, {result.outbox[0].seq()}));
  EXPECT_EQ(count("outbox"), 2u) << "the put and the acknowledgement's delete";
  EXPECT_GT(reg->Figures().wal_bytes, wal);
  // A duplicate writes no event, no dedupe entry and no projection.
  AppendRequest again;
  again.events = {Inbound(Event("a1", "a", 100), 14)};
  again.offsets = {{"value-chain", 15}};
  Value(reg->Append(again, projector_));
  EXPECT_EQ(count("events"), 4u);
  EXPECT_EQ(count("dedupe"), 4u);
  EXPECT_EQ(count("projections"), 2u);
  EXPECT_EQ(count("offsets"), 2u);
}

// Delivery reports come in order, so acknowledgements are mostly runs of consecutive seqs: a run
// of four or more is one range deletion (one key write), shorter ones a delete per record, and the
// records around a run stay.
TEST_F(RegisterTest, AnAcknowledgedRunOfSeqsIsOneKeyWrite) {
  const TestProjector every_event(1);  // one transition per applied event
  auto reg = Open();
  AppendRequest request;
  for (int i = 0; i < 20; ++i) {
    request.events.push_back(Inbound(Event(std::to_string(i), "a" + std::to_string(i % 3), i), i));
  }
  ASSERT_EQ(Value(reg->Append(request, every_event)).outbox.size(), 20u);
  auto outbox_writes = [&]() -> std::uint64_t {
    for (const auto& [name, n] : reg->Figures().key_writes) {
      if (name == "outbox") return n;
    }
    return 0;
  };
  auto live = [&] {
    std::vector<std::uint64_t> out;
    for (const auto& r : Value(reg->ReadOutbox(0, 0, 100))) out.push_back(r.seq());
    return out;
  };
  std::uint64_t writes = outbox_writes();
  ASSERT_EQ(writes, 20u);
  Ok(reg->AckOutbox(0, {5, 3, 4, 6, 7, 4}));  // the run 3..7, out of order and once twice
  EXPECT_EQ(outbox_writes() - writes, 1u);
  writes = outbox_writes();
  Ok(reg->AckOutbox(0, {10, 11, 12, 15}));  // runs of three and one: a delete per record
  EXPECT_EQ(outbox_writes() - writes, 4u);
  writes = outbox_writes();
  Ok(reg->AckOutbox(0, {13, 14, 16, 17, 18, 30, 31, 32, 33}));  // 30..33 do not exist
  EXPECT_EQ(outbox_writes() - writes, 2u + 3u + 1u)
      << "13-14 and 16-18 a delete each, 30-33 a range";
  const std::vector<std::uint64_t> expected{1, 2, 8, 9, 19, 20};
  EXPECT_EQ(live(), expected);
  reg.reset();
  reg = Open();
  EXPECT_EQ(live(), expected);
  EXPECT_EQ(Value(reg->Backlog(0)).entries, expected.size());
  EXPECT_TRUE(Value(reg->Verify(every_event)).problems.empty());
}

TEST_F(RegisterTest, DuplicatesInsideABatchAndAcrossBatchesAreSkipped) {
  auto reg = Open();
  AppendRequest first;
  first.events = {Inbound(Event("e1", "a", 1), 0), Inbound(Event("e1", "a", 1), 1),
                  Inbound(Event("e2", "a", 2), 2)};
  const AppendResult r1 = Value(reg->Append(first, projector_));
  ASSERT_EQ(r1.events.size(), 3u);
  EXPECT_EQ(r1.events[0].status, Status::kAppended);
  EXPECT_EQ(r1.events[1].status, Status::kDuplicate);
  EXPECT_EQ(r1.events[1].revision, 1u);  // the first copy's
  EXPECT_EQ(r1.events[2].revision, 2u);
  EXPECT_EQ(r1.duplicates, 1u);

  reg.reset();
  reg = Open();
  AppendRequest second;
  second.events = {Inbound(Event("e2", "a", 2), 2), Inbound(Event("e3", "a", 3), 3),
                   Inbound(Event("e1", "a", 1, "another-source"), 4)};
  const AppendResult r2 = Value(reg->Append(second, projector_));
  EXPECT_EQ(r2.events[0].status, Status::kDuplicate);
  EXPECT_EQ(r2.events[0].revision, 2u);
  EXPECT_EQ(r2.events[1].revision, 3u);
  EXPECT_EQ(r2.events[2].status, Status::kAppended);  // same id, other source: not a duplicate
  EXPECT_EQ(r2.events[2].revision, 4u);

  const auto history = Value(reg->History(0, "a"));
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[3].value_chain().source(), "another-source");
  EXPECT_EQ(Value(reg->GetStats()).duplicates_skipped, 2u);
  EXPECT_EQ(Value(reg->GetStats()).events_appended, 4u);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(RegisterTest, ARejectedEventBecomesADeadLetterAndIsNotAppended) {
  auto reg = Open();
  AppendRequest request;
  request.events = {Inbound(Event("r1", "reject-x", 5), 40)};
  request.offsets = {{"value-chain", 41}};
  const AppendResult result = Value(reg->Append(request, projector_));
  ASSERT_EQ(result.events.size(), 1u);
  EXPECT_EQ(result.events[0].status, Status::kRejected);
  EXPECT_EQ(result.events[0].reason_code, "TEST_REJECTED");
  EXPECT_EQ(result.rejected, 1u);

  const auto outbox = Value(reg->ReadOutbox(0, 0, 10));
  ASSERT_EQ(outbox.size(), 1u);
  const v1::DeadLetter& dl = outbox[0].dead_letter();
  EXPECT_EQ(dl.reason_code(), "TEST_REJECTED");
  EXPECT_EQ(dl.source_topic(), "value-chain");
  EXPECT_EQ(dl.source_offset(), 40);
  EXPECT_EQ(dl.source_partition(), 0);
  EXPECT_EQ(dl.key(), "reject-x");
  v1::ValueChainEvent original;
  ASSERT_TRUE(original.ParseFromString(dl.value()));
  EXPECT_EQ(original.id(), "r1");
  EXPECT_TRUE(Value(reg->History(0, "reject-x")).empty());
  EXPECT_FALSE(Value(reg->GetInitiative(0, "reject-x")).has_value());
  EXPECT_EQ(Value(reg->Offset(0, "value-chain")), std::optional<std::int64_t>(41));

  // No dedupe entry: a redelivery is judged again, not skipped.
  const AppendResult again = Value(reg->Append(request, projector_));
  EXPECT_EQ(again.events[0].status, Status::kRejected);
  EXPECT_EQ(Value(reg->GetStats()).events_rejected, 2u);
  EXPECT_EQ(Value(reg->ReadOutbox(0, 0, 10)).size(), 2u);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(RegisterTest, AnIgnoredEventIsAppendedWithItsReason) {
  auto reg = Open();
  AppendRequest request;
  request.events = {Inbound(Event("i1", "ignore-y", 5), 0)};
  const AppendResult result = Value(reg->Append(request, projector_));
  EXPECT_EQ(result.events[0].status, Status::kIgnored);
  EXPECT_EQ(result.events[0].reason_code, "TEST_IGNORED");
  EXPECT_EQ(result.ignored, 1u);
  reg.reset();
  reg = Open();
  const auto history = Value(reg->History(0, "ignore-y"));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].disposition(), v1::DISPOSITION_IGNORED);
  EXPECT_EQ(history[0].note(), "TEST_IGNORED: the test projector ignores ignore-y");
  const auto projection = Value(reg->GetInitiative(0, "ignore-y"));
  ASSERT_TRUE(projection.has_value());
  EXPECT_EQ(projection->revision(), 1u);
  EXPECT_EQ(projection->timers_size(), 0);
  // Dedupe covers ignored events too.
  EXPECT_EQ(Value(reg->Append(request, projector_)).events[0].status, Status::kDuplicate);
}

TEST_F(RegisterTest, RequestDeadLettersGoToTheOutboxAsTheyAre) {
  auto reg = Open();
  AppendRequest request;
  request.partition = 3;
  v1::DeadLetter dl;
  dl.set_reason_code("DECODE_ERROR");
  dl.set_reason("not JSON");
  dl.set_source_topic("value-chain");
  dl.set_source_partition(3);
  dl.set_source_offset(7);
  dl.set_value("{{{");
  dl.add_headers()->set_key("ce_id");
  request.dead_letters = {dl};
  request.offsets = {{"value-chain", 8}};
  const AppendResult result = Value(reg->Append(request, projector_));
  ASSERT_EQ(result.outbox.size(), 1u);
  const auto outbox = Value(reg->ReadOutbox(3, 0, 10));
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].partition(), 3u);
  EXPECT_EQ(outbox[0].dead_letter().SerializeAsString(), dl.SerializeAsString());
  EXPECT_TRUE(Value(reg->ReadOutbox(0, 0, 10)).empty());
  EXPECT_EQ(Value(reg->Offset(3, "value-chain")), std::optional<std::int64_t>(8));
  EXPECT_EQ(Value(reg->Partitions()), std::vector<std::uint32_t>{3});
}

TEST_F(RegisterTest, OutboxSeqsContinueAcrossReopenAndAckDeletes) {
  const TestProjector every_event(1);  // one transition per applied event
  {
    auto reg = Open();
    AppendRequest request;
    request.events = {Inbound(Event("1", "a", 1), 0), Inbound(Event("2", "a", 2), 1),
                      Inbound(Event("3", "b", 3), 2)};
    EXPECT_EQ(Value(reg->Append(request, every_event)).outbox.size(), 3u);
  }
  auto reg = Open();
  AppendRequest request;
  request.events = {Inbound(Event("4", "a", 4), 3), Inbound(Event("5", "b", 5), 4)};
  const AppendResult result = Value(reg->Append(request, every_event));
  ASSERT_EQ(result.outbox.size(), 2u);
  EXPECT_EQ(result.outbox[0].seq(), 4u);
  EXPECT_EQ(result.outbox[1].seq(), 5u);

  auto seqs = [&](std::uint64_t after, std::size_t limit) {
    std::vector<std::uint64_t> out;
    for (const auto& r : Value(reg->ReadOutbox(0, after, limit))) out.push_back(r.seq());
    return out;
  };
  EXPECT_EQ(seqs(0, 100), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(seqs(2, 2), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_TRUE(seqs(5, 100).empty());
  Ok(reg->AckOutbox(0, {1, 2, 3, 99}));  // 99 does not exist: not an error
  EXPECT_EQ(seqs(0, 100), (std::vector<std::uint64_t>{4, 5}));
  reg.reset();
  reg = Open();
  EXPECT_EQ(seqs(0, 100), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_TRUE(Value(reg->Verify(every_event)).problems.empty());
}

// Acknowledged records leave deleted keys (tombstones) until a compaction drops them; reading
// from the start seeks past those it knows of instead of walking them (RocksDB's perf context
// counts the deleted keys an iterator skipped), in whatever order the acks came.
TEST_F(RegisterTest, ReadingTheOutboxFromTheStartSkipsWhatWasAcknowledged) {
  const TestProjector every_event(1);  // one transition per applied event
  auto reg = Open();
  AppendRequest request;
  for (int i = 0; i < 300; ++i) {
    request.events.push_back(Inbound(Event(std::to_string(i), "a" + std::to_string(i % 7), i), i));
  }
  ASSERT_EQ(Value(reg->Append(request, every_event)).outbox.size(), 300u);
  auto seqs = [&](std::size_t limit) {
    std::vector<std::uint64_t> out;
    for (const auto& r : Value(reg->ReadOutbox(0, 0, limit))) out.push_back(r.seq());
    return out;
  };
  auto range = [](std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t s = from; s <= to; ++s) out.push_back(s);
    return out;
  };
  auto skipped_reading = [&](std::size_t limit, const std::vector<std::uint64_t>& expected) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
    EXPECT_EQ(seqs(limit), expected);
    const std::uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    return skipped;
  };

  // Acknowledged in order, as read: the next read starts after them.
  Ok(reg->AckOutbox(0, range(1, 60)));
  Ok(reg->AckOutbox(0, range(61, 100)));
  EXPECT_EQ(skipped_reading(3, {101, 102, 103}), 0u);

  // Out of order, with a gap (150 stays): the first read walks what it did not know of, once.
  std::vector<std::uint64_t> evens, odds;
  for (std::uint64_t s = 101; s <= 200; ++s) {
    if (s == 150) continue;
    (s % 2 == 0 ? evens : odds).push_back(s);
  }
  std::reverse(odds.begin(), odds.end());
  Ok(reg->AckOutbox(0, evens));
  Ok(reg->AckOutbox(0, odds));
  Ok(reg->AckOutbox(0, {250, 99}));  // 99 is gone already: not an error
  EXPECT_EQ(seqs(2), (std::vector<std::uint64_t>{150, 201}));
  Ok(reg->AckOutbox(0, {150}));
  std::vector<std::uint64_t> live = range(201, 300);
  live.erase(std::find(live.begin(), live.end(), 250));
  (void)seqs(1);
  EXPECT_EQ(skipped_reading(1000, live), 1u);  // 250, between live records
  EXPECT_EQ(Value(reg->Backlog(0)).entries, live.size());

  // Parking the first record moves the start too; everything acknowledged leaves none.
  Ok(reg->ParkOutbox(0, 201, "too large"));
  EXPECT_EQ(skipped_reading(1, {202}), 0u);
  Ok(reg->AckOutbox(0, range(202, 300)));
  EXPECT_EQ(skipped_reading(10, {}), 0u);
  EXPECT_EQ(Value(reg->Backlog(0)).entries, 0u);

  // New records, and a reopened register (which starts at the partition's start again).
  request.events = {Inbound(Event("new", "a0", 400), 400)};
  EXPECT_EQ(Value(reg->Append(request, every_event)).outbox.at(0).seq(), 301u);
  EXPECT_EQ(seqs(10), (std::vector<std::uint64_t>{301}));
  reg.reset();
  reg = Open();
  EXPECT_EQ(seqs(10), (std::vector<std::uint64_t>{301}));
  EXPECT_TRUE(Value(reg->Verify(every_event)).problems.empty());
}

TEST_F(RegisterTest, EventsWhoseIdsCannotBeKeyedAreRejected) {
  auto reg = Open();
  AppendRequest request;
  request.events = {Inbound(Event("n1", std::string("a\0b", 3), 1), 0),
                    Inbound(Event(std::string("x\0", 2), "a", 1), 1),
                    Inbound(Event("", "a", 1), 2), Inbound(Event("n4", "", 1), 3)};
  const AppendResult result = Value(reg->Append(request, projector_));
  ASSERT_EQ(result.events.size(), 4u);
  for (const auto& outcome : result.events) {
    EXPECT_EQ(outcome.status, Status::kRejected);
    EXPECT_EQ(outcome.reason_code, "INVALID_EVENT");
  }
  EXPECT_EQ(Value(reg->ReadOutbox(0, 0, 10)).size(), 4u);
  EXPECT_EQ(reg->GetInitiative(0, std::string("a\0b", 3)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(reg->History(0, std::string("a\0b", 3)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(RegisterTest, FindInitiativeLooksInEveryPartition) {
  auto reg = Open();
  AppendRequest p2;
  p2.partition = 2;
  p2.events = {Inbound(Event("1", "a", 1), 0)};
  AppendRequest p5;
  p5.partition = 5;
  p5.events = {Inbound(Event("1", "b", 1), 0)};
  (void)Value(reg->Append(p2, projector_));
  (void)Value(reg->Append(p5, projector_));
  EXPECT_EQ(Value(reg->Partitions()), (std::vector<std::uint32_t>{2, 5}));
  const auto b = Value(reg->FindInitiative("b"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->initiative_id(), "b");
  EXPECT_FALSE(Value(reg->FindInitiative("zz")).has_value());
  EXPECT_FALSE(Value(reg->GetInitiative(2, "b")).has_value());
}

TEST_F(RegisterTest, OpenOnABadPathFailsNamingIt) {
  const std::string file = dir_.Sub("plain-file");
  std::ofstream(file) << "not a directory";
  Options options = Opts();
  options.path = file + "/db";
  const auto opened = Register::Open(options);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kIo);
  EXPECT_NE(opened.error().message.find(options.path), std::string::npos)
      << opened.error().message;

  options.path = dir_.Sub("missing");
  options.create_if_missing = false;
  const auto missing = Register::Open(options);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find(options.path), std::string::npos);

  options.path.clear();
  EXPECT_EQ(Register::Open(options).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RegisterTest, AppendingToAStreamWithoutProjectionIsCorruption) {
  AppendRequest request;
  request.events = {Inbound(Event("1", "a", 1), 0)};
  (void)Value(Open()->Append(request, projector_));
  testing::RawDelete(Opts(), internal::Cf::kProjections, internal::ProjectionKey(0, "a"));
  auto reg = Open();
  request.events = {Inbound(Event("2", "a", 2), 1)};
  const auto result = reg->Append(request, projector_);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kCorruption);
  EXPECT_NE(result.error().message.find("Rebuild"), std::string::npos) << result.error().message;
  // Nothing of the failed batch was written: the first event is intact.
  ASSERT_EQ(Value(reg->History(0, "a")).size(), 1u);
  EXPECT_EQ(Value(reg->History(0, "a"))[0].value_chain().id(), "1");
}

}  // namespace
}  // namespace cir::storage
