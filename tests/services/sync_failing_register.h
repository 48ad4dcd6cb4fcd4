// A storage::Register that forwards every call to a real one, except that the next
// `failing_syncs` calls of Sync() fail as on a full disk (kUnavailable, IsDiskStall) without
// syncing: a disk stall between a flush's appends and its fsync. Header-only.
#pragma once

#include <memory>
#include <utility>

#include "cir/storage/register.h"

namespace cir::testing {

class SyncFailingRegister final : public storage::Register {
 public:
  explicit SyncFailingRegister(std::unique_ptr<storage::Register> real) : real_(std::move(real)) {}

  int failing_syncs = 0;

  Result<void> Sync() override {
    if (failing_syncs > 0) {
      --failing_syncs;
      return Fail(ErrorCode::kUnavailable,
                  "syncing the register's WAL: IO error: No space left on device (test)");
    }
    return real_->Sync();
  }

  Result<storage::AppendResult> Append(const storage::AppendRequest& request,
                                       const storage::Projector& projector) override {
    return real_->Append(request, projector);
  }
  Result<storage::AppendResult> FireDueTimers(std::uint32_t partition,
                                              const google::protobuf::Timestamp& now,
                                              std::size_t limit,
                                              const storage::Projector& projector) override {
    return real_->FireDueTimers(partition, now, limit, projector);
  }
  Result<std::optional<google::protobuf::Timestamp>> NextDue(std::uint32_t partition) override {
    return real_->NextDue(partition);
  }
  Result<std::optional<v1::Initiative>> GetInitiative(std::uint32_t partition,
                                                      const std::string& id) override {
    return real_->GetInitiative(partition, id);
  }
  Result<std::optional<v1::Initiative>> FindInitiative(const std::string& id) override {
    return real_->FindInitiative(id);
  }
  Result<std::vector<v1::StoredEvent>> History(std::uint32_t partition,
                                               const std::string& id) override {
    return real_->History(partition, id);
  }
  Result<std::vector<v1::StoredEvent>> FindHistory(const std::string& id) override {
    return real_->FindHistory(id);
  }
  Result<std::vector<std::uint32_t>> Partitions() override { return real_->Partitions(); }
  Result<std::optional<std::int64_t>> Offset(std::uint32_t partition,
                                             const std::string& topic) override {
    return real_->Offset(partition, topic);
  }
  Result<std::vector<v1::OutboxRecord>> ReadOutbox(std::uint32_t partition,
                                                   std::uint64_t after_seq,
                                                   std::size_t limit) override {
    return real_->ReadOutbox(partition, after_seq, limit);
  }
  Result<void> AckOutbox(std::uint32_t partition,
                         const std::vector<std::uint64_t>& seqs) override {
    return real_->AckOutbox(partition, seqs);
  }
  Result<void> ParkOutbox(std::uint32_t partition, std::uint64_t seq,
                          const std::string& reason) override {
    return real_->ParkOutbox(partition, seq, reason);
  }
  Result<std::vector<v1::ParkedRecord>> Parked() override { return real_->Parked(); }
  Result<storage::RepairReport> Repair(const storage::Projector& projector) override {
    return real_->Repair(projector);
  }
  Result<storage::VerifyReport> Verify(const storage::Projector& projector) override {
    return real_->Verify(projector);
  }
  Result<std::uint64_t> Rebuild(const storage::Projector& projector) override {
    return real_->Rebuild(projector);
  }
  Result<storage::Stats> GetStats() override { return real_->GetStats(); }
  Result<void> ScanInitiatives(const std::vector<std::uint32_t>& partitions,
                               const std::function<bool(const v1::Initiative&)>& visit) override {
    return real_->ScanInitiatives(partitions, visit);
  }
  Result<void> ScanInitiativesAfter(
      std::uint32_t partition, const std::string& after_id,
      const std::function<bool(const v1::Initiative&)>& visit) override {
    return real_->ScanInitiativesAfter(partition, after_id, visit);
  }
  Result<std::uint64_t> CountIndexed(const std::vector<std::uint32_t>& partitions,
                                     const storage::IndexTerm& term) override {
    return real_->CountIndexed(partitions, term);
  }
  Result<void> ScanIndexed(std::uint32_t partition, const storage::IndexTerm& term,
                           const std::string& after_id,
                           const std::function<bool(const v1::Initiative&)>& visit) override {
    return real_->ScanIndexed(partition, term, after_id, visit);
  }
  Result<void> ScanSorted(
      std::uint32_t partition, storage::IndexField field, const std::string& after_position,
      const std::string& after_id,
      const std::function<bool(const std::string&, const v1::Initiative&)>& visit) override {
    return real_->ScanSorted(partition, field, after_position, after_id, visit);
  }
  Result<storage::Summary> Summarize(const std::vector<std::uint32_t>& partitions) override {
    return real_->Summarize(partitions);
  }
  Result<storage::OutboxBacklog> Backlog(std::uint32_t partition) override {
    return real_->Backlog(partition);
  }
  storage::DbFigures Figures() override { return real_->Figures(); }
  storage::WriteHealth Health() const override { return real_->Health(); }
  Result<void> Resume() override { return real_->Resume(); }
  Result<storage::DiskSpace> Space() const override { return real_->Space(); }

 private:
  std::unique_ptr<storage::Register> real_;
};

}  // namespace cir::testing
