#include "progress.h"

#include <unistd.h>

namespace cir::services {

bool ProgressWanted(int flag) {
  if (flag != 0) return flag > 0;
  return StderrIsTerminal();
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::ostream& err, bool enabled, bool terminal,
                   std::chrono::milliseconds every)
    : err_(err), enabled_(enabled), terminal_(terminal), every_(every) {}

Progress::~Progress() {
  if (open_line_) err_ << "\n" << std::flush;
}

void Progress::Maybe(const std::function<std::string()>& text) {
  if (!enabled_) return;
  if (std::chrono::steady_clock::now() - last_ < every_) return;
  Now(text());
}

void Progress::Now(const std::string& text) {
  if (!enabled_) return;
  last_ = std::chrono::steady_clock::now();
  if (terminal_) {
    err_ << "\r" << text << "\x1b[K" << std::flush;  // erase what a longer line left
    open_line_ = true;
  } else {
    err_ << text << "\n" << std::flush;
  }
}

void Progress::Finish(const std::string& text) {
  if (!enabled_) return;
  Now(text);
  if (open_line_) err_ << "\n" << std::flush;
  open_line_ = false;
}

ProgressTicker::ProgressTicker(std::chrono::milliseconds every, std::function<void()> report)
    : thread_([this, every, report = std::move(report)] {
        while (stop_.WaitFor(every)) report();
      }) {}

ProgressTicker::~ProgressTicker() {
  stop_.Stop();
  thread_.join();
}

}  // namespace cir::services
