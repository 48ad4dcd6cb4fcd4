// Verify finds what is broken, names it, and Rebuild repairs projections and the due-time index.
#include <algorithm>

#include <gtest/gtest.h>

#include "cir/storage/register.h"
#include "raw_db.h"
#include "test_projector.h"
#include "test_util.h"

namespace cir::storage {
namespace {

using internal::Cf;
using testing::Event;
using testing::Inbound;
using testing::TestProjector;
using testing::Ts;
using testing::Value;

class VerifyTest : public ::testing::Test {
 protected:
  Options Opts() const {
    return testing::TestOptions(dir_, clock_, /*sync=*/false, /*small=*/false);
  }
  std::unique_ptr<Register> Open() { return Value(Register::Open(Opts())); }

  // A register with a bit of everything: applied, ignored, rejected, duplicates, two partitions,
  // fired timers, acknowledged outbox records.
  void Populate() {
    auto reg = Open();
    AppendRequest r1;
    r1.events = {Inbound(Event("1", "a", 100), 0), Inbound(Event("2", "a", 200), 1),
                 Inbound(Event("3", "b", 300), 2), Inbound(Event("4", "ignore-c", 300), 3),
                 Inbound(Event("5", "reject-d", 300), 4), Inbound(Event("1", "a", 100), 5),
                 Inbound(Event("6", "a", 400), 6)};
    r1.offsets = {{"value-chain", 7}};
    (void)Value(reg->Append(r1, projector_));
    AppendRequest r2;
    r2.partition = 1;
    r2.events = {Inbound(Event("1", "e", 100), 0)};
    (void)Value(reg->Append(r2, projector_));
    (void)Value(reg->FireDueTimers(0, Ts(300 + 3600), 10, projector_));  // b's
    AppendRequest r3;
    r3.events = {Inbound(Event("7", "b", 9000), 7)};
    (void)Value(reg->Append(r3, projector_));
    testing::Ok(reg->AckOutbox(0, {1}));
  }

  std::vector<std::string> Problems() {
    return Value(Open()->Verify(projector_)).problems;
  }

  static bool Mentions(const std::vector<std::string>& problems, const std::string& what) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(what) != std::string::npos; });
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  TestProjector projector_;
};

TEST_F(VerifyTest, AGoodRegisterIsSoundAndRebuildChangesNothing) {
  Populate();
  auto reg = Open();
  const VerifyReport report = Value(reg->Verify(projector_));
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_EQ(report.initiatives, 4u);  // a, b, ignore-c, e
  EXPECT_EQ(report.events, 8u);       // a:3, b:3 (one of them its fired timer), ignore-c:1, e:1
  EXPECT_EQ(report.timers, 3u);       // a, b, e (ignored initiatives have none)
  EXPECT_EQ(report.outbox_records, 2u);  // the dead letter (seq 1) was acked; a's transition and
                                         // b's alert remain
  EXPECT_EQ(Value(reg->Rebuild(projector_)), 0u);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(VerifyTest, ADeletedProjectionIsReportedAndRebuilt) {
  Populate();
  const auto before = Value(Open()->GetInitiative(0, "b"));
  testing::RawDelete(Opts(), Cf::kProjections, internal::ProjectionKey(0, "b"));
  const auto problems = Problems();
  ASSERT_FALSE(problems.empty());
  EXPECT_TRUE(Mentions(problems, "partition 0 initiative b: a stream of 3 events without a projection"))
      << problems.front();
  auto reg = Open();
  EXPECT_EQ(Value(reg->Rebuild(projector_)), 1u);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
  EXPECT_EQ(Value(reg->GetInitiative(0, "b"))->SerializeAsString(), before->SerializeAsString());
}

TEST_F(VerifyTest, AnAlteredProjectionIsDescribedAndRebuilt) {
  Populate();
  auto altered = *Value(Open()->GetInitiative(0, "a"));
  const std::string original = altered.SerializeAsString();
  altered.set_iteration(99);
  testing::RawPut(Opts(), Cf::kProjections, internal::ProjectionKey(0, "a"),
                  altered.SerializeAsString());
  const auto problems = Problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(Mentions(problems, "partition 0 initiative a: the projection differs"));
  EXPECT_TRUE(Mentions(problems, "iteration")) << problems.front();
  auto reg = Open();
  EXPECT_EQ(Value(reg->Rebuild(projector_)), 1u);
  EXPECT_EQ(Value(reg->GetInitiative(0, "a"))->SerializeAsString(), original);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(VerifyTest, TheDueTimeIndexMustMirrorTheProjections) {
  Populate();
  const auto a = *Value(Open()->GetInitiative(0, "a"));
  ASSERT_EQ(a.timers_size(), 1);
  const std::string missing = internal::TimerKey(0, "a", a.timers(0));
  const std::string stale = internal::TimerKey(1, 42, "e", v1::ALERT_KIND_STALLED, "");
  testing::RawDelete(Opts(), Cf::kTimers, missing);
  testing::RawPut(Opts(), Cf::kTimers, stale, "");
  const auto problems = Problems();
  EXPECT_EQ(problems.size(), 2u);
  EXPECT_TRUE(Mentions(problems, "missing from the due-time index: p0/"));
  EXPECT_TRUE(Mentions(problems, "has no timer in its initiative's projection"));
  auto reg = Open();
  EXPECT_EQ(Value(reg->Rebuild(projector_)), 0u);  // projections were fine; only the index changed
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

TEST_F(VerifyTest, DedupeEntriesAndRevisionsAreChecked) {
  Populate();
  testing::RawDelete(Opts(), Cf::kDedupe, internal::DedupeKey(0, "test", "2"));
  v1::DedupeEntry orphan;
  orphan.set_initiative_id("a");
  orphan.set_revision(77);
  testing::RawPut(Opts(), Cf::kDedupe, internal::DedupeKey(0, "test", "ghost"),
                  orphan.SerializeAsString());
  testing::RawDelete(Opts(), Cf::kEvents, internal::EventKey(1, "e", 1));
  auto problems = Problems();
  EXPECT_TRUE(Mentions(problems, "partition 0 initiative a revision 2: no dedupe entry"));
  EXPECT_TRUE(Mentions(problems, "dedupe entry p0/test\\x00ghost points at missing event"));
  EXPECT_TRUE(Mentions(problems, "dedupe entry p1/test\\x001 points at missing event"));
  EXPECT_TRUE(Mentions(problems, "partition 1 initiative e: a projection without a stream"));
  EXPECT_TRUE(Mentions(problems, "partition 1: the meta counts 1 events"));

  // A gap in a stream.
  testing::RawDelete(Opts(), Cf::kEvents, internal::EventKey(0, "a", 2));
  problems = Problems();
  EXPECT_TRUE(Mentions(problems, "partition 0 initiative a: revision 3 follows revision 1"));
}

TEST_F(VerifyTest, AnOutboxRecordBeyondTheNextSeqIsReported) {
  Populate();
  v1::OutboxRecord record;
  record.set_seq(1000);
  testing::RawPut(Opts(), Cf::kOutbox, internal::OutboxKey(0, 1000), record.SerializeAsString());
  const auto problems = Problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(Mentions(problems, "is at or beyond the next seq")) << problems.front();
}

TEST_F(VerifyTest, UnparsableValuesAreCorruptionNamingTheKey) {
  Populate();
  testing::RawPut(Opts(), Cf::kProjections, internal::ProjectionKey(0, "a"), "\xFF\xFF garbage");
  auto reg = Open();
  const auto got = reg->GetInitiative(0, "a");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kCorruption);
  EXPECT_NE(got.error().message.find("p0/a"), std::string::npos) << got.error().message;
  EXPECT_TRUE(Mentions(Value(reg->Verify(projector_)).problems, "unparsable Initiative"));
  EXPECT_EQ(Value(reg->Rebuild(projector_)), 1u);
  EXPECT_TRUE(Value(reg->Verify(projector_)).problems.empty());
}

}  // namespace
}  // namespace cir::storage
