// Progress reports on stderr for circtl's long offline commands (replay, verify, rebuild).
// On a terminal one line is redrawn in place; elsewhere (with --progress) each report is its own
// line, so that logs stay readable. Reports are rate-limited to a few a second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

#include "cir/base/thread_annotations.h"
#include "cir/storage/projector.h"

namespace cir::services {

// When progress is shown: `flag` > 0 (--progress) always, < 0 (--no-progress) never, 0 when
// standard error is a terminal.
[[nodiscard]] bool ProgressWanted(int flag);
[[nodiscard]] bool StderrIsTerminal();

class Progress {
 public:
  // Writes to `err` only when `enabled`. `terminal`: redraw one line with \r.
  Progress(std::ostream& err, bool enabled, bool terminal, std::chrono::milliseconds every);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Shows `text()` if the last report is older than `every` (text() is not called otherwise).
  // REQUIRES: one thread at a time calls Maybe, Now and Finish (a ProgressTicker's thread
  // while it lives, then the owner).
  void Maybe(const std::function<std::string()>& text);
  // Shows `text` now.
  void Now(const std::string& text);
  // Ends the report with `text` (on a terminal: the line is finished with a newline).
  void Finish(const std::string& text);

  [[nodiscard]] bool enabled() const { return enabled_; }

 private:
  std::ostream& err_;
  const bool enabled_;
  const bool terminal_;
  const std::chrono::milliseconds every_;
  std::chrono::steady_clock::time_point last_{};
  bool open_line_ = false;
};

// A projector that counts the events it folds (for verify/rebuild progress) and forwards to the
// real one. Thread-safe like the projector it wraps.
class CountingProjector final : public storage::Projector {
 public:
  explicit CountingProjector(const storage::Projector& inner) : inner_(inner) {}
  storage::Projection Project(const v1::Initiative* current,
                              const v1::StoredEvent& event) const override {
    folded_.fetch_add(1, std::memory_order_relaxed);
    return inner_.Project(current, event);
  }
  [[nodiscard]] std::uint64_t folded() const { return folded_.load(std::memory_order_relaxed); }

 private:
  const storage::Projector& inner_;
  mutable std::atomic<std::uint64_t> folded_{0};
};

// Runs `report` every `every` on a thread of its own until destroyed (for work that cannot report
// itself, e.g. a Register::Verify call). `report` must be thread-safe with that work.
class ProgressTicker {
 public:
  ProgressTicker(std::chrono::milliseconds every, std::function<void()> report);
  ~ProgressTicker();
  ProgressTicker(const ProgressTicker&) = delete;
  ProgressTicker& operator=(const ProgressTicker&) = delete;

 private:
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace cir::services
