// circtl replay: a file of value-chain events appended to a register without Kafka, with the
// time simulated (timers fire as the events' times pass), printing every output as a JSON line.
#include <google/protobuf/util/time_util.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cir/events/codec.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "input.h"
#include "offline.h"
#include "progress.h"
#include "cir/storage/stream_time.h"

namespace cir::services {
namespace {

namespace pb = google::protobuf;
using pb::util::TimeUtil;

// A clock that tells the time the replay says it is.
class ReplayClock final : public storage::Clock {
 public:
  pb::Timestamp Now() const override { return now_; }
  void Set(const pb::Timestamp& t) { now_ = t; }

 private:
  pb::Timestamp now_;
};

// Replays one file into the register, draining the outbox after every step.
class Replayer {
 public:
  Replayer(const ReplayOptions& options, storage::Register& reg, ReplayClock& clock,
           std::ostream& out, std::ostream& err)
      : options_(options), reg_(reg), clock_(clock), out_(out), err_(err),
        projector_(model::MakeProjector(options.model)) {}

  // Returns false on a register failure (already reported).
  bool Line(std::int64_t number, const std::string& text) {
    line_ = number;
    auto event = events::DecodeJson(text, limits_);
    if (!event) {
      Bad(event.error().message);
      return true;
    }
    if (!FireTimers(event->event_time())) return false;
    clock_.Set(event->event_time());
    storage::AppendRequest request;
    request.partition = options_.partition;
    request.events.push_back({std::move(*event), "file:" + options_.file, number, std::nullopt});
    request.offsets.emplace_back("file:" + options_.file, number + 1);
    auto result = reg_.Append(request, *projector_);
    if (!result) return Failed(result.error());
    duplicates_ += result->duplicates;
    appended_ += result->appended + result->ignored;
    for (const auto& outcome : result->events) {
      if (outcome.status == storage::EventOutcome::Status::kIgnored) {
        err_ << Where() << "ignored: " << outcome.reason_code << ": " << outcome.reason << "\n";
      }
    }
    // The outbox is empty after every step (each drains it whole), so only a step that put
    // something there has anything to print.
    return result->outbox.empty() || Drain();
  }

  // Fires every timer due by `now`, each at its own due-time.
  bool FireTimers(const pb::Timestamp& now) {
    if (!last_time_ || *last_time_ < now) last_time_ = now;
    clock_.Set(now);
    auto fired = storage::FireDueUntil(reg_, options_.partition, now, *projector_);
    if (!fired) return Failed(fired.error());
    return *fired == 0 || Drain();
  }

  // Prints what an earlier run left in the outbox, before the first line (afterwards only the
  // steps that put something there drain it).
  bool Start() { return Drain(); }

  bool Finish() {
    pb::Timestamp until;
    if (options_.until) {
      if (!TimeUtil::FromString(*options_.until, &until)) {
        err_ << "circtl: --until '" << *options_.until << "' is not an RFC 3339 time\n";
        usage_error_ = true;
        return true;
      }
    } else if (last_time_) {
      until = *last_time_;
    } else {
      return true;
    }
    line_ = 0;
    return FireTimers(until);
  }

  int Summary() const {
    err_ << "circtl replay: " << lines_ << " lines, " << appended_ << " appended, "
         << duplicates_ << " duplicates skipped, " << bad_ << " bad, " << outputs_
         << " outputs\n";
    if (usage_error_) return kExitUsage;
    return bad_ > 0 ? kExitBadInput : kExitOk;
  }

  void CountLine() { ++lines_; }

  // "circtl replay: 1200 lines (56%), 1180 appended, 3 bad, 410 outputs"; `percent` < 0: unknown.
  std::string ProgressText(int percent) const {
    std::string text = "circtl replay: " + std::to_string(lines_) + " lines";
    if (percent >= 0) text += " (" + std::to_string(percent) + "%)";
    return text + ", " + std::to_string(appended_) + " appended, " + std::to_string(bad_) +
           " bad, " + std::to_string(outputs_) + " outputs";
  }

 private:
  std::string Where() const {
    return line_ > 0 ? options_.file + ":" + std::to_string(line_) + ": " : options_.file + ": ";
  }

  void Bad(const std::string& reason) {
    ++bad_;
    err_ << Where() << reason << "\n";
  }

  bool Failed(const Error& error) {
    err_ << "circtl: register error: " << error.ToString() << "\n";
    return false;
  }

  // Prints the outbox (the offline stand-in for the Kafka producer) and deletes what it printed.
  bool Drain() {
    for (;;) {
      auto records = reg_.ReadOutbox(options_.partition, 0, kDrainChunk);
      if (!records) return Failed(records.error());
      if (records->empty()) return true;
      std::vector<std::uint64_t> seqs;
      for (const auto& record : *records) {
        seqs.push_back(record.seq());
        if (record.has_output()) {
          auto line = events::ToJson(record.output());
          if (!line) return Failed(line.error());
          out_ << *line << "\n";
          ++outputs_;
        } else if (record.has_dead_letter()) {
          Bad("rejected: " + record.dead_letter().reason_code() + ": " +
              record.dead_letter().reason());
        }
      }
      out_.flush();
      if (auto acked = reg_.AckOutbox(options_.partition, seqs); !acked) {
        return Failed(acked.error());
      }
      if (records->size() < kDrainChunk) return true;  // read to the end
    }
  }

  static constexpr std::size_t kDrainChunk = 256;

  const ReplayOptions& options_;
  storage::Register& reg_;
  ReplayClock& clock_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<storage::Projector> projector_;
  events::Limits limits_;
  std::optional<pb::Timestamp> last_time_;
  std::int64_t line_ = 0;
  std::uint64_t lines_ = 0, appended_ = 0, duplicates_ = 0, bad_ = 0, outputs_ = 0;
  bool usage_error_ = false;
};

}  // namespace

int Replay(const ReplayOptions& options, std::ostream& out, std::ostream& err) {
  std::ifstream file_stream;
  std::istream* in = OpenInput(options.file, file_stream, err);
  if (!in) return kExitUsage;
  ReplayClock clock;
  auto reg = OpenRegister(options.data_dir, /*create=*/true, options.sync, &clock, err);
  if (!reg) return kExitRegisterError;

  // The file's size, for a percentage (unknown for standard input and pipes).
  std::error_code size_error;
  const auto size = options.file == "-" ? 0 : std::filesystem::file_size(options.file, size_error);
  const bool sized = options.file != "-" && !size_error && size > 0;
  Progress progress(err, ProgressWanted(options.progress), StderrIsTerminal(),
                    std::chrono::milliseconds(250));
  Replayer replayer(options, *reg, clock, out, err);
  auto percent = [&] {
    if (!sized) return -1;
    const auto at = file_stream.tellg();
    return at < 0 ? 100 : static_cast<int>(100 * static_cast<std::uintmax_t>(at) / size);
  };
  if (!replayer.Start()) return kExitRegisterError;
  std::string line;
  std::int64_t number = 0;
  while (std::getline(*in, line)) {
    ++number;
    if (IsSkippedLine(line)) continue;
    replayer.CountLine();
    if (!replayer.Line(number, line)) return kExitRegisterError;
    progress.Maybe([&] { return replayer.ProgressText(percent()); });
  }
  if (!replayer.Finish()) return kExitRegisterError;
  progress.Finish(replayer.ProgressText(sized ? 100 : -1));
  return replayer.Summary();
}

}  // namespace cir::services
