// cird's ingest pipeline: Kafka in → decode and validate → register (one RocksDB batch per
// partition per poll batch: events, projections, outbox, timers, offsets) → outbox drained to
// Kafka by an idempotent producer → offsets stored for Kafka's commit. DESIGN.md §3.
//
// Threading: Run() is the ingest thread; it owns the consumer, the producer and every write to
// the register. Stop() and the status getters may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cir/base/thread_annotations.h"
#include "cir/events/kafka.h"
#include "cir/storage/register.h"
#include "config.h"
#include "probe.h"

namespace cir::cird {

struct PipelineCounters {
  std::atomic<std::uint64_t> records_consumed{0};
  std::atomic<std::uint64_t> events_appended{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> dead_letters{0};
  std::atomic<std::uint64_t> outputs_delivered{0};
  std::atomic<std::uint64_t> delivery_failures{0};
  std::atomic<std::uint64_t> timers_fired{0};
  std::atomic<std::uint64_t> outbox_pending{0};  // produced, not yet acknowledged, plus unread
};

// How the pipeline makes its Kafka clients (in Start). Real() is librdkafka's; tests pass fakes
// of the events::Consumer / events::Producer interfaces.
struct KafkaClients {
  using MakeProducer = std::function<Result<std::unique_ptr<events::Producer>>(
      const events::KafkaSettings&, events::Producer::DeliveryCallback)>;
  using MakeConsumer = std::function<Result<std::unique_ptr<events::Consumer>>(
      const events::KafkaSettings&, const std::string& group_id,
      const std::vector<std::string>& topics, events::RebalanceHandler*,
      events::Consumer::LagCallback)>;
  MakeProducer producer;
  MakeConsumer consumer;

  // events::Producer::Create and events::Consumer::Create.
  [[nodiscard]] static KafkaClients Real();
};

class Pipeline final : public events::RebalanceHandler {
 public:
  // `reg`, `projector`, `clock` and `probe` are not owned and must outlive the pipeline.
  // `kafka` makes the clients in Start (the clients it returns are owned by the pipeline).
  // `reg` is opened with storage::Options::sync off: the pipeline fsyncs once per flush itself
  // (group commit, config.sync); with it on every append fsyncs as well.
  Pipeline(const Config& config, storage::Register& reg, const storage::Projector& projector,
           const storage::Clock& clock, Probe& probe, KafkaClients kafka = KafkaClients::Real());
  ~Pipeline() override;

  // Creates the Kafka clients and checks that every topic exists (naming the missing ones).
  [[nodiscard]] Result<void> Start();

  // Runs until Stop(): polls, appends, fires timers, drains the outbox. Then shuts down within
  // the grace period: finishes the batch, drains the outbox, commits, closes the consumer.
  // Returns an error only for what cannot be handled here (the register failing other than on
  // a full or read-only disk, which pauses consuming until it can write again; Kafka fatal).
  [[nodiscard]] Result<void> Run();

  // Asks Run() to stop. Async-signal-safe (a relaxed atomic store).
  void Stop() { stop_.store(true, std::memory_order_relaxed); }

  const PipelineCounters& counters() const { return counters_; }

  // The partitions owned now. Any thread.
  [[nodiscard]] std::vector<std::uint32_t> OwnedPartitions() const;

  // RebalanceHandler (called from inside the consumer's poll, on the ingest thread).
  void OnAssign(std::vector<events::TopicPartition>& partitions) override;
  void OnRevoke(const std::vector<events::TopicPartition>& partitions, bool lost) override;
  void OnOffsetGap(const events::TopicPartition& partition, const std::string& detail) override;

 private:
  // One consumed record: a decoded event or a dead letter, in the order consumed.
  struct Item {
    std::optional<storage::InboundEvent> event;
    std::optional<v1::DeadLetter> dead_letter;
  };
  struct Pending {
    std::vector<Item> items;
    std::map<std::string, std::int64_t> offsets;  // topic → next offset
    std::size_t records = 0;
  };
  struct Delivery {
    std::uint32_t partition;
    std::uint64_t seq;
    v1::OutboxRecord record;  // counted in the metrics once Kafka has it
  };

  [[nodiscard]] Result<void> Loop();
  // A full or read-only disk (storage::IsDiskStall): consumption paused, the pending batch kept,
  // nothing written until the register is writable again. `Guard` turns such an error into a
  // stall (and ok); any other error passes through.
  [[nodiscard]] Result<void> Guard(Result<void> result);
  void EnterStall(const Error& error);
  // REQUIRES: stalled_. Retries, with back-off or at once when RocksDB reports a recovery: asks
  // the register to resume, appends the kept batch, and on success restarts consumption.
  [[nodiscard]] Result<void> RetryStalled();
  void Add(events::Record record);
  // Appends every partition's pending records, then syncs once (SyncAppended).
  [[nodiscard]] Result<void> Flush();
  // Appends one partition's pending records, unsynced; its outputs and offsets wait for
  // SyncAppended.
  [[nodiscard]] Result<void> FlushPartition(std::uint32_t partition, Pending& pending);
  // Group commit: one WAL fsync (Register::Sync; none with --sync=false) for everything appended
  // since the last one, in every partition; only then are the outputs those appends made
  // produced (the partitions move from unsynced_ to dirty_) and their offsets stored in Kafka.
  // A no-op when nothing was appended since.
  [[nodiscard]] Result<void> SyncAppended();
  // `partition` was (or may have been) appended to since the last SyncAppended: its outbox is
  // not read (Drain) until the next one succeeds.
  void MarkUnsynced(std::uint32_t partition);
  // FlushPartition's two ways: one append per record, timers fired up to each event's time first
  // (event time), or the whole batch in one append (wall time). On failure what was not
  // appended is back in `pending`.
  [[nodiscard]] Result<void> AppendEach(std::uint32_t partition, Pending& pending);
  [[nodiscard]] Result<void> AppendWhole(std::uint32_t partition, Pending& pending);
  // Appends `request`; returns how many of its events the register took (appended or ignored:
  // not duplicates, not dead letters).
  [[nodiscard]] Result<std::uint64_t> Commit(std::uint32_t partition,
                                             const storage::AppendRequest& request);
  // Moves outbox entry (partition, seq) aside for good and counts it.
  [[nodiscard]] Result<void> Park(std::uint32_t partition, std::uint64_t seq,
                                  const std::string& reason);
  // Event time as timers may see it: never beyond the wall clock + --event-time-max-ahead.
  [[nodiscard]] google::protobuf::Timestamp Bounded(const google::protobuf::Timestamp& t) const;
  void OnLag(const std::vector<events::PartitionLag>& lags);
  // The lag of partitions assigned since the last statistics report, from the high watermark
  // their latest fetch response carried (looked at every 50 ms at most), once it is not the one
  // cached at the assignment: readiness need not wait for the report.
  // What the latest fetch response of this assignment told of the partition's log; nullopt
  // when nothing was fetched, or when the cached figures are still an earlier assignment's.
  [[nodiscard]] std::optional<events::Watermarks> FetchedWatermarks(
      const std::pair<std::string, std::int32_t>& tp) const;
  void LagFromFetches();
  // Event time: nothing of `partition` waits in the batch and each of its inputs has been read
  // up to the high watermark of its latest fetch response of this assignment.
  [[nodiscard]] bool ReadToTheEnd(std::uint32_t partition) const;
  [[nodiscard]] Result<void> Tick();
  // Produces the partition's next page of outbox records. False when it ran out of room
  // (--max-in-flight, or librdkafka's queue full) with records left.
  [[nodiscard]] Result<bool> Drain(std::uint32_t partition);
  [[nodiscard]] Result<void> DrainAll();
  [[nodiscard]] Result<void> AckDelivered();
  void OnDelivery(std::uint64_t tag, std::optional<Error> error);
  [[nodiscard]] bool OutboxIdle() const;
  void PublishOwned();
  const std::string& TopicFor(const v1::OutboxRecord& record) const;

  const Config& config_;
  storage::Register& reg_;
  const storage::Projector& projector_;
  const storage::Clock& clock_;
  Probe& probe_;
  KafkaClients kafka_;
  std::string source_;
  std::unique_ptr<events::Consumer> consumer_;
  std::unique_ptr<events::Producer> producer_;

  std::atomic<bool> stop_{false};
  std::set<std::uint32_t> owned_;                         // register partitions we own
  mutable Mutex owned_mu_;
  std::vector<std::uint32_t> owned_copy_ GUARDED_BY(owned_mu_);  // owned_, for other threads
  std::map<std::uint32_t, std::set<std::string>> owned_topics_;
  std::map<std::uint32_t, Pending> pending_;
  std::size_t pending_records_ = 0;
  std::chrono::steady_clock::time_point batch_started_;
  std::chrono::steady_clock::time_point last_tick_;

  std::map<std::uint32_t, std::uint64_t> sent_upto_;      // outbox seq produced, per partition
  std::map<std::uint64_t, Delivery> in_flight_;           // producer tag → outbox entry
  std::map<std::uint32_t, std::vector<std::uint64_t>> delivered_;  // to ack in the register
  std::set<std::uint32_t> resend_;                        // partitions with a failed delivery
  // Partitions appended to but not synced yet (see SyncAppended): RocksDB reads see unsynced
  // writes, so Drain skips them until the sync; and the offsets those appends stored, for Kafka
  // once synced.
  std::set<std::uint32_t> unsynced_;
  std::vector<events::TopicPartition> unsynced_offsets_;
  bool appended_unsynced_ = false;
  std::set<std::uint32_t> dirty_;                         // partitions whose outbox has unsent
  // DrainAll's first partition: after the one whose drain ran out of room (--max-in-flight or a
  // full queue), so that the next round serves the others first.
  std::uint32_t drain_from_ = 0;
  std::optional<google::protobuf::Timestamp> watermark_;  // newest event time (event mode)
  std::uint64_t next_tag_ = 1;
  std::optional<Error> deferred_error_;                   // an error inside a callback
  // The register stopped writing (disk full or read-only); see Guard.
  bool stalled_ = false;
  bool retrying_ = false;                                 // inside RetryStalled
  std::chrono::milliseconds stall_backoff_{0};
  std::chrono::steady_clock::time_point stall_next_try_;
  std::chrono::steady_clock::time_point stall_since_;
  std::uint64_t stall_recoveries_seen_ = 0;               // WriteHealth::recoveries
  std::uint64_t stall_retries_ = 0;
  bool failed_ = false;                                   // Run returned an error
  std::map<std::uint32_t, std::set<std::uint64_t>> in_flight_seqs_;  // per partition
  // Refused for good by the producer or broker: parked at the next AckDelivered.
  std::map<std::uint32_t, std::vector<std::pair<std::uint64_t, std::string>>> to_park_;
  // Next offset to read per (topic, partition), from the register: the lag of a partition
  // librdkafka has no position for yet (an idle one after a restart) is high watermark - this.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> positions_;
  // Assigned, with no lag in a statistics report yet (LagFromFetches), each with the high
  // watermark librdkafka had cached at the assignment (-1: none): one left from an earlier
  // assignment of the partition in this process, which a new fetch has not replaced yet.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> lag_unreported_;
  std::chrono::steady_clock::time_point lag_checked_;

  PipelineCounters counters_;
};

}  // namespace cir::cird
