// Group commit (Register::Sync): one WAL fsync for every write since the last one, none when
// there is nothing to sync, and nothing extra for a register that syncs every write already.
#include <gtest/gtest.h>

#include "cir/storage/register.h"
#include "test_projector.h"
#include "test_util.h"

namespace cir::storage {
namespace {

using testing::Event;
using testing::FakeClock;
using testing::Inbound;
using testing::TempDir;
using testing::TestOptions;
using testing::TestProjector;

class SyncTest : public ::testing::Test {
 protected:
  std::unique_ptr<Register> Open(bool sync) {
    auto opened = Register::Open(TestOptions(dir_, clock_, sync, /*small=*/true));
    EXPECT_TRUE(opened) << opened.error().ToString();
    return opened ? std::move(*opened) : nullptr;
  }
  // Three events of `initiative` (the test projector's third makes an output), offsets 0..2.
  static AppendRequest On(std::uint32_t partition, const std::string& initiative) {
    AppendRequest request;
    request.partition = partition;
    for (int i = 0; i < 3; ++i) {
      request.events.push_back(
          Inbound(Event(initiative + "-" + std::to_string(i), initiative, 1'700'000'000 + i), i));
    }
    request.offsets = {{"value-chain", 3}};
    return request;
  }

  TempDir dir_;
  FakeClock clock_;
  TestProjector projector_;
};

TEST_F(SyncTest, OneFsyncForEveryUnsyncedWriteBeforeItAndNoneForNothing) {
  auto reg = Open(/*sync=*/false);
  ASSERT_TRUE(reg);
  ASSERT_TRUE(reg->Sync());
  EXPECT_EQ(reg->Figures().synced_writes, 0u) << "nothing written: nothing to sync";

  for (std::uint32_t p = 0; p < 3; ++p) {
    ASSERT_TRUE(reg->Append(On(p, "i" + std::to_string(p)), projector_));
  }
  EXPECT_EQ(reg->Figures().synced_writes, 0u);
  ASSERT_TRUE(reg->Sync());
  EXPECT_EQ(reg->Figures().synced_writes, 1u) << "three partitions' batches, one fsync";
  ASSERT_TRUE(reg->Sync());
  EXPECT_EQ(reg->Figures().synced_writes, 1u);

  // An acknowledgement is an unsynced write too; an idle tick writes nothing.
  auto outbox = reg->ReadOutbox(0, 0, 10);
  ASSERT_TRUE(outbox);
  ASSERT_FALSE(outbox->empty());
  ASSERT_TRUE(reg->AckOutbox(0, {outbox->front().seq()}));
  ASSERT_TRUE(reg->FireDueTimers(0, testing::Ts(1'700'000'003), 100, projector_));
  ASSERT_TRUE(reg->Sync());
  EXPECT_EQ(reg->Figures().synced_writes, 2u);

  reg.reset();
  reg = Open(/*sync=*/false);
  ASSERT_TRUE(reg);
  for (std::uint32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(reg->Offset(p, "value-chain").value(), std::optional<std::int64_t>(3));
  }
  EXPECT_EQ(reg->ReadOutbox(0, 0, 10)->size(), outbox->size() - 1) << "the ack was kept";
}

TEST_F(SyncTest, ARegisterThatSyncsEveryWriteHasNothingLeftToSync) {
  auto reg = Open(/*sync=*/true);
  ASSERT_TRUE(reg);
  ASSERT_TRUE(reg->Append(On(0, "a"), projector_));
  EXPECT_EQ(reg->Figures().synced_writes, 1u);
  ASSERT_TRUE(reg->Sync());
  EXPECT_EQ(reg->Figures().synced_writes, 1u);
}

}  // namespace
}  // namespace cir::storage
