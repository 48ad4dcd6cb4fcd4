// circtl's offline commands but replay (replay.cc): show, verify, rebuild, repair and parked.
#include "offline.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "cir/events/codec.h"
#include "cir/model/projector.h"
#include "cir/storage/register.h"
#include "input.h"
#include "progress.h"

namespace cir::services {
namespace {

namespace pb = google::protobuf;
using pb::util::TimeUtil;

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
