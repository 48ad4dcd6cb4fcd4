#include "cir/model/projector.h"

#include <utility>

#include "cir/model/model.h"

namespace cir::model {
namespace {

class ModelProjector final : public storage::Projector {
 public:
  explicit ModelProjector(const Config& config) : config_(config) {}

  storage::Projection Project(const v1::Initiative* current,
                              const v1::StoredEvent& event) const override {
    Decision decision = Apply(config_, current, event);
    storage::Projection projection;
    switch (decision.disposition) {
      case Decision::Disposition::kApplied:
        projection.disposition = storage::Projection::Disposition::kApplied;
        break;
      case Decision::Disposition::kIgnored:
        projection.disposition = storage::Projection::Disposition::kIgnored;
        break;
      case Decision::Disposition::kRejected:
        projection.disposition = storage::Projection::Disposition::kRejected;
        break;
    }
    projection.reason_code = std::string(decision.reason_code());
    projection.reason = std::move(decision.reason);
    projection.state = std::move(decision.state);
    projection.outputs = std::move(decision.outputs);
    return projection;
  }

 private:
  const Config config_;
};

}  // namespace

std::unique_ptr<storage::Projector> MakeProjector(const Config& config) {
  return std::make_unique<ModelProjector>(config);
}

}  // namespace cir::model
