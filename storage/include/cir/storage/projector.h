// The seam between the register and the improvement model. The register (this library) owns
// durability: dedupe, streams, projections, outbox, due-time index and offsets. What an event
// *means* is decided by a Projector, which services/ implements over the pure model. The register
// depends only on this interface and the cir.v1 schemas, never on services/.
#pragma once

#include <string>
#include <vector>

#include "cir/v1/improvement.pb.h"
#include "cir/v1/register.pb.h"

namespace cir::storage {

struct Projection {
  enum class Disposition {
    kApplied,   // append the event; `state` and `outputs` take effect
    kIgnored,   // append the event with `reason` as its note; `state` is still written (revision)
    kRejected,  // do not append; the event becomes a dead letter with `reason_code`/`reason`
  };
  Disposition disposition = Disposition::kApplied;
  // The code as stored and sent: the projector's text, which the register keeps as it is (the
  // model gives a DeadLetterReason or IgnoreReason by its base::EnumName, "UNKNOWN_INITIATIVE");
  // empty when applied.
  std::string reason_code;
  std::string reason;       // human-readable
  // The initiative after the event. Its `timers` are the due-times the register must index.
  // Unused when rejected.
  v1::Initiative state;
  // Transitions and alerts caused by the event, in order. Unused when rejected.
  std::vector<v1::Output> outputs;
};

class Projector {
 public:
  virtual ~Projector() = default;

  // Folds one event into an initiative. `current` is null when the register holds no projection
  // for the event's initiative. `event.revision` is already the revision the event will get.
  // Must be deterministic: a rebuild folds the same events again and must get the same states.
  // Thread-safety: must be callable concurrently (the model is pure).
  [[nodiscard]] virtual Projection Project(const v1::Initiative* current,
                                           const v1::StoredEvent& event) const = 0;
};

}  // namespace cir::storage
