// The merge join under Verify and Rebuild (walk.h).
#include "walk.h"

#include "keys.h"

namespace cir::storage::internal {
namespace {

// Folds the stream that starts at `events` (the initiative `head` names) from scratch into
// `initiative`, checking its revisions and each event's disposition; `events` ends past it.
Result<void> FoldStream(Scan& events, const EventKeyParts& head, const std::string& stream_key,
                        const Projector& projector, Problems& problems, const EventCheck& on_event,
                        Initiative& initiative) {
  initiative.partition = head.partition;
  initiative.id = head.initiative_id;
  initiative.projection_key = stream_key;
  const std::string where = P(head.partition) + " initiative " + head.initiative_id;
  const std::string prefix = StreamPrefix(head.partition, head.initiative_id);
  while (events.Valid() && events.key().starts_with(prefix)) {
    auto key = ParseEventKey(events.key());
    auto event = Db::Parse<v1::StoredEvent>(Cf::kEvents, events.key(), events.value());
    if (!key || !event) {
      problems.Add(key ? event.error().message : "malformed event key " + Printable(events.key()));
      events.Next();
      continue;
    }
    ++initiative.events;
    if (key->revision != initiative.events) {
      problems.Add(where + ": revision " + std::to_string(key->revision) + " follows revision " +
                   std::to_string(initiative.events - 1) +
                   " (revisions must be contiguous from 1)");
      initiative.events = key->revision;
    }
    if (event->revision() != key->revision || event->partition() != key->partition) {
      problems.Add(where + ": the event at revision " + std::to_string(key->revision) +
                   " says revision " + std::to_string(event->revision()) + ", " +
                   P(event->partition()));
    }
    if (auto checked = on_event(key->partition, key->initiative_id, *event); !checked) {
      return checked;
    }
    const v1::Initiative* current = initiative.folded ? &*initiative.folded : nullptr;
    Projection projection = projector.Project(current, *event);
    if (projection.disposition == Projection::Disposition::kRejected) {
      problems.Add(where + ": revision " + std::to_string(key->revision) +
                   " is rejected when folded again (" + projection.reason_code + ": " +
                   projection.reason + ")");
    } else {
      const bool ignored = projection.disposition == Projection::Disposition::kIgnored;
      if (ignored != (event->disposition() == v1::DISPOSITION_IGNORED)) {
        problems.Add(where + ": revision " + std::to_string(key->revision) + " is stored " +
                     v1::Disposition_Name(event->disposition()) + " but folds " +
                     (ignored ? "ignored" : "applied"));
      }
      initiative.folded = std::move(projection.state);
    }
    events.Next();
  }
  return {};
}

}  // namespace

Result<void> Walk(const Db& db, const Projector& projector, Problems& problems,
                  const EventCheck& on_event,
                  const std::function<Result<void>(Initiative&)>& visit) {
  Scan events(db, Cf::kEvents, std::string(), std::nullopt);
  Scan projections(db, Cf::kProjections, std::string(), std::nullopt);
  while (events.Valid() || projections.Valid()) {
    std::optional<EventKeyParts> head;
    if (events.Valid()) {
      head = ParseEventKey(events.key());
      if (!head) {
        problems.Add("malformed event key " + Printable(events.key()));
        events.Next();
        continue;
      }
    }
    Initiative initiative;
    const std::optional<std::string> stream_key =
        head ? std::optional(ProjectionKey(head->partition, head->initiative_id)) : std::nullopt;
    const std::optional<std::string> projection_key =
        projections.Valid() ? std::optional(std::string(projections.key())) : std::nullopt;
    const bool take_stream = stream_key && (!projection_key || *stream_key <= *projection_key);
    const bool take_projection = projection_key && (!stream_key || *projection_key <= *stream_key);

    if (take_projection) {
      initiative.projection_key = *projection_key;
      auto id = ParseProjectionKey(*projection_key);
      if (!id) {
        problems.Add("malformed projection key " + Printable(*projection_key));
        projections.Next();
        continue;
      }
      initiative.partition = *ParsePartition(*projection_key);
      initiative.id = std::move(*id);
      auto stored =
          Db::Parse<v1::Initiative>(Cf::kProjections, projections.key(), projections.value());
      if (stored) {
        initiative.stored = std::move(*stored);
      } else {
        problems.Add(stored.error().message);
      }
      projections.Next();
    }
    if (take_stream) {
      if (auto folded =
              FoldStream(events, *head, *stream_key, projector, problems, on_event, initiative);
          !folded) {
        return folded;
      }
    }
    if (auto visited = visit(initiative); !visited) return visited;
  }
  if (auto ok = events.status(); !ok) return ok;
  return projections.status();
}

}  // namespace cir::storage::internal
