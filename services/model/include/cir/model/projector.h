// The improvement model as the register's Projector: the adapter through which storage folds
// events without depending on services/.
#pragma once

#include <memory>

#include "cir/model/config.h"
#include "cir/storage/projector.h"

namespace cir::model {

// A projector that applies the model with `config` (copied). Thread-safe.
[[nodiscard]] std::unique_ptr<storage::Projector> MakeProjector(const Config& config);

}  // namespace cir::model
