// Parking and repair; see repair.h.
//
// Repair exists for registers written before stored copies of outside input became `bytes`:
// such a register may hold proto3 `string` fields with invalid UTF-8, which protobuf writes (with
// a warning) but refuses to parse back. Repair re-encodes those values through protobuf's
// schema-less UnknownFieldSet, so nothing is lost but the invalidity of the bytes (each invalid
// byte becomes the text `\xNN`), then rebuilds what depends on the repaired strings: the dedupe
// index from the streams, and the projections and timers (RebuildDb).
#include "repair.h"

#include <google/protobuf/unknown_field_set.h>

#include <map>
#include <utility>

#include "cir/base/utf8.h"
#include "verify.h"

namespace cir::storage::internal {
namespace {

namespace pb = google::protobuf;

constexpr int kBatchOps = 1000;

// Every key starts with the partition, a big-endian u32 (keys.h).
std::uint32_t PartitionOf(std::string_view key) {
  std::uint32_t p = 0;
  for (std::size_t i = 0; i < 4 && i < key.size(); ++i) {
    p = (p << 8) | static_cast<unsigned char>(key[i]);
  }
  return p;
}

bool SanitizeSet(const pb::Descriptor* descriptor, pb::UnknownFieldSet& set, int depth) {
  if (depth > 100) return false;
  for (int i = 0; i < set.field_count(); ++i) {
    pb::UnknownField* field = set.mutable_field(i);
    if (field->type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const pb::FieldDescriptor* fd = descriptor->FindFieldByNumber(field->number());
    if (fd == nullptr) continue;
    if (fd->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (!utf8::Valid(field->length_delimited())) {
        *field->mutable_length_delimited() = utf8::Escape(field->length_delimited());
      }
    } else if (fd->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      pb::UnknownFieldSet inner;
      if (!inner.ParseFromString(field->length_delimited())) return false;
      if (!SanitizeSet(fd->message_type(), inner, depth + 1)) return false;
      std::string bytes;
      if (!inner.SerializeToString(&bytes)) return false;
      *field->mutable_length_delimited() = std::move(bytes);
    }
  }
  return true;
}

// Rewrites what does not parse in `cf` (values of type M). Outbox records that stay unreadable
// are parked; anything else that stays unreadable is reported.
template <class M>
Result<void> RepairValues(const Db& db, Cf cf, bool sync, const pb::Timestamp& now,
                          RepairReport& report) {
  rocksdb::WriteBatch batch;
  auto scanned =
      ForEach(db, cf, [&](std::string_view raw_key, std::string_view value) -> Result<void> {
        M message;
        if (message.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return {};
        }
        const std::string key(raw_key);
        auto fixed = SanitizeUtf8(M::descriptor(), value);
        if (fixed && message.ParseFromString(*fixed)) {
          batch.Put(db.cf(cf), key, *fixed);
          ++report.records_rewritten;
        } else if (cf == Cf::kOutbox) {
          v1::ParkedRecord parked;
          auto seq = ParseOutboxKey(key);
          parked.set_seq(seq.value_or(0));
          parked.set_partition(PartitionOf(key));
          parked.set_record(std::string(value));
          parked.set_reason("repair: the outbox record does not parse");
          *parked.mutable_parked_at() = now;
          batch.Put(db.cf(Cf::kParked), key, parked.SerializeAsString());
          batch.Delete(db.cf(Cf::kOutbox), key);
          ++report.outbox_parked;
        } else {
          report.unrepairable.push_back("unparsable " + M::descriptor()->name() + " at key " +
                                        Printable(key) + " in column family " +
                                        std::string(CfName(cf)));
        }
        if (batch.Count() >= kBatchOps) {
          if (auto ok = db.Write(batch, sync, "repairing records"); !ok) return ok;
          batch.Clear();
        }
        return {};
      });
  if (!scanned) return scanned;
  if (batch.Count() > 0) return db.Write(batch, sync, "repairing records");
  return {};
}

// Makes the dedupe index exactly the streams' events: each event's key points at it; entries
// that point elsewhere or at nothing are dropped. Repaired ids change their keys.
Result<void> ReindexDedupe(const Db& db, bool sync, RepairReport& report) {
  std::map<std::string, v1::DedupeEntry> expected;
  auto scanned =
      ForEach(db, Cf::kEvents, [&](std::string_view key, std::string_view value) -> Result<void> {
        auto parts = ParseEventKey(key);
        auto event = Db::Parse<v1::StoredEvent>(Cf::kEvents, key, value);
        if (!parts || !event) return {};  // reported by RepairValues / Verify
        if (!utf8::Valid(parts->initiative_id)) {
          // The stream's keys hold the raw id: re-keying a stream is more than a
          // repair may do silently, and a DedupeEntry cannot hold the id (proto3
          // string). Reported once.
          if (parts->revision == 1) {
            report.unrepairable.push_back("initiative id " + Printable(parts->initiative_id) +
                                          " in partition " + std::to_string(parts->partition) +
                                          " is not valid UTF-8 (its stream, projection and timers "
                                          "are keyed by it); export its history and re-publish it "
                                          "under a valid id");
          }
          return {};
        }
        auto dedupe_key = DedupeKeyOf(parts->partition, parts->initiative_id, *event);
        if (!dedupe_key) return {};
        v1::DedupeEntry entry;
        entry.set_initiative_id(parts->initiative_id);
        entry.set_revision(event->revision());
        expected.emplace(std::move(*dedupe_key), std::move(entry));
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> Result<void> {
    if (batch.Count() < kBatchOps) return {};
    auto ok = db.Write(batch, sync, "reindexing dedupe entries");
    batch.Clear();
    return ok;
  };
  scanned =
      ForEach(db, Cf::kDedupe, [&](std::string_view key, std::string_view value) -> Result<void> {
        auto it = expected.find(std::string(key));
        v1::DedupeEntry entry;
        const bool parses = entry.ParseFromArray(value.data(), static_cast<int>(value.size()));
        if (it != expected.end() && parses && entry.initiative_id() == it->second.initiative_id() &&
            entry.revision() == it->second.revision()) {
          expected.erase(it);
          return {};
        }
        batch.Delete(db.cf(Cf::kDedupe), key);
        ++report.dedupe_fixed;
        if (auto ok = flush(); !ok) return ok;
        return {};
      });
  if (!scanned) return std::unexpected(scanned.error());
  for (const auto& [key, entry] : expected) {
    batch.Put(db.cf(Cf::kDedupe), key, entry.SerializeAsString());
    ++report.dedupe_fixed;
    if (auto ok = flush(); !ok) return ok;
  }
  if (batch.Count() > 0) return db.Write(batch, sync, "reindexing dedupe entries");
  return {};
}

}  // namespace

std::optional<std::string> SanitizeUtf8(const pb::Descriptor* descriptor, std::string_view bytes) {
  pb::UnknownFieldSet set;
  if (!set.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  if (!SanitizeSet(descriptor, set, 0)) return std::nullopt;
  std::string out;
  if (!set.SerializeToString(&out)) return std::nullopt;
  return out;
}

Result<void> ParkOutboxEntry(const Db& db, std::uint32_t partition, std::uint64_t seq,
                             const std::string& reason, const pb::Timestamp& now, bool sync) {
  const std::string key = OutboxKey(partition, seq);
  auto raw = db.Get(Cf::kOutbox, key);
  if (!raw) return std::unexpected(raw.error());
  if (!*raw) return {};
  v1::ParkedRecord parked;
  parked.set_seq(seq);
  parked.set_partition(partition);
  parked.set_record(std::move(**raw));
  parked.set_reason(utf8::Escape(reason));
  *parked.mutable_parked_at() = now;
  rocksdb::WriteBatch batch;
  batch.Put(db.cf(Cf::kParked), key, parked.SerializeAsString());
  batch.Delete(db.cf(Cf::kOutbox), key);
  return db.Write(batch, sync,
                  "parking outbox record " + std::to_string(seq) + " of partition " +
                      std::to_string(partition));
}

Result<std::vector<v1::ParkedRecord>> ReadParked(const Db& db) {
  return ParseAll<v1::ParkedRecord>(Scan(db, Cf::kParked, std::string(), std::nullopt),
                                    Cf::kParked);
}

Result<RepairReport> RepairDb(const Db& db, const Projector& projector, const pb::Timestamp& now,
                              bool sync) {
  RepairReport report;
  if (auto ok = RepairValues<v1::StoredEvent>(db, Cf::kEvents, sync, now, report); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = RepairValues<v1::Initiative>(db, Cf::kProjections, sync, now, report); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = RepairValues<v1::DedupeEntry>(db, Cf::kDedupe, sync, now, report); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = RepairValues<v1::OutboxRecord>(db, Cf::kOutbox, sync, now, report); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = RepairValues<v1::PartitionMeta>(db, Cf::kMeta, sync, now, report); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = ReindexDedupe(db, sync, report); !ok) return std::unexpected(ok.error());
  auto rebuilt = RebuildDb(db, projector, sync);
  if (!rebuilt) return std::unexpected(rebuilt.error());
  report.projections_rebuilt = *rebuilt;
  return report;
}

}  // namespace cir::storage::internal
