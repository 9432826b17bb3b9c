// MemoryCheckpointStore under the CheckpointStore contract, and the position helpers.
#include "checkpoint/memory_checkpoint_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checkpoint_store_contract.h"
#include "common/clock.h"

namespace fraiseql::testing {
namespace {

class MemoryBackend final : public CheckpointBackend {
 public:
  CheckpointStore& store() override { return store_; }

 private:
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 56))};
  MemoryCheckpointStore store_{clock_};
};

FRAISEQL_CONTRACT_BACKEND(CheckpointStoreContract, Memory, MemoryBackend);

TEST(ChangeLogPosition, OrdersByTxidThenPk) {
  EXPECT_LT((ChangeLogPosition{1, 100}), (ChangeLogPosition{2, 1}));
  EXPECT_LT((ChangeLogPosition{2, 1}), (ChangeLogPosition{2, 2}));
  EXPECT_EQ((ChangeLogPosition{3, 3}), (ChangeLogPosition{3, 3}));
  EXPECT_LT(ChangeLogPosition{}, (ChangeLogPosition{0, 1}));
}

TEST(ChangeLogPosition, PrintsAndParses) {
  EXPECT_EQ(PositionToString({7421, 1003}), "7421/1003");
  Result<ChangeLogPosition> parsed = ParsePosition("18446744073709551615/9223372036854775807");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->txid, 18446744073709551615ULL);
  EXPECT_EQ(parsed->pk, 9223372036854775807LL);
  for (const char* bad : {"", "1", "1/", "/1", "a/1", "1/-1", "1/2/3", "1 /2"}) {
    Result<ChangeLogPosition> rejected = ParsePosition(bad);
    ASSERT_FALSE(rejected) << bad;
    EXPECT_EQ(rejected.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(rejected.error().message, ::testing::HasSubstr("<txid>/<pk>"));
  }
}

TEST(MemoryCheckpointStore, StampsWritesWithItsClock) {
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)));
  MemoryCheckpointStore store(clock);
  Checkpoint checkpoint;
  checkpoint.listener_id = "l1";
  ASSERT_TRUE(store.Save(checkpoint));
  clock.Advance(std::chrono::seconds(5));
  ASSERT_TRUE(store.Delete("l1"));
  Result<std::vector<CheckpointHistoryEntry>> history = store.History("l1", 10);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].recorded_at, std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'005)));
}

TEST(MemoryCheckpointStore, KeepsABoundedHistory) {
  FakeClock clock;
  MemoryCheckpointStore store(clock);
  for (size_t i = 0; i < MemoryCheckpointStore::kMaxHistoryPerListener + 10; ++i) {
    ASSERT_TRUE(store.MoveTo("l1", {i, 0}, "move"));
  }
  Result<std::vector<CheckpointHistoryEntry>> history = store.History("l1", 1'000'000);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->size(), MemoryCheckpointStore::kMaxHistoryPerListener);
}

}  // namespace
}  // namespace fraiseql::testing
