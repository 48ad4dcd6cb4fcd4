// Parking and repair: what the register does with records it cannot send or cannot read.
//
// Internal to cir::storage (Register::ParkOutbox, Register::Parked, Register::Repair).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "cir/storage/projector.h"
#include "cir/storage/register.h"
#include "db.h"

namespace cir::storage::internal {

// `bytes`, a `descriptor` message on the wire, re-encoded with every string field (at any depth)
// made valid UTF-8 (invalid bytes written as `\xNN`); other fields are kept byte for byte.
// nullopt when `bytes` is not protobuf wire format at all.
[[nodiscard]] std::optional<std::string> SanitizeUtf8(const google::protobuf::Descriptor* descriptor,
                                                      std::string_view bytes);

// Moves outbox entry (partition, seq) to the parked column family with `reason`, in one batch.
// An absent entry is not an error (already acknowledged or parked).
[[nodiscard]] Result<void> ParkOutboxEntry(const Db& db, std::uint32_t partition,
                                           std::uint64_t seq, const std::string& reason,
                                           const google::protobuf::Timestamp& now, bool sync);

// Every parked record, partition then seq order.
[[nodiscard]] Result<std::vector<v1::ParkedRecord>> ReadParked(const Db& db);

// Register::Repair. REQUIRES: no concurrent writer.
[[nodiscard]] Result<RepairReport> RepairDb(const Db& db, const Projector& projector,
                                            const google::protobuf::Timestamp& now, bool sync);

}  // namespace cir::storage::internal
