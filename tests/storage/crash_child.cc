// The crash test's child: opens the register at argv[1], resumes from its stored offset and appends
// crash batches (crash_batches.h) until it is killed. With argv[2] == "1" it first re-sends the
// last batch it stored, as a consumer that crashed before committing to Kafka would receive it.
// Prints "ready" on stdout once the register is open. Exits non-zero on any error.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cir/storage/register.h"
#include "crash_batches.h"
#include "test_projector.h"

namespace {

template <class T>
T OrDie(cir::Result<T> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "crash_child: %s: %s\n", what, result.error().ToString().c_str());
    std::exit(2);
  }
  return std::move(*result);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cir::storage;
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_child <register dir> <redeliver 0|1>\n");
    return 2;
  }
  Options options;
  options.path = argv[1];
  options.sync = true;
  options.block_cache_bytes = 8u << 20;
  options.write_buffer_bytes = 1u << 20;  // small: flushes happen during the test too
  auto reg = OrDie(Register::Open(options), "open");
  const testing::TestProjector projector;
  const std::int64_t next = OrDie(reg->Offset(0, "crash"), "offset").value_or(0);
  std::printf("ready\n");
  std::fflush(stdout);

  if (std::strcmp(argv[2], "1") == 0 && next > 0) {
    (void)OrDie(reg->Append(testing::CrashBatch(next - 1), projector), "redeliver");
  }
  for (std::int64_t b = next;; ++b) {
    (void)OrDie(reg->Append(testing::CrashBatch(b), projector), "append");
    google::protobuf::Timestamp now;
    now.set_seconds(testing::CrashBatchTime(b));
    (void)OrDie(reg->FireDueTimers(0, now, 100, projector), "fire timers");
    if (b % 5 == 4) {  // a drain that acknowledges all but the newest records
      const auto outbox = OrDie(reg->ReadOutbox(0, 0, 10'000), "read outbox");
      std::vector<std::uint64_t> seqs;
      for (std::size_t i = 0; i + 20 < outbox.size(); ++i) seqs.push_back(outbox[i].seq());
      if (auto acked = reg->AckOutbox(0, seqs); !acked) {
        std::fprintf(stderr, "crash_child: ack: %s\n", acked.error().ToString().c_str());
        return 2;
      }
    }
  }
}
