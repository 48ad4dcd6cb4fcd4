// The secondary indexes (storage/src/index.h): kept in the same batch as the projections, counted,
// scanned in id order per term and in sort order per field, checked by Verify, rebuilt by
// Rebuild, and built at Open for a register written before they existed.
#include <functional>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "index.h"  // storage/src: internal
#include "register_fixture.h"

namespace cir::storage {
namespace {

using testing::Event;
using testing::Inbound;
using testing::Ok;
using testing::Value;

// A projector whose fold is a table: the event id names the change it makes to the projection
// (owner, tags, step, activities, outcome, firing alerts); updated_at follows the event time.
class TableProjector final : public Projector {
 public:
  std::map<std::string, std::function<void(v1::Initiative&)>> changes;

  [[nodiscard]] Projection Project(const v1::Initiative* current,
                                   const v1::StoredEvent& event) const override {
    Projection p;
    const v1::ValueChainEvent& e = event.value_chain();
    if (current != nullptr) {
      p.state = *current;
    } else {
      p.state.set_initiative_id(e.initiative_id());
      p.state.set_step(v1::STEP_VISION);
      *p.state.mutable_created_at() = e.event_time();
    }
    p.state.set_revision(event.revision());
    *p.state.mutable_updated_at() = e.event_time();
    if (auto it = changes.find(e.id()); it != changes.end()) it->second(p.state);
    return p;
  }
};

class IndexTest : public testing::RegisterFixture {
 protected:
  void Append(std::uint32_t partition, const std::string& id, const std::string& initiative,
              std::int64_t time) {
    AppendRequest request;
    request.partition = partition;
    // One source per initiative: the table's event ids repeat across initiatives.
    request.events = {Inbound(Event(id, initiative, time, "test/" + initiative), offset_)};
    request.offsets = {{"value-chain", ++offset_}};
    Value(reg_->Append(request, table_));
  }
  std::vector<std::string> Ids(std::uint32_t partition, const IndexTerm& term,
                               const std::string& after = "") {
    std::vector<std::string> ids;
    Ok(reg_->ScanIndexed(partition, term, after, [&](const v1::Initiative& s) {
      ids.push_back(s.initiative_id());
      return true;
    }));
    return ids;
  }
  std::uint64_t Count(const IndexTerm& term) { return Value(reg_->CountIndexed({0, 1}, term)); }
  std::vector<std::string> Problems() { return Value(reg_->Verify(table_)).problems; }

  static IndexTerm Owner(const std::string& owner) {
    return {.field = IndexField::kOwner, .number = 0, .text = owner};
  }
  static IndexTerm Tag(const std::string& tag) {
    return {.field = IndexField::kTag, .number = 0, .text = tag};
  }
  static IndexTerm Step(v1::Step step) {
    return {.field = IndexField::kStep, .number = static_cast<std::uint32_t>(step), .text = {}};
  }

  TableProjector table_;
  std::unique_ptr<Register> reg_ = Open();
  std::int64_t offset_ = 0;
};

TEST_F(IndexTest, EntriesAndCountersFollowTheProjectionsBatchByBatch) {
  table_.changes["own-ana"] = [](v1::Initiative& s) { s.set_owner("ana"); };
  table_.changes["own-bo"] = [](v1::Initiative& s) { s.set_owner("bo"); };
  table_.changes["tags"] = [](v1::Initiative& s) {
    s.add_tags("cost");
    s.add_tags("safety");
  };
  table_.changes["plan"] = [](v1::Initiative& s) { s.set_step(v1::STEP_PLAN); };
  table_.changes["alert"] = [](v1::Initiative& s) {
    s.add_firing_alerts()->set_kind(v1::ALERT_KIND_STALLED);
    s.add_firing_alerts()->set_kind(v1::ALERT_KIND_STALLED);  // two of a kind: one entry
  };
  table_.changes["resolve"] = [](v1::Initiative& s) { s.clear_firing_alerts(); };

  Append(0, "own-ana", "c", 100);
  Append(0, "own-ana", "a", 101);
  Append(1, "own-ana", "b", 102);
  EXPECT_EQ(Count(Owner("ana")), 3u);
  EXPECT_EQ(Ids(0, Owner("ana")), (std::vector<std::string>{"a", "c"})) << "id order";
  EXPECT_EQ(Ids(0, Owner("ana"), "a"), (std::vector<std::string>{"c"})) << "after a cursor";
  EXPECT_EQ(Ids(1, Owner("ana")), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Count(Step(v1::STEP_VISION)), 3u);

  // A new owner moves the entry and both counters; a value nobody has any more has no counter.
  Append(0, "own-bo", "c", 103);
  EXPECT_EQ(Count(Owner("ana")), 2u);
  EXPECT_EQ(Count(Owner("bo")), 1u);
  EXPECT_EQ(Ids(0, Owner("ana")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Ids(0, Owner("bo")), (std::vector<std::string>{"c"}));
  Append(1, "own-bo", "b", 104);
  Append(0, "own-bo", "a", 105);
  EXPECT_EQ(Count(Owner("ana")), 0u);
  EXPECT_TRUE(Ids(0, Owner("ana")).empty());

  Append(0, "tags", "a", 106);
  Append(0, "plan", "a", 107);
  Append(0, "alert", "a", 108);
  EXPECT_EQ(Ids(0, Tag("safety")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Count(Step(v1::STEP_PLAN)), 1u);
  EXPECT_EQ(Count(Step(v1::STEP_VISION)), 2u);
  const IndexTerm stalled{.field = IndexField::kAlertKind,
                          .number = static_cast<std::uint32_t>(v1::ALERT_KIND_STALLED),
                          .text = {}};
  EXPECT_EQ(Count(stalled), 1u);
  EXPECT_EQ(Ids(0, stalled), (std::vector<std::string>{"a"}));
  Append(0, "resolve", "a", 109);
  EXPECT_EQ(Count(stalled), 0u);
  EXPECT_TRUE(Problems().empty()) << Problems().front();

  // The same, read after a reopen.
  reg_.reset();
  reg_ = Open();
  EXPECT_EQ(Count(Owner("bo")), 3u);
  EXPECT_EQ(Ids(0, Tag("cost")), (std::vector<std::string>{"a"}));
}

TEST_F(IndexTest, ASortedScanGoesInTheFieldsOrderThenIdAndPagesFromAPosition) {
  Append(0, "e1", "late", 300);
  Append(0, "e2", "early", 100);
  Append(0, "e3", "tie-b", 200);
  Append(0, "e4", "tie-a", 200);
  Append(0, "e5", "early", 400);  // updated again: it moves to the end
  std::vector<std::pair<std::string, std::string>> seen;
  auto scan = [&](const std::string& after_position, const std::string& after_id) {
    seen.clear();
    Ok(reg_->ScanSorted(0, IndexField::kUpdatedAt, after_position, after_id,
                        [&](const std::string& position, const v1::Initiative& s) {
                          seen.emplace_back(position, s.initiative_id());
                          return true;
                        }));
  };
  scan("", "");
  std::vector<std::string> ids;
  for (const auto& [position, id] : seen) ids.push_back(id);
  EXPECT_EQ(ids, (std::vector<std::string>{"tie-a", "tie-b", "late", "early"}));
  const auto cursor = seen[0];
  scan(cursor.first, cursor.second);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].second, "tie-b");

  // The scans from the start raised the floor past the tombstones "early" left at 100; an entry
  // put below the floor since is still found, and so is one that moves back.
  Append(0, "e6", "earliest", 50);
  scan("", "");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().second, "earliest");
  Append(0, "e7", "late", 10);  // updated_at moves back in time
  scan("", "");
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen.front().second, "late");
  EXPECT_EQ(seen.back().second, "early");
  ids.clear();
  for (const auto& [position, id] : seen) ids.push_back(id);
  EXPECT_EQ(ids, (std::vector<std::string>{"late", "earliest", "tie-a", "tie-b", "early"}));

  // created_at keeps the first event's time.
  ids.clear();
  Ok(reg_->ScanSorted(0, IndexField::kCreatedAt, "", "",
                      [&](const std::string&, const v1::Initiative& s) {
                        ids.push_back(s.initiative_id());
                        return true;
                      }));
  EXPECT_EQ(ids, (std::vector<std::string>{"earliest", "early", "tie-a", "tie-b", "late"}));
  // Filters do not sort.
  EXPECT_FALSE(reg_->ScanSorted(0, IndexField::kOwner, "", "",
                                [](const std::string&, const v1::Initiative&) { return true; }));
}

TEST_F(IndexTest, VerifyFindsAWrongEntryOrCounterAndRebuildMendsThem) {
  table_.changes["own"] = [](v1::Initiative& s) { s.set_owner("ana"); };
  Append(0, "own", "a", 100);
  Append(0, "own", "b", 101);
  ASSERT_TRUE(Problems().empty());
  reg_.reset();
  const IndexTerm ana = Owner("ana");
  testing::RawDelete(Opts(), internal::Cf::kIndex, internal::IndexTermPrefix(0, ana) + "a");
  testing::RawPut(Opts(), internal::Cf::kIndex, internal::IndexCountKey(0, ana),
                  internal::EncodeCount(5));
  reg_ = Open();
  const auto problems = Problems();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("is 5, the projections count 2"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("index entry is missing"), std::string::npos) << problems[1];
  Value(reg_->Rebuild(table_));
  EXPECT_TRUE(Problems().empty());
  EXPECT_EQ(Count(ana), 2u);
  EXPECT_EQ(Ids(0, ana), (std::vector<std::string>{"a", "b"}));
}

TEST_F(IndexTest, ARegisterWrittenBeforeTheIndexGetsItAtOpen) {
  table_.changes["own"] = [](v1::Initiative& s) { s.set_owner("ana"); };
  for (int i = 0; i < 30; ++i) Append(i % 2, "own", "i" + std::to_string(i), 100 + i);
  reg_.reset();
  {
    // What a register of the earlier version holds: no index, no marker.
    auto db = testing::OpenRaw(Opts());
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.DeleteRange(db->cf(internal::Cf::kIndex), "", std::string(5, '\xff')).ok());
    ASSERT_TRUE(batch.Delete(db->cf(internal::Cf::kDefault), "index-built").ok());
    ASSERT_TRUE(db->raw()->Write(rocksdb::WriteOptions(), &batch).ok());
    EXPECT_FALSE(Value(internal::IndexBuilt(*db)));
  }
  reg_ = Open();
  EXPECT_TRUE(Problems().empty()) << Problems().front();
  EXPECT_EQ(Count(Owner("ana")), 30u);
  EXPECT_EQ(Ids(1, Owner("ana")).size(), 15u);
  EXPECT_EQ(reg_->Figures().writes, 0u) << "opening's writes are not the register's";
}

}  // namespace
}  // namespace cir::storage
