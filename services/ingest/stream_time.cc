#include "stream_time.h"

#include <google/protobuf/util/time_util.h>

namespace cir::services {

Result<std::uint64_t> FireDueUntil(storage::Register& reg, std::uint32_t partition,
                                   const google::protobuf::Timestamp& until,
                                   const storage::Projector& projector) {
  std::uint64_t fired = 0;
  for (;;) {
    auto due = reg.NextDue(partition);
    if (!due) return std::unexpected(due.error());
    if (!*due || **due > until) return fired;
    auto result = reg.FireDueTimers(partition, **due, 1000, projector);
    if (!result) return std::unexpected(result.error());
    if (result->events.empty()) return fired;  // nothing consumed: do not spin
    fired += result->events.size();
  }
}

}  // namespace cir::services
