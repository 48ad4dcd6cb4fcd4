// Dead letters: a refused record with why it was refused, cut to fit the dead-letter topic, and
// its Kafka encoding (cloudevents.h: MakeDeadLetter, FitDeadLetter, EncodeDeadLetter).
#include <string>
#include <string_view>

#include "cir/base/utf8.h"
#include "cir/events/cloudevents.h"

namespace cir::events {
namespace {

// Cuts `text` to `max` bytes, recording what was cut in `note`.
void Cut(std::string& text, std::size_t max, std::string_view what, std::string& note) {
  if (text.size() <= max) return;
  note += (note.empty() ? "" : ",") + std::string(what) + ":" + std::to_string(text.size()) +
          "->" + std::to_string(max);
  text.resize(max);
}

}  // namespace

v1::DeadLetter MakeDeadLetter(const Record& record, const Rejection& rejection,
                              const Limits& limits) {
  v1::DeadLetter dl;
  dl.set_reason_code(std::string(rejection.reason_code()));
  dl.set_reason(utf8::Escape(rejection.reason));
  dl.set_source_topic(record.topic);
  dl.set_source_partition(record.partition);
  dl.set_source_offset(record.offset);
  if (record.key) dl.set_key(*record.key);
  if (record.value) dl.set_value(*record.value);
  for (const auto& [k, v] : record.headers) {
    auto* h = dl.add_headers();
    h->set_key(k);
    h->set_value(v);
  }
  FitDeadLetter(dl, limits.max_dead_letter_bytes);
  return dl;
}

std::size_t DeadLetterBytes(const v1::DeadLetter& dl) {
  std::size_t size = dl.key().size() + dl.value().size() + dl.reason_code().size() +
                     dl.reason().size() + dl.source_topic().size() + kDeadLetterHeaderReserve;
  for (const auto& h : dl.headers()) size += h.key().size() + h.value().size() + 8;
  return size;
}

void FitDeadLetter(v1::DeadLetter& dl, std::size_t max_bytes) {
  if (DeadLetterBytes(dl) <= max_bytes) return;
  // What must be cut is cut in an order that keeps the most useful bytes: the reason first (it
  // is ours and can be long only by quoting input), then the headers, the key, and last the value,
  // which keeps whatever room is left. The source offset always survives: with it the record
  // can be read whole from the input topic while retention keeps it.
  std::string note;
  if (dl.reason().size() > kMaxCutText) {
    note = "reason:" + std::to_string(dl.reason().size()) + "->" + std::to_string(kMaxCutText);
    dl.set_reason(utf8::Quote(dl.reason(), kMaxCutText - 3));  // "…" is 3 bytes
  }
  const int headers = dl.headers_size();
  if (headers > static_cast<int>(kMaxCutHeaders)) {
    note += (note.empty() ? "" : ",") + std::string("headers:") + std::to_string(headers) + "->" +
            std::to_string(kMaxCutHeaders);
    dl.mutable_headers()->DeleteSubrange(static_cast<int>(kMaxCutHeaders),
                                         headers - static_cast<int>(kMaxCutHeaders));
  }
  for (int i = 0; i < dl.headers_size(); ++i) {
    auto* h = dl.mutable_headers(i);
    Cut(*h->mutable_key(), kMaxCutText, "header[" + std::to_string(i) + "].name", note);
    Cut(*h->mutable_value(), kMaxCutText, "header[" + std::to_string(i) + "].value", note);
  }
  Cut(*dl.mutable_key(), kMaxCutText, "key", note);
  const std::size_t others = DeadLetterBytes(dl) - dl.value().size() + note.size() + 64;
  const std::size_t room = max_bytes > others ? max_bytes - others : 0;
  Cut(*dl.mutable_value(), room, "value", note);
  dl.set_truncated(note);
}

Record EncodeDeadLetter(const v1::DeadLetter& dl) {
  Record record;
  record.key = dl.key();
  record.value = dl.value();
  // The producer's own cir_dlq_* headers (if any) are dropped: these names are cird's.
  for (const auto& h : dl.headers()) {
    if (h.key().rfind("cir_dlq_", 0) == 0) continue;
    record.headers.emplace_back(h.key(), h.value());
  }
  record.headers.emplace_back("cir_dlq_reason_code", dl.reason_code());
  record.headers.emplace_back("cir_dlq_reason", dl.reason());
  record.headers.emplace_back("cir_dlq_source_topic", dl.source_topic());
  record.headers.emplace_back("cir_dlq_source_partition", std::to_string(dl.source_partition()));
  record.headers.emplace_back("cir_dlq_source_offset", std::to_string(dl.source_offset()));
  if (!dl.truncated().empty()) record.headers.emplace_back("cir_dlq_truncated", dl.truncated());
  return record;
}

}  // namespace cir::events
