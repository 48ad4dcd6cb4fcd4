// Hostile input against the real cird on the mock cluster: every row of the table of "Hostile
// input never stops cird" is published, followed by a valid event, to one running cird (stopped
// before, and started after, a row that needs other flags). After each row cird is up (/livez 200), the valid event's
// output is on the topics and the bad record is on the dead-letter topic with its reason; cird
// exits 0 on SIGTERM; at the end `circtl verify` finds the register sound, and a cird restarted on
// the idle topic turns ready.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "cir/base/utf8.h"
#include "event_builders.h"
#include "harness.h"
#include "http_client.h"
#include "records.h"

namespace cir::testing {
namespace {

const std::string kBad = "x\xff\xfe";

v1::ValueChainEvent Event(const std::string& initiative, const std::string& id,
                          std::int64_t seconds) {
  return testing::EventAt(initiative, id, seconds, "//test/hostile");
}
v1::ValueChainEvent Proposed(const std::string& initiative, const std::string& id,
                             std::int64_t seconds = testing::kDayZeroSeconds) {
  return testing::WithProposal(Event(initiative, id, seconds));
}
v1::ValueChainEvent Measured(const std::string& initiative, const std::string& id) {
  return testing::MeasuredAt(initiative, id, testing::kDayZeroSeconds + 86400, "//test/hostile",
                             "k", 1);
}
events::Record Json(const v1::ValueChainEvent& e) {
  return events::EncodeEvent(e, events::DataFormat::kJson);
}

struct Row {
  std::string name;
  std::function<std::vector<events::Record>()> records;
  // The dead letter's reason code, or "" when the record is accepted (then `accepted` is the
  // initiative whose first transition must appear and which the API must serve).
  std::string reason_code;
  std::string accepted;
  std::vector<std::string> cird_flags;
};

std::vector<Row> Rows() {
  std::vector<Row> rows;
  auto bad_record = [&](std::string name, std::function<void(events::Record&)> mutate,
                        std::string code) {
    rows.push_back({name,
                    [mutate, name] {
                      events::Record r = Json(Measured("H", "h-" + name));
                      mutate(r);
                      return std::vector<events::Record>{r};
                    },
                    code, "", {}});
  };
  bad_record("json_value_not_utf8",
             [](events::Record& r) {
               r.value = "{\"kpiMeasured\":{\"kpi\":\"" + kBad + "\",\"value\":1}}";
             },
             "DECODE_ERROR");
  bad_record("ce_id_not_utf8", [](events::Record& r) { SetHeader(r, "ce_id", kBad); },
             "BAD_ATTRIBUTE");
  bad_record("ce_source_not_utf8", [](events::Record& r) { SetHeader(r, "ce_source", kBad); },
             "BAD_ATTRIBUTE");
  bad_record("ce_subject_not_utf8", [](events::Record& r) { SetHeader(r, "ce_subject", kBad); },
             "BAD_ATTRIBUTE");
  bad_record("ce_type_not_utf8",
             [](events::Record& r) { SetHeader(r, "ce_type", "dev.cir.v1.Kpi" + kBad); },
             "BAD_ATTRIBUTE");
  bad_record("content_type_not_utf8",
             [](events::Record& r) { SetHeader(r, "content-type", "application/" + kBad); },
             "UNSUPPORTED_CONTENT_TYPE");
  bad_record("key_not_utf8", [](events::Record& r) { r.key = kBad; }, "BAD_ATTRIBUTE");
  // Valid on the wire, rejected by the model, with a header name that is not text: the dead
  // letter keeps it as bytes and the outbox still parses.
  rows.push_back({"header_name_not_utf8_in_a_model_rejected_event",
                  [] {
                    events::Record r = Json(Measured("NOBODY", "nobody-1"));
                    r.headers.emplace_back(kBad, "v");
                    return std::vector{r};
                  },
                  "UNKNOWN_INITIATIVE", "", {}});
  bad_record("key_of_1000000_bytes",
             [](events::Record& r) {
               r.key = std::string(1000000, 'k');
               r.value = std::string(64 * 1024, 'v');
             },
             "OVERSIZED");
  rows.push_back({"proposed_on_9999_12_31",
                  [] { return std::vector{Json(Proposed("FAR", "far-1", 253402214400))}; }, "",
                  "FAR", {}});
  rows.push_back({"proposed_in_2300",
                  [] { return std::vector{Json(Proposed("Y2300", "y-1", 10413792000))}; }, "",
                  "Y2300", {}});
  rows.push_back({"structured_data_nested_100000_deep",
                  [] {
                    events::Record r;
                    r.key = "H";
                    r.headers = {{"content-type", "application/cloudevents+json"}};
                    r.value = R"({"specversion":"1.0","id":"n-1","source":"//t","type":"dev.cir.v1.KpiMeasured","data":)" +
                              Nested(100000) + "}";
                    return std::vector{r};
                  },
                  "DECODE_ERROR", "", {"--max-message-bytes", "1048576"}});
  rows.push_back({"same_source_and_id_other_content",
                  [] {
                    auto first = Proposed("CONFLICT", "c-1");
                    auto second = first;
                    second.mutable_initiative_proposed()->set_title("another title");
                    return std::vector{Json(first), Json(second)};
                  },
                  "ID_CONFLICT", "", {}});
  bad_record("duplicated_ce_id_header",
             [](events::Record& r) { r.headers.emplace_back("ce_id", "other"); }, "BAD_ATTRIBUTE");
  bad_record("content_type_jsonxyz",
             [](events::Record& r) { SetHeader(r, "content-type", "application/jsonxyz"); },
             "UNSUPPORTED_CONTENT_TYPE");
  bad_record("single_quoted_json",
             [](events::Record& r) { r.value = "{'kpiMeasured':{'kpi':'k','value':1}}"; },
             "DECODE_ERROR");
  bad_record("duplicate_json_keys",
             [](events::Record& r) {
               r.value = R"({"kpiMeasured":{"kpi":"a","value":1},"kpiMeasured":{"kpi":"b","value":1}})";
             },
             "DECODE_ERROR");
  bad_record("producer_sent_cir_dlq_headers",
             [](events::Record& r) {
               r.headers.insert(r.headers.begin(), {"cir_dlq_reason_code", "FORGED"});
               r.value = "{broken";
             },
             "DECODE_ERROR");
  return rows;
}

class HostileTest : public PipelineTest {
 protected:
  void TearDown() override {
    outputs_reader_.reset();  // before the cluster they read from stops
    dead_reader_.reset();
    PipelineTest::TearDown();
  }
  // The ce_ids on the transitions and alerts topics now. One reader follows both topics for the
  // whole test, so each call reads only what arrived since the last one.
  std::set<std::string> OutputIds() {
    if (!outputs_reader_) outputs_reader_ = Reader({kTransitions, kAlerts});
    while (outputs_reader_) {
      auto record = outputs_reader_->Poll(milliseconds(100));
      if (!record) break;
      output_ids_.insert(std::string(record->Header("ce_id").value_or("")));
    }
    return output_ids_;
  }
  // Every dead letter so far: waits until there are `count`, then reads on until nothing more
  // arrives for half a second (so one too many is seen too).
  const std::vector<events::Record>& DeadLetters(std::size_t count, milliseconds timeout) {
    if (!dead_reader_) dead_reader_ = Reader({kDeadLetters});
    if (dead_reader_) ReadOn(*dead_reader_, dead_, count, timeout);
    return dead_;
  }
  // The ce_ids on the two topics, read from the beginning until half a second passes without a
  // new record (for checking that something is *not* there).
  std::set<std::string> SettledOutputIds() {
    std::set<std::string> ids;
    for (const char* topic : {kTransitions, kAlerts}) {
      for (const auto& record : Read(topic, 0, milliseconds(3000))) {
        ids.insert(std::string(record.Header("ce_id").value_or("")));
      }
    }
    return ids;
  }
  int Get(int port, const std::string& path) {
    auto reply = services::HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + path);
    return reply ? reply->status : -1;
  }

 private:
  std::unique_ptr<events::TopicReader> Reader(const std::vector<std::string>& topics) {
    auto reader = events::TopicReader::Create(Settings(), topics, milliseconds(10000));
    EXPECT_TRUE(reader.has_value()) << reader.error().message;
    return reader ? std::move(*reader) : nullptr;
  }
  std::unique_ptr<events::TopicReader> outputs_reader_;
  std::unique_ptr<events::TopicReader> dead_reader_;
  std::set<std::string> output_ids_;
  std::vector<events::Record> dead_;
};

TEST_F(HostileTest, EveryHostileRecordIsDeadLetteredAndCirdStaysUp) {
  // Large records need a producer that takes them (the broker, the mock, does).
  auto big = events::Producer::Create(
      {mock_->Bootstraps(), {{"message.max.bytes", "4000000"}}}, nullptr);
  ASSERT_TRUE(big.has_value()) << big.error().message;

  const std::vector<Row> rows = Rows();
  std::size_t dead_expected = 0;
  std::unique_ptr<CirdProcess> cird;
  std::vector<std::string> cird_flags;
  int port = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    SCOPED_TRACE(row.name);
    // One cird for every row with the same flags: a record that stopped it fails this row's
    // checks or a later one's. A row with other flags stops it before its records are produced
    // (the running cird would read them with its own flags) and starts one with them after.
    if (cird && cird_flags != row.cird_flags) {
      EXPECT_EQ(cird->Terminate(), 0) << "cird did not stop cleanly before " << row.name;
      cird.reset();
    }
    // The initiative "H" exists, so that bad records would otherwise be valid measurements.
    if (i == 0) {
      ASSERT_TRUE((*big)->Produce(kInput, Json(Proposed("H", "h-proposed")), 0).has_value());
    }
    for (events::Record record : row.records()) {
      record.headers.emplace_back("x-hostile-row", row.name);  // finds its dead letter
      ASSERT_TRUE((*big)->Produce(kInput, record, 0).has_value()) << row.name;
    }
    const std::string valid = "VALID-" + std::to_string(i);
    ASSERT_TRUE((*big)->Produce(kInput, Json(Proposed(valid, valid)), 0).has_value());
    ASSERT_TRUE((*big)->Flush(milliseconds(20000)).has_value());
    if (!row.reason_code.empty()) ++dead_expected;

    if (!cird) {  // each start waits for the mock's group join (3-5 s)
      fs::remove(dir_ / "cird.log");  // HttpPort reads this run's port from it
      cird = StartCird(row.cird_flags);
      cird_flags = row.cird_flags;
      port = HttpPort();
    }
    // Outputs land on 4 partitions each of two topics: wait for the ones this row must cause.
    std::set<std::string> outputs;
    WaitFor(
        [&] {
          outputs = OutputIds();
          return outputs.count(valid + "/t/1") &&
                 (row.accepted.empty() || outputs.count(row.accepted + "/t/1"));
        },
        milliseconds(40000));
    EXPECT_TRUE(outputs.count(valid + "/t/1")) << "the valid event after " << row.name;
    if (!row.accepted.empty()) {
      EXPECT_TRUE(outputs.count(row.accepted + "/t/1")) << row.name;
    }
    const auto& dead = DeadLetters(dead_expected, milliseconds(20000));
    ASSERT_EQ(dead.size(), dead_expected) << row.name;
    if (!row.reason_code.empty()) {
      const auto mine = std::find_if(dead.begin(), dead.end(), [&](const events::Record& r) {
        return r.Header("x-hostile-row").value_or("") == row.name;
      });
      ASSERT_NE(mine, dead.end()) << "no dead letter for " << row.name;
      const events::Record& last = *mine;
      int codes = 0;
      for (const auto& [name, value] : last.headers) {
        if (name == "cir_dlq_reason_code") ++codes;
        if (name.rfind("cir_dlq_", 0) == 0) {
          EXPECT_TRUE(utf8::Valid(value)) << name;
        }
      }
      EXPECT_EQ(codes, 1);
      EXPECT_EQ(last.Header("cir_dlq_reason_code").value_or(""), row.reason_code);
      EXPECT_FALSE(last.Header("cir_dlq_reason").value_or("").empty());
      if (row.reason_code == "OVERSIZED") {
        EXPECT_EQ(last.key->size(), 1024u);
        EXPECT_NE(last.Header("cir_dlq_truncated").value_or("").find("key:1000000->1024"),
                  std::string::npos);
      }
    }
    EXPECT_EQ(Get(port, "/livez"), 200) << "cird is not up after " << row.name;
    if (!row.accepted.empty()) {
      EXPECT_EQ(Get(port, "/v1/initiatives/" + row.accepted), 200);
      EXPECT_EQ(Get(port, "/v1/initiatives"), 200);
    }
  }
  ASSERT_TRUE(cird);
  EXPECT_EQ(cird->Terminate(), 0) << "cird did not stop cleanly after the last row";

  // Restarted on the idle, caught-up topic: ready from the watermarks, without a new record.
  {
    fs::remove(dir_ / "cird.log");
    auto restarted = StartCird();
    const int restarted_port = HttpPort();
    EXPECT_TRUE(
        WaitFor([&] { return Get(restarted_port, "/readyz") == 200; }, milliseconds(30000)))
        << "not ready on an idle topic after a restart";
    EXPECT_EQ(restarted->Terminate(), 0);
  }

  // The register is sound: every stored record parses and folds.
  const std::string verify = std::string(CIR_CIRCTL_BINARY) + " verify --data-dir " +
                             (dir_ / "register").string() + " > " + (dir_ / "verify.out").string() +
                             " 2>&1";
  const int status = std::system(verify.c_str());
  std::ifstream out(dir_ / "verify.out");
  std::string report((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  EXPECT_EQ(WEXITSTATUS(status), 0) << report;
  EXPECT_NE(report.find("register OK"), std::string::npos) << report;
}

}  // namespace
}  // namespace cir::testing

namespace cir::testing {
namespace {

// --time=event: a record far in the future that is dead-lettered must not move the shared
// watermark (it would fire every timer of every partition), and a valid one moves it at most
// --event-time-max-ahead past the wall clock.
TEST_F(HostileTest, FarFutureRecordsDoNotFireEveryTimer) {
  // An initiative proposed 2026-01-01: its VISION stall timer (default limit 30 days) is due on
  // 2026-01-31, which is long past on the wall clock but not in event time until an event says so.
  ASSERT_TRUE(producer_->Produce(kInput, Json(Proposed("SLOW", "slow-1")), 0).has_value());
  // Dead-lettered (never proposed), dated 9999: must not move time.
  auto orphan = Event("ORPHAN", "orphan-1", 253402214400);
  orphan.mutable_kpi_measured()->set_kpi("k");
  ASSERT_TRUE(producer_->Produce(kInput, Json(orphan), 0).has_value());
  FlushProducer();
  auto cird = StartCird();
  const auto dead = Read(kDeadLetters, 1, milliseconds(30000));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].Header("cir_dlq_reason_code").value_or(""), "UNKNOWN_INITIATIVE");
  std::this_thread::sleep_for(milliseconds(2500));  // two ticks (--tick-interval 1s)
  for (const auto& id : SettledOutputIds()) {
    EXPECT_EQ(id.find("SLOW/a/"), std::string::npos) << "a timer fired: " << id;
  }
  // A valid event dated 9999 moves event time — but only to the wall clock + 30 days, which is
  // past SLOW's due-time: the stall fires, once, and nothing aborts.
  ASSERT_TRUE(producer_->Produce(kInput, Json(Proposed("FAR2", "far2-1", 253402214400)), 0)
                  .has_value());
  FlushProducer();
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto ids = OutputIds();
        return std::any_of(ids.begin(), ids.end(),
                           [](const std::string& id) { return id.rfind("SLOW/a/", 0) == 0; });
      },
      milliseconds(30000)));
  EXPECT_EQ(Get(HttpPort(), "/v1/initiatives/FAR2"), 200);
  EXPECT_EQ(cird->Terminate(), 0);
}

}  // namespace
}  // namespace cir::testing
