// cird's Pipeline in-process with fake Kafka clients (the events::Consumer / events::Producer
// interfaces, injected through KafkaClients) and a real register in a temp directory: a failed
// delivery is sent again with the same id and bytes, a partition revoked mid-batch is appended
// once and resumes right after what was appended (and a lost one appends nothing), and a
// malformed record becomes a dead letter while the partition moves on.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "event_builders.h"
#include "pipeline.h"
#include "probe.h"
#include "sync_failing_register.h"
#include "temp_dir.h"

namespace cir::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kInput = "cir.value-chain";

// What the fakes share with the test. Everything runs on the test thread: Pipeline::Run polls
// the fake consumer, which plays the script; the fake producer delivers on Poll.
struct FakeKafka {
  using Step = std::function<std::optional<events::Record>()>;
  std::deque<Step> script;              // one step per consumer Poll
  std::function<bool()> done;           // polled once the script is empty; true: stop
  cird::Pipeline* pipeline = nullptr;   // stopped when `done` holds (or after too many polls)
  int idle_polls = 0;

  events::RebalanceHandler* handler = nullptr;
  std::vector<events::TopicPartition> assigned;           // as the last OnAssign left them
  std::vector<std::vector<events::TopicPartition>> stored;  // StoreOffsets calls
  bool paused = false;                                    // as the last PauseAll left it
  // What fetch responses have told of each partition's log (CachedWatermarks); none: unfetched.
  std::map<std::int32_t, events::Watermarks> fetched;

  events::Producer::DeliveryCallback on_delivery;
  struct Produced {
    std::string topic;
    events::Record record;
    bool failed = false;
    std::uint64_t fsyncs = 0;  // fsyncs() when it was produced
  };
  std::function<std::uint64_t()> fsyncs = [] { return std::uint64_t{0}; };  // the register's
  std::vector<std::uint64_t> stored_fsyncs;  // fsyncs() at each StoreOffsets call
  std::vector<Produced> produced;
  std::deque<std::pair<std::uint64_t, std::size_t>> undelivered;  // tag, index in produced
  std::size_t most_undelivered = 0;  // the most outputs ever produced and not yet delivered
  int fail_deliveries = 0;  // the next N deliveries fail (kUnavailable: to be sent again)
  bool queue_full = false;  // Produce refuses (kUnavailable), as librdkafka with a full queue
  // Produce refuses as well once this many are undelivered (librdkafka's queue, made small).
  std::size_t queue_capacity = std::numeric_limits<std::size_t>::max();

  cird::KafkaClients Clients();

  // Script steps.
  void Assign(std::int32_t partition) {
    script.push_back([this, partition]() -> std::optional<events::Record> {
      assigned = {{kInput, partition, -1}};
      handler->OnAssign(assigned);
      return std::nullopt;
    });
  }
  void Revoke(std::int32_t partition, bool lost) {
    script.push_back([this, partition, lost]() -> std::optional<events::Record> {
      handler->OnRevoke({{kInput, partition, -1}}, lost);
      std::erase_if(assigned, [&](const auto& tp) { return tp.partition == partition; });
      return std::nullopt;
    });
  }
  void Deliver(events::Record record, std::int32_t partition, std::int64_t offset) {
    record.topic = kInput;
    record.partition = partition;
    record.offset = offset;
    script.push_back([record] { return std::optional<events::Record>(record); });
  }
  void Deliver(const v1::ValueChainEvent& event, std::int32_t partition, std::int64_t offset) {
    Deliver(events::EncodeEvent(event, events::DataFormat::kProtobuf), partition, offset);
  }
};

class FakeConsumer final : public events::Consumer {
 public:
  explicit FakeConsumer(FakeKafka& kafka) : kafka_(kafka) {}
  Result<std::optional<events::Record>> Poll(milliseconds) override {
    if (!kafka_.script.empty()) {
      auto step = std::move(kafka_.script.front());
      kafka_.script.pop_front();
      return step();
    }
    // The script is over: stop once the test's condition holds (bounded, so a test whose
    // condition never holds fails on its assertions instead of hanging). An idle poll takes a
    // millisecond, as a real one waits for records.
    if ((kafka_.done && kafka_.done()) || ++kafka_.idle_polls > 20000) kafka_.pipeline->Stop();
    std::this_thread::sleep_for(milliseconds(1));
    return std::nullopt;
  }
  Result<void> StoreOffsets(const std::vector<events::TopicPartition>& offsets) override {
    kafka_.stored.push_back(offsets);
    kafka_.stored_fsyncs.push_back(kafka_.fsyncs());
    return {};
  }
  Result<void> Commit() override { return {}; }
  Result<events::Watermarks> QueryWatermarks(const std::string&, std::int32_t,
                                             milliseconds) override {
    return events::Watermarks{0, 0};
  }
  std::optional<events::Watermarks> CachedWatermarks(const std::string&,
                                                     std::int32_t partition) override {
    auto it = kafka_.fetched.find(partition);
    if (it == kafka_.fetched.end()) return std::nullopt;
    return it->second;
  }
  Result<void> Seek(const events::TopicPartition&, milliseconds) override { return {}; }
  Result<void> PauseAll(bool pause) override {
    kafka_.paused = pause;
    return {};
  }
  void Close() override {  // as the real one: leaving the group revokes what is assigned
    if (!kafka_.assigned.empty()) kafka_.handler->OnRevoke(kafka_.assigned, false);
    kafka_.assigned.clear();
  }

 private:
  FakeKafka& kafka_;
};

class FakeProducer final : public events::Producer {
 public:
  explicit FakeProducer(FakeKafka& kafka) : kafka_(kafka) {}
  Result<void> Produce(const std::string& topic, const events::Record& record,
                       std::uint64_t tag) override {
    if (kafka_.queue_full || kafka_.undelivered.size() >= kafka_.queue_capacity) {
      return Fail(ErrorCode::kUnavailable, "queue full (fake)");
    }
    kafka_.produced.push_back({topic, record, false, kafka_.fsyncs()});
    kafka_.undelivered.emplace_back(tag, kafka_.produced.size() - 1);
    kafka_.most_undelivered = std::max(kafka_.most_undelivered, kafka_.undelivered.size());
    return {};
  }
  void Poll(milliseconds) override {
    auto batch = std::move(kafka_.undelivered);
    kafka_.undelivered.clear();
    for (const auto& [tag, index] : batch) {
      std::optional<Error> error;
      if (kafka_.fail_deliveries > 0) {
        --kafka_.fail_deliveries;
        error = Error{ErrorCode::kUnavailable, "broker down (fake)"};
        kafka_.produced[index].failed = true;
      }
      kafka_.on_delivery(tag, error);
    }
  }
  Result<void> Flush(milliseconds timeout) override {
    Poll(timeout);
    return {};
  }
  int InFlight() const override { return static_cast<int>(kafka_.undelivered.size()); }
  Result<std::vector<std::string>> MissingTopics(const std::vector<std::string>&,
                                                 milliseconds) override {
    return std::vector<std::string>{};
  }

 private:
  FakeKafka& kafka_;
};

cird::KafkaClients FakeKafka::Clients() {
  return {[this](const events::KafkaSettings&, events::Producer::DeliveryCallback on)
              -> Result<std::unique_ptr<events::Producer>> {
            on_delivery = std::move(on);
            return std::make_unique<FakeProducer>(*this);
          },
          [this](const events::KafkaSettings&, const std::string&,
                 const std::vector<std::string>&, events::RebalanceHandler* h,
                 events::Consumer::LagCallback) -> Result<std::unique_ptr<events::Consumer>> {
            handler = h;
            return std::make_unique<FakeConsumer>(*this);
          }};
}

std::string HeaderOf(const events::Record& record, const std::string& name) {
  for (const auto& [k, v] : record.headers) {
    if (k == name) return v;
  }
  return "";
}

class PipelineUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_ = OpenTestRegister(dir_);
    config_.brokers = "fake:9092";
    config_.max_batch_wait = std::chrono::hours(1);  // a batch ends when a poll finds nothing
  }

  // Starts a pipeline on the fakes and runs it until the script is played and `done` holds.
  void Run(std::function<bool()> done = nullptr) {
    cird::Pipeline pipeline(config_, *reg_, *projector_, storage::SystemClock(), probe_,
                            kafka_.Clients());
    kafka_.pipeline = &pipeline;
    kafka_.done = std::move(done);
    ASSERT_TRUE(pipeline.Start().has_value());
    auto ran = pipeline.Run();
    ASSERT_TRUE(ran.has_value()) << ran.error().ToString();
    delivery_failures_ = pipeline.counters().delivery_failures.load();
    duplicates_ = pipeline.counters().duplicates.load();
    dead_letters_ = pipeline.counters().dead_letters.load();
    appended_ = pipeline.counters().events_appended.load();
    kafka_.pipeline = nullptr;
  }

  std::size_t OutboxEntries(std::uint32_t partition) {
    auto backlog = reg_->Backlog(partition);
    EXPECT_TRUE(backlog.has_value());
    return backlog ? backlog->entries : 0;
  }
  std::size_t HistorySize(const std::string& initiative) {
    auto history = reg_->FindHistory(initiative);
    EXPECT_TRUE(history.has_value());
    return history ? history->size() : 0;
  }
  std::optional<std::int64_t> StoredOffset(std::uint32_t partition) {
    auto offset = reg_->Offset(partition, kInput);
    EXPECT_TRUE(offset.has_value());
    return offset ? *offset : std::nullopt;
  }

  TempDir dir_{"pipeline-unit"};
  std::unique_ptr<storage::Register> reg_;
  std::unique_ptr<storage::Projector> projector_ = model::MakeProjector(model::Config{});
  cird::Config config_;
  cird::Probe probe_{"test"};
  FakeKafka kafka_;
  std::uint64_t delivery_failures_ = 0, duplicates_ = 0, dead_letters_ = 0, appended_ = 0;
};

TEST_F(PipelineUnitTest, FailedDeliveryIsSentAgainWithTheSameIdAndBytes) {
  kafka_.fail_deliveries = 1;
  kafka_.Assign(0);
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 0);
  Run([&] {
    return kafka_.fail_deliveries == 0 && kafka_.undelivered.empty() && kafka_.produced.size() >= 2 &&
           OutboxEntries(0) == 0;
  });
  ASSERT_GE(kafka_.produced.size(), 2u);
  const auto& first = kafka_.produced.front();
  ASSERT_TRUE(first.failed);
  const std::string id = HeaderOf(first.record, "ce_id");
  ASSERT_FALSE(id.empty());
  std::size_t resent = 0;
  for (std::size_t i = 1; i < kafka_.produced.size(); ++i) {
    const auto& again = kafka_.produced[i];
    if (HeaderOf(again.record, "ce_id") != id) continue;
    ++resent;
    EXPECT_FALSE(again.failed);
    EXPECT_EQ(again.topic, first.topic);
    EXPECT_EQ(again.record.key, first.record.key);
    EXPECT_EQ(again.record.value, first.record.value);
    EXPECT_EQ(again.record.headers, first.record.headers);
  }
  EXPECT_EQ(resent, 1u) << "the failed output is sent again exactly once";
  EXPECT_EQ(delivery_failures_, 1u);
  EXPECT_EQ(OutboxEntries(0), 0u) << "acknowledged outputs leave the outbox";
  EXPECT_EQ(HistorySize("A"), 1u);
}

// Readiness needs the lag, and librdkafka's statistics report (the only other source) comes every
// 5 s: the lag comes from the watermarks of the first fetch responses instead. The fake consumer
// never reports statistics.
TEST_F(PipelineUnitTest, TheLagIsKnownFromTheFirstFetchWithoutAStatisticsReport) {
  probe_.SetReadyBounds(/*max_lag=*/0, 60);
  kafka_.Assign(0);
  bool ready_unfetched = true, ready_behind = true;
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    ready_unfetched = probe_.Ready().ready;
    kafka_.fetched[0] = {0, 2};  // a fetch response: the log holds offsets 0 and 1
    return std::nullopt;
  });
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    std::this_thread::sleep_for(milliseconds(60));  // past the 50 ms between two looks
    return std::nullopt;
  });
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    ready_behind = probe_.Ready().ready;
    return std::nullopt;
  });
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 0);
  kafka_.Deliver(Baseline("A", "A-2", 1), 0, 1);
  bool ready_caught_up = false;
  std::string last_body;
  Run([&] {
    const auto readiness = probe_.Ready();
    last_body = readiness.body;
    ready_caught_up = readiness.ready;
    return OutboxEntries(0) == 0 && readiness.ready;
  });
  EXPECT_FALSE(ready_unfetched) << "no lag known before any fetch";
  EXPECT_FALSE(ready_behind) << "two records behind with --ready-max-lag 0";
  EXPECT_TRUE(ready_caught_up) << last_body;
  EXPECT_EQ(HistorySize("A"), 2u);
}

// A partition assigned again in the same process: librdkafka still holds the high watermark an
// earlier assignment fetched, which says nothing of what the topic holds now.
TEST_F(PipelineUnitTest, AWatermarkCachedBeforeTheAssignmentIsNotTakenForTheLag) {
  probe_.SetReadyBounds(/*max_lag=*/0, 60);
  kafka_.fetched[0] = {0, 0};  // fetched by an earlier assignment: the log was empty then
  kafka_.Assign(0);
  bool ready_on_stale = true;
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    std::this_thread::sleep_for(milliseconds(60));  // past the 50 ms between two looks
    return std::nullopt;
  });
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    ready_on_stale = probe_.Ready().ready;
    kafka_.fetched[0] = {0, 1};  // this assignment's first fetch: one record
    return std::nullopt;
  });
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 0);
  bool ready_caught_up = false;
  Run([&] {
    ready_caught_up = probe_.Ready().ready;
    return OutboxEntries(0) == 0 && ready_caught_up;
  });
  EXPECT_FALSE(ready_on_stale) << "an empty log fetched before the assignment is not a lag of 0";
  EXPECT_TRUE(ready_caught_up);
}

// Event time: a tick takes a partition's timers to the newest event time of any partition only
// once that partition has read all its fetch responses showed. Partition 1 holds B's proposal
// (day 0) and its baseline (day 1); partition 0 holds A, dated day 60. Read in the order the
// fetches came, day 60 is seen before B's baseline: firing partition 1 up to it then would stall
// B in VISION (14 days), which `circtl replay` of the same input never does.
TEST_F(PipelineUnitTest, EventTimeTicksWaitForAPartitionToReadWhatItWasBehind) {
  config_.time_mode = cird::TimeMode::kEvent;
  config_.tick_interval = milliseconds(1);
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    kafka_.assigned = {{kInput, 0, -1}, {kInput, 1, -1}};
    kafka_.handler->OnAssign(kafka_.assigned);
    return std::nullopt;
  });
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    kafka_.fetched[0] = {0, 1};  // the first fetch responses: A's record, B's two
    kafka_.fetched[1] = {0, 2};
    return std::nullopt;
  });
  kafka_.Deliver(Proposed("B", "B-1", 0), 1, 0);
  kafka_.Deliver(Proposed("A", "A-1", 60), 0, 0);
  for (int i = 0; i < 3; ++i) {  // the batch is appended, then a few ticks
    kafka_.script.push_back([]() -> std::optional<events::Record> {
      std::this_thread::sleep_for(milliseconds(5));
      return std::nullopt;
    });
  }
  kafka_.Deliver(Baseline("B", "B-2", 1), 1, 1);
  auto ids_of = [&](const std::string& key) {
    std::vector<std::string> ids;
    for (const auto& p : kafka_.produced) {
      if (p.record.key == key && !p.failed) ids.push_back(HeaderOf(p.record, "ce_id"));
    }
    return ids;
  };
  Run([&] {
    return OutboxEntries(0) == 0 && OutboxEntries(1) == 0 && ids_of("B").size() >= 3;
  });
  // Proposed, baseline, then (once partition 1 has read everything) STALLED in CURRENT_STATE at
  // day 31, which day 60 has passed.
  EXPECT_EQ(ids_of("B"), (std::vector<std::string>{"B/t/1", "B/t/2", "B/a/3/firing"}));
  EXPECT_EQ(HistorySize("B"), 3u);  // the two events and the fired timer
}

// --max-in-flight bounds the outputs produced and not yet reported delivered (each held by cird
// and by librdkafka until then); the rest waits in the outbox and every one is delivered in the
// end, from both partitions.
TEST_F(PipelineUnitTest, NoMoreOutputsInTheAirThanMaxInFlight) {
  config_.max_in_flight = 3;
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    kafka_.assigned = {{kInput, 0, -1}, {kInput, 1, -1}};
    kafka_.handler->OnAssign(kafka_.assigned);
    return std::nullopt;
  });
  for (int i = 0; i < 10; ++i) {
    kafka_.Deliver(Proposed("M" + std::to_string(i), "m" + std::to_string(i), 0), i % 2, i / 2);
  }
  Run([&] {
    return kafka_.produced.size() >= 10 && kafka_.undelivered.empty() && OutboxEntries(0) == 0 &&
           OutboxEntries(1) == 0;
  });
  EXPECT_EQ(kafka_.most_undelivered, 3u);
  std::set<std::string> ids;
  for (const auto& p : kafka_.produced) ids.insert(HeaderOf(p.record, "ce_id"));
  EXPECT_EQ(ids.size(), 10u) << "each initiative's transition, once";
}

// librdkafka's queue full (not --max-in-flight) stops a round too: the next round begins with
// the other partition, so one with many outputs cannot keep the other's waiting.
TEST_F(PipelineUnitTest, AFullProducerQueueLetsThePartitionsTakeTurns) {
  kafka_.queue_capacity = 2;
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    kafka_.assigned = {{kInput, 0, -1}, {kInput, 1, -1}};
    kafka_.handler->OnAssign(kafka_.assigned);
    return std::nullopt;
  });
  for (int i = 0; i < 8; ++i) {
    for (int p = 0; p < 2; ++p) {
      const std::string id = "P" + std::to_string(p) + "-" + std::to_string(i);
      kafka_.Deliver(Proposed(id, id, 0), p, i);
    }
  }
  Run([&] {
    return kafka_.produced.size() >= 16 && kafka_.undelivered.empty() && OutboxEntries(0) == 0 &&
           OutboxEntries(1) == 0;
  });
  ASSERT_GE(kafka_.produced.size(), 16u);
  // Produced in rounds of two (the queue's room): the partitions alternate, round by round.
  std::string order;
  for (std::size_t i = 0; i < 16; ++i) order += kafka_.produced[i].record.key->substr(1, 1);
  EXPECT_EQ(order, "0011001100110011");
}

TEST_F(PipelineUnitTest, RevokeMidBatchAppendsOnceAndTheNextAssignResumesAfterIt) {
  kafka_.Assign(0);
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 0);
  kafka_.Deliver(Baseline("A", "A-2", 1), 0, 1);  // still pending when the revoke comes
  kafka_.Revoke(0, /*lost=*/false);
  std::int64_t resumed_at = -100;
  kafka_.Assign(0);
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    resumed_at = kafka_.assigned.at(0).offset;
    return std::nullopt;
  });
  kafka_.Deliver(Baseline("A", "A-2", 1), 0, 1);  // Kafka delivers it again: a duplicate
  kafka_.Deliver(Proposed("B", "B-1", 2), 0, 2);
  Run([&] { return OutboxEntries(0) == 0; });
  EXPECT_EQ(resumed_at, 2) << "the register's offset after the revoke's flush";
  EXPECT_EQ(HistorySize("A"), 2u);
  EXPECT_EQ(HistorySize("B"), 1u);
  EXPECT_EQ(appended_, 3u);
  EXPECT_EQ(duplicates_, 1u);
  EXPECT_EQ(StoredOffset(0), 3);
  ASSERT_FALSE(kafka_.stored.empty());
  EXPECT_EQ(kafka_.stored.back().at(0).offset, 3) << "Kafka's offsets follow the register's";
}

TEST_F(PipelineUnitTest, LostMidBatchAppendsNothingAndTheNextOwnerReadsItAgain) {
  kafka_.Assign(0);
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 0);
  kafka_.Revoke(0, /*lost=*/true);  // another member may own it already: nothing is written
  std::int64_t resumed_at = -100;
  std::size_t history_when_lost = 99;
  kafka_.Assign(0);
  kafka_.script.push_back([&]() -> std::optional<events::Record> {
    resumed_at = kafka_.assigned.at(0).offset;
    history_when_lost = HistorySize("A");
    return std::nullopt;
  });
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 0);
  Run([&] { return OutboxEntries(0) == 0; });
  EXPECT_EQ(history_when_lost, 0u);
  EXPECT_EQ(resumed_at, -1) << "no offset stored: read from the beginning";
  EXPECT_EQ(HistorySize("A"), 1u);
  EXPECT_EQ(duplicates_, 0u);
  EXPECT_EQ(StoredOffset(0), 1);
}

TEST_F(PipelineUnitTest, MalformedRecordBecomesADeadLetterAndThePartitionMovesOn) {
  kafka_.Assign(0);
  events::Record garbage;
  garbage.key = "A";
  garbage.value = "{this is not an event";
  garbage.headers = {{"content-type", "application/json"}};
  kafka_.Deliver(garbage, 0, 0);
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 1);
  Run([&] { return OutboxEntries(0) == 0 && kafka_.undelivered.empty(); });
  std::vector<const FakeKafka::Produced*> dead;
  for (const auto& p : kafka_.produced) {
    if (p.topic == config_.dead_letter_topic) dead.push_back(&p);
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0]->record.value, garbage.value) << "the original bytes";
  EXPECT_EQ(HeaderOf(dead[0]->record, "cir_dlq_source_offset"), "0");
  EXPECT_EQ(HeaderOf(dead[0]->record, "cir_dlq_source_topic"), kInput);
  EXPECT_FALSE(HeaderOf(dead[0]->record, "cir_dlq_reason_code").empty());
  EXPECT_EQ(dead_letters_, 1u);
  EXPECT_EQ(HistorySize("A"), 1u);
  EXPECT_EQ(StoredOffset(0), 2);
}

// Group commit: one flush over four partitions fsyncs the register once (none with --sync=false),
// and no output of it is produced, nor an offset stored in Kafka, before that fsync.
TEST_F(PipelineUnitTest, AFlushOverFourPartitionsFsyncsOnceBeforeAnyOutputOrOffset) {
  struct Case {
    bool sync;
    std::uint64_t fsyncs;
  };
  for (const Case& c : {Case{true, 1}, Case{false, 0}}) {
    SCOPED_TRACE(c.sync ? "--sync=true" : "--sync=false");
    reg_.reset();
    TempDir dir("pipeline-unit");
    storage::Options options;
    options.path = (dir.path() / "register").string();
    options.sync = false;  // as cird opens it (main.cc)
    reg_ = storage::Register::Open(options).value();
    kafka_ = FakeKafka();
    kafka_.fsyncs = [&] { return reg_->Figures().synced_writes; };
    config_.sync = c.sync;
    kafka_.script.push_back([&]() -> std::optional<events::Record> {
      kafka_.assigned = {{kInput, 0, -1}, {kInput, 1, -1}, {kInput, 2, -1}, {kInput, 3, -1}};
      kafka_.handler->OnAssign(kafka_.assigned);
      return std::nullopt;
    });
    for (std::int32_t p = 0; p < 4; ++p) {  // one poll batch: the flush comes after the last
      const std::string id = "P" + std::to_string(p);
      kafka_.Deliver(Proposed(id, id + "-1", 0), p, 0);
    }
    Run([&] {
      return kafka_.produced.size() >= 4 && kafka_.undelivered.empty() && OutboxEntries(0) == 0 &&
             OutboxEntries(1) == 0 && OutboxEntries(2) == 0 && OutboxEntries(3) == 0;
    });
    EXPECT_EQ(reg_->Figures().synced_writes, c.fsyncs);
    EXPECT_EQ(appended_, 4u);
    ASSERT_EQ(kafka_.produced.size(), 4u) << "one transition per initiative";
    for (const auto& produced : kafka_.produced) EXPECT_EQ(produced.fsyncs, c.fsyncs);
    ASSERT_FALSE(kafka_.stored_fsyncs.empty());
    for (std::uint64_t fsyncs : kafka_.stored_fsyncs) EXPECT_EQ(fsyncs, c.fsyncs);
    for (std::uint32_t p = 0; p < 4; ++p) EXPECT_EQ(StoredOffset(p), 1);
  }
}

// A disk stall between a flush's appends and its fsync: nothing appended since the last sync is
// produced, even from a partition whose older outputs are still waiting to go out (reads see the
// unsynced records); once the sync succeeds, everything goes.
TEST_F(PipelineUnitTest, AStallBeforeTheFsyncHoldsBackWhatItWouldHaveMadeDurable) {
  reg_.reset();
  storage::Options options;
  options.path = (dir_.path() / "unsynced").string();
  options.sync = false;  // as cird opens it (main.cc)
  auto failing = std::make_unique<SyncFailingRegister>(storage::Register::Open(options).value());
  SyncFailingRegister& faulty = *failing;
  reg_ = std::move(failing);
  kafka_.fsyncs = [&] { return reg_->Figures().synced_writes; };
  auto step = [&](std::function<void()> action) {
    kafka_.script.push_back([action]() -> std::optional<events::Record> {
      action();
      return std::nullopt;
    });
  };
  kafka_.Assign(0);
  step([&] { kafka_.queue_full = true; });
  kafka_.Deliver(Proposed("A", "A-1", 0), 0, 0);
  step([] {});  // an empty poll: A is appended and synced (fsync 1), but cannot be produced yet
  step([&] { faulty.failing_syncs = 1; });
  kafka_.Deliver(Proposed("B", "B-1", 1), 0, 1);
  step([&] { kafka_.queue_full = false; });  // B is appended, its sync fails: a stall
  Run([&] {
    return kafka_.produced.size() >= 2 && kafka_.undelivered.empty() && OutboxEntries(0) == 0;
  });
  ASSERT_EQ(kafka_.produced.size(), 2u);
  for (const auto& produced : kafka_.produced) {  // A's made durable by fsync 1, B's by fsync 2
    const std::uint64_t durable_at = produced.record.key == "B" ? 2 : 1;
    EXPECT_GE(produced.fsyncs, durable_at) << "produced before the sync that made it durable: "
                                           << produced.record.key.value_or("");
  }
  EXPECT_EQ(faulty.failing_syncs, 0);
  EXPECT_EQ(HistorySize("A"), 1u);
  EXPECT_EQ(HistorySize("B"), 1u);
  EXPECT_EQ(StoredOffset(0), 2);
}

}  // namespace
}  // namespace cir::testing
