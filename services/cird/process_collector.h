// process_* metrics (CPU, memory, file descriptors, start time) read from /proc/self at each
// scrape: prometheus-cpp has no process collector. Linux only.
#pragma once

#include <prometheus/collectable.h>

#include <vector>

namespace cir::cird {

// Thread-safety: Collect() may be called from any thread (it only reads /proc).
class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector();  // reads the process's start time once
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_ = 0;
};

}  // namespace cir::cird
