#include "offline.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cir/events/codec.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
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

std::unique_ptr<storage::Register> OpenRegister(const std::string& dir, bool create, bool sync,
                                                const storage::Clock* clock, std::ostream& err) {
  storage::Options options;
  options.path = dir;
  options.create_if_missing = create;
  options.sync = sync;
  options.clock = clock;
  auto opened = storage::Register::Open(options);
  if (!opened) {
    err << "circtl: cannot open register '" << dir << "': " << opened.error().ToString() << "\n";
    return nullptr;
  }
  return std::move(*opened);
}

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
    return Drain();
  }

  // Fires every timer due by `now`, each at its own due-time.
  bool FireTimers(const pb::Timestamp& now) {
    if (!last_time_ || *last_time_ < now) last_time_ = now;
    clock_.Set(now);
    auto fired = FireDueUntil(reg_, options_.partition, now, *projector_);
    if (!fired) return Failed(fired.error());
    return Drain();
  }

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
      auto records = reg_.ReadOutbox(options_.partition, 0, 256);
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
    }
  }

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

std::string Time(const pb::Timestamp& t) { return TimeUtil::ToString(t); }

std::string StepName(v1::Step step) {
  return v1::Step_Name(step).substr(sizeof("STEP_") - 1);
}

void PrintSummary(const v1::Initiative& s, const std::vector<v1::StoredEvent>& history,
                  std::ostream& out) {
  out << s.initiative_id() << "  " << s.title() << "\n"
      << "  step       " << StepName(s.step()) << " (iteration " << s.iteration() << ", since "
      << Time(s.step_entered_at()) << ")\n"
      << "  owner      " << s.owner() << "\n"
      << "  vision     " << s.vision() << "\n";
  if (s.outcome() != v1::OUTCOME_UNSPECIFIED) {
    out << "  outcome    " << v1::Outcome_Name(s.outcome()) << "\n";
  }
  for (const auto& k : s.kpis()) {
    out << "  kpi        " << k.kpi();
    if (k.has_baseline()) out << "  baseline " << k.baseline_value() << " " << k.unit();
    if (k.has_target()) {
      out << "  target " << (k.target().direction() == v1::DIRECTION_DECREASE ? "<= " : ">= ")
          << k.target().target_value() << " by " << Time(k.target().deadline());
    }
    if (k.has_latest()) out << "  latest " << k.latest().value();
    out << "\n";
  }
  for (const auto& a : s.actions()) {
    out << "  action     " << a.action_id() << "  " << v1::ActionStatus_Name(a.status()) << "  "
        << a.percent_complete() << "%" << (a.not_needed() ? "  not needed: target met" : "")
        << "\n";
  }
  for (const auto& a : s.firing_alerts()) {
    out << "  FIRING     " << v1::AlertKind_Name(a.kind()) << "  " << a.kpi() << "  "
        << a.reason() << "\n";
  }
  for (const auto& t : s.timers()) {
    out << "  due        " << v1::AlertKind_Name(t.kind()) << " " << t.kpi() << " at "
        << Time(t.due_at()) << "\n";
  }
  out << "history (" << history.size() << " events)\n";
  for (const auto& e : history) {
    out << "  #" << e.revision() << "  ";
    if (e.has_value_chain()) {
      const auto& v = e.value_chain();
      const auto* field = v.GetDescriptor()->FindFieldByNumber(v.payload_case());
      out << Time(v.event_time()) << "  " << (field ? field->name() : "?") << "  " << v.source()
          << " " << v.id();
    } else {
      out << Time(e.timer().fired_at()) << "  timer " << v1::AlertKind_Name(e.timer().kind())
          << " " << e.timer().kpi();
    }
    if (e.disposition() == v1::DISPOSITION_IGNORED) out << "  (ignored: " << e.note() << ")";
    out << "\n";
  }
}

}  // namespace

int Replay(const ReplayOptions& options, std::ostream& out, std::ostream& err) {
  std::ifstream file_stream;
  std::istream* in = &std::cin;
  if (options.file != "-") {
    file_stream.open(options.file);
    if (!file_stream) {
      err << "circtl: cannot read '" << options.file << "'\n";
      return kExitUsage;
    }
    in = &file_stream;
  }
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
  std::string line;
  std::int64_t number = 0;
  while (std::getline(*in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    replayer.CountLine();
    if (!replayer.Line(number, line)) return kExitRegisterError;
    progress.Maybe([&] { return replayer.ProgressText(percent()); });
  }
  if (!replayer.Finish()) return kExitRegisterError;
  progress.Finish(replayer.ProgressText(sized ? 100 : -1));
  return replayer.Summary();
}

int Show(const ShowOptions& options, std::ostream& out, std::ostream& err) {
  auto reg = OpenRegister(options.data_dir, /*create=*/false, false, nullptr, err);
  if (!reg) return kExitRegisterError;
  auto found = reg->FindInitiative(options.initiative_id);
  if (!found) {
    err << "circtl: " << found.error().ToString() << "\n";
    return kExitRegisterError;
  }
  if (!*found) {
    err << "circtl: no initiative '" << options.initiative_id << "' in " << options.data_dir
        << "\n";
    return kExitBadInput;
  }
  auto found_history = reg->FindHistory(options.initiative_id);
  if (!found_history) {
    err << "circtl: " << found_history.error().ToString() << "\n";
    return kExitRegisterError;
  }
  const std::vector<v1::StoredEvent>& history = *found_history;
  if (options.json) {
    std::string text;
    auto initiative = events::ToJson(**found);
    if (!initiative) {
      err << "circtl: " << initiative.error().ToString() << "\n";
      return kExitRegisterError;
    }
    text = "{\"initiative\":" + *initiative + ",\"history\":[";
    for (std::size_t i = 0; i < history.size(); ++i) {
      auto event = events::ToJson(history[i]);
      if (!event) {
        err << "circtl: " << event.error().ToString() << "\n";
        return kExitRegisterError;
      }
      text += (i ? "," : "") + *event;
    }
    out << text << "]}\n";
  } else {
    PrintSummary(**found, history, out);
  }
  return kExitOk;
}

int Verify(const VerifyOptions& options, std::ostream& out, std::ostream& err) {
  auto reg = OpenRegister(options.data_dir, /*create=*/false, true, nullptr, err);
  if (!reg) return kExitRegisterError;
  auto model = model::MakeProjector(options.model);
  // Verify and Rebuild fold every stored event once: count the folds against the register's
  // totals and report them from a ticker while the call runs.
  CountingProjector counting(*model);
  const storage::Projector* projector = &counting;
  const char* what = options.rebuild ? "circtl rebuild" : "circtl verify";
  std::uint64_t total = 0;
  if (auto stats = reg->GetStats()) total = stats->events_appended + stats->timers_fired;
  Progress progress(err, ProgressWanted(options.progress), StderrIsTerminal(),
                    std::chrono::milliseconds(250));
  auto text = [&] {
    const std::uint64_t folded = counting.folded();
    std::string line = std::string(what) + ": " + std::to_string(folded) + " of " +
                       std::to_string(total) + " events folded";
    if (total > 0) line += " (" + std::to_string(std::min<std::uint64_t>(100, 100 * folded / total)) + "%)";
    return line;
  };
  progress.Now(text());
  auto ticker = progress.enabled() ? std::make_unique<ProgressTicker>(
                                         std::chrono::milliseconds(500),
                                         [&] { progress.Now(text()); })
                                   : nullptr;
  auto finish = [&] {
    ticker.reset();
    progress.Finish(text());
  };
  if (options.repair) {
    auto report = reg->Repair(*model);
    if (!report) {
      err << "circtl: repair failed: " << report.error().ToString() << "\n";
      return kExitRegisterError;
    }
    out << "repaired: " << report->records_rewritten << " records rewritten, "
        << report->outbox_parked << " outbox records parked, " << report->dedupe_fixed
        << " dedupe entries fixed, " << report->projections_rebuilt
        << " projections differed after the rebuild\n";
    for (const auto& problem : report->unrepairable) out << "UNREPAIRABLE: " << problem << "\n";
    return report->unrepairable.empty() ? kExitOk : kExitBadInput;
  }
  if (options.rebuild) {
    auto changed = reg->Rebuild(*projector);
    finish();
    if (!changed) {
      err << "circtl: rebuild failed: " << changed.error().ToString() << "\n";
      return kExitRegisterError;
    }
    out << "rebuilt projections: " << *changed << " differed from what was stored\n";
    return kExitOk;
  }
  auto report = reg->Verify(*projector);
  finish();
  if (!report) {
    err << "circtl: verify failed: " << report.error().ToString() << "\n";
    return kExitRegisterError;
  }
  out << "initiatives " << report->initiatives << ", events " << report->events << ", outbox "
      << report->outbox_records << ", timers " << report->timers << "\n";
  for (const auto& problem : report->problems) out << "PROBLEM: " << problem << "\n";
  out << (report->problems.empty() ? "register OK\n"
                                   : std::to_string(report->problems.size()) + " problems\n");
  return report->problems.empty() ? kExitOk : kExitBadInput;
}

int ListParked(const std::string& data_dir, bool json, std::ostream& out, std::ostream& err) {
  auto reg = OpenRegister(data_dir, /*create=*/false, true, nullptr, err);
  if (!reg) return kExitRegisterError;
  auto parked = reg->Parked();
  if (!parked) {
    err << "circtl: " << parked.error().ToString() << "\n";
    return kExitRegisterError;
  }
  for (const v1::ParkedRecord& p : *parked) {
    v1::OutboxRecord record;
    std::string what = "unreadable";
    if (record.ParseFromString(p.record())) {
      if (record.has_output()) {
        what = record.output().has_transition() ? "transition " + record.output().transition().id()
                                                : "alert " + record.output().alert().id();
      } else if (record.has_dead_letter()) {
        what = "dead letter " + record.dead_letter().reason_code() + " from " +
               record.dead_letter().source_topic() + "/" +
               std::to_string(record.dead_letter().source_partition()) + "@" +
               std::to_string(record.dead_letter().source_offset());
      }
    }
    if (json) {
      auto line = events::ToJson(p);
      if (!line) {
        err << "circtl: " << line.error().ToString() << "\n";
        return kExitRegisterError;
      }
      out << *line << "\n";
    } else {
      out << "partition " << p.partition() << " seq " << p.seq() << " parked "
          << google::protobuf::util::TimeUtil::ToString(p.parked_at()) << ": " << what << ": "
          << p.reason() << "\n";
    }
  }
  if (!json) out << parked->size() << " parked records\n";
  return kExitOk;
}

}  // namespace cir::services
