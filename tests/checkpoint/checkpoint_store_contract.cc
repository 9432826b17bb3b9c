// The CheckpointStore contract (checkpoint/checkpoint_store.h), run by every backend.
#include "checkpoint_store_contract.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gmock/gmock.h>

namespace fraiseql::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

Checkpoint At(std::string id, int64_t epoch, ChangeLogPosition position) {
  Checkpoint checkpoint;
  checkpoint.listener_id = std::move(id);
  checkpoint.lease_epoch = epoch;
  checkpoint.position = position;
  checkpoint.batch_size = 500;
  checkpoint.event_count = 7;
  checkpoint.total_events = 70;
  checkpoint.updated_by = "host-a:1:aaaa";
  return checkpoint;
}

std::optional<Checkpoint> MustLoad(CheckpointStore& store, std::string_view id) {
  Result<std::optional<Checkpoint>> loaded = store.Load(id);
  EXPECT_TRUE(loaded) << loaded.error().message;
  return loaded ? *loaded : std::nullopt;
}

std::vector<CheckpointHistoryEntry> MustHistory(CheckpointStore& store, std::string_view id) {
  Result<std::vector<CheckpointHistoryEntry>> history = store.History(id, 100);
  EXPECT_TRUE(history) << history.error().message;
  return history ? *history : std::vector<CheckpointHistoryEntry>{};
}

bool MustSwap(CheckpointStore& store, std::string_view id, int64_t epoch, ChangeLogPosition position,
              const Checkpoint& next) {
  Result<bool> swapped = store.CompareAndSwap(id, epoch, position, next);
  EXPECT_TRUE(swapped) << swapped.error().message;
  return swapped && *swapped;
}

TEST_P(CheckpointStoreContract, LoadOfAnUnknownListenerIsNullopt) {
  EXPECT_EQ(MustLoad(store(), "nobody"), std::nullopt);
}

TEST_P(CheckpointStoreContract, SaveThenLoadKeepsEveryField) {
  Checkpoint checkpoint = At("l1", 3, {9'000'000'000ULL, 42});
  checkpoint.consecutive_errors = 2;
  checkpoint.last_error = "SQLSTATE 08006: gone";
  ASSERT_TRUE(store().Save(checkpoint));
  std::optional<Checkpoint> loaded = MustLoad(store(), "l1");
  ASSERT_TRUE(loaded);
  EXPECT_NE(loaded->updated_at, std::chrono::system_clock::time_point{});
  checkpoint.updated_at = loaded->updated_at;
  EXPECT_EQ(*loaded, checkpoint);
}

TEST_P(CheckpointStoreContract, SaveRejectsWhatTheTableWouldRefuse) {
  Checkpoint bad = At("l1", 1, {1, 1});
  bad.batch_size = 0;
  EXPECT_EQ(store().Save(bad).error().code, ErrorCode::kInvalidArgument);
  bad.batch_size = 10001;
  EXPECT_THAT(store().Save(bad).error().message, HasSubstr("batch size 10001"));
  bad = At("l1", 1, {1, -1});
  EXPECT_EQ(store().Save(bad).error().code, ErrorCode::kInvalidArgument);
  bad = At("", 1, {1, 1});
  EXPECT_EQ(store().Save(bad).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(MustLoad(store(), "l1"), std::nullopt);
}

TEST_P(CheckpointStoreContract, FirstCompareAndSwapExpectsTheEmptyState) {
  EXPECT_FALSE(MustSwap(store(), "l1", 1, {}, At("l1", 1, {5, 5})));
  EXPECT_FALSE(MustSwap(store(), "l1", 0, {1, 0}, At("l1", 1, {5, 5})));
  EXPECT_EQ(MustLoad(store(), "l1"), std::nullopt);
  EXPECT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {5, 5})));
  // The row exists now: the empty expectation no longer matches it.
  EXPECT_FALSE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {6, 6})));
  EXPECT_EQ(MustLoad(store(), "l1")->position, (ChangeLogPosition{5, 5}));
  // First writes make no history (nothing was there to undo).
  EXPECT_THAT(MustHistory(store(), "l1"), IsEmpty());
}

TEST_P(CheckpointStoreContract, AdvancesOnlyFromTheExpectedPosition) {
  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {10, 1})));
  EXPECT_FALSE(MustSwap(store(), "l1", 1, {10, 2}, At("l1", 1, {11, 1})));
  EXPECT_FALSE(MustSwap(store(), "l1", 1, {9, 1}, At("l1", 1, {11, 1})));
  EXPECT_TRUE(MustSwap(store(), "l1", 1, {10, 1}, At("l1", 1, {11, 1})));
  EXPECT_TRUE(MustSwap(store(), "l1", 1, {11, 1}, At("l1", 1, {11, 9})));
  std::optional<Checkpoint> loaded = MustLoad(store(), "l1");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->position, (ChangeLogPosition{11, 9}));
  EXPECT_EQ(loaded->lease_epoch, 1);
  EXPECT_EQ(loaded->total_events, 70);
}

TEST_P(CheckpointStoreContract, AStaleEpochCannotAdvance) {
  // Guarantee 4: a paused former leader (epoch 1) wakes after a failover to epoch 2.
  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {10, 1})));
  ASSERT_TRUE(MustSwap(store(), "l1", 1, {10, 1}, At("l1", 2, {10, 1})));
  EXPECT_FALSE(MustSwap(store(), "l1", 1, {10, 1}, At("l1", 1, {20, 1})));
  EXPECT_FALSE(MustSwap(store(), "l1", 1, {10, 1}, At("l1", 3, {20, 1})));
  std::optional<Checkpoint> loaded = MustLoad(store(), "l1");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->lease_epoch, 2);
  EXPECT_EQ(loaded->position, (ChangeLogPosition{10, 1}));
}

TEST_P(CheckpointStoreContract, AnEpochChangeIsRecordedAsAFailover) {
  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {10, 1})));
  Checkpoint takeover = At("l1", 2, {10, 1});
  takeover.updated_by = "host-b:2:bbbb";
  ASSERT_TRUE(MustSwap(store(), "l1", 1, {10, 1}, takeover));
  std::vector<CheckpointHistoryEntry> history = MustHistory(store(), "l1");
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_EQ(history[0].reason, "failover: epoch 1 -> 2");
  EXPECT_EQ(history[0].position, (ChangeLogPosition{10, 1}));
  EXPECT_EQ(history[0].lease_epoch, 1);
  EXPECT_EQ(history[0].batch_size, 500u);
  EXPECT_EQ(history[0].updated_by, "host-b:2:bbbb");
  EXPECT_NE(history[0].recorded_at, std::chrono::system_clock::time_point{});
}

TEST_P(CheckpointStoreContract, OrdinaryWritesRecordNoHistory) {
  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {1, 1})));
  for (int64_t pk = 2; pk < 20; ++pk) {
    ASSERT_TRUE(MustSwap(store(), "l1", 1, {1, pk - 1}, At("l1", 1, {1, pk})));
  }
  ASSERT_TRUE(store().Save(At("l1", 1, {2, 1})));
  EXPECT_THAT(MustHistory(store(), "l1"), IsEmpty());
}

TEST_P(CheckpointStoreContract, SaveUnderANewEpochIsRecordedToo) {
  ASSERT_TRUE(store().Save(At("l1", 1, {1, 1})));
  ASSERT_TRUE(store().Save(At("l1", 4, {1, 1})));
  std::vector<CheckpointHistoryEntry> history = MustHistory(store(), "l1");
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_EQ(history[0].reason, "failover: epoch 1 -> 4");
}

TEST_P(CheckpointStoreContract, CompareAndSwapRejectsInconsistentRequests) {
  Result<bool> other_id = store().CompareAndSwap("l1", 0, {}, At("l2", 1, {1, 1}));
  EXPECT_EQ(other_id.error().code, ErrorCode::kInvalidArgument);
  Result<bool> lower = store().CompareAndSwap("l1", 3, {}, At("l1", 2, {1, 1}));
  EXPECT_EQ(lower.error().code, ErrorCode::kInvalidArgument);
  Checkpoint bad = At("l1", 1, {1, 1});
  bad.batch_size = 0;
  EXPECT_EQ(store().CompareAndSwap("l1", 0, {}, bad).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(CheckpointStoreContract, DeleteResetsAndRecordsWhatItRemoved) {
  Result<bool> none = store().Delete("l1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_THAT(MustHistory(store(), "l1"), IsEmpty());

  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 3, {77, 8})));
  Result<bool> deleted = store().Delete("l1");
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(*deleted);
  EXPECT_EQ(MustLoad(store(), "l1"), std::nullopt);
  std::vector<CheckpointHistoryEntry> history = MustHistory(store(), "l1");
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_EQ(history[0].reason, "reset");
  EXPECT_EQ(history[0].position, (ChangeLogPosition{77, 8}));
  EXPECT_EQ(history[0].lease_epoch, 3);
  // After a reset the next listener starts from the empty state.
  EXPECT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 4, {0, 0})));
}

TEST_P(CheckpointStoreContract, MoveToKeepsTheEpochAndFencesTheOldPosition) {
  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 2, {50, 5})));
  ASSERT_TRUE(store().MoveTo("l1", {40, 1}, "replay the outage"));
  std::optional<Checkpoint> loaded = MustLoad(store(), "l1");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->position, (ChangeLogPosition{40, 1}));
  EXPECT_EQ(loaded->lease_epoch, 2);
  // The leader's next write expected the old position: fenced; it reloads and goes on from here.
  EXPECT_FALSE(MustSwap(store(), "l1", 2, {50, 5}, At("l1", 2, {60, 1})));
  EXPECT_TRUE(MustSwap(store(), "l1", 2, {40, 1}, At("l1", 2, {41, 1})));
  std::vector<CheckpointHistoryEntry> history = MustHistory(store(), "l1");
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_EQ(history[0].reason, "manual move to 40/1: replay the outage");
  EXPECT_EQ(history[0].position, (ChangeLogPosition{50, 5}));
}

TEST_P(CheckpointStoreContract, MoveToCreatesAMissingCheckpoint) {
  ASSERT_TRUE(store().MoveTo("l1", {123, 4}, "start at the present"));
  std::optional<Checkpoint> loaded = MustLoad(store(), "l1");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->position, (ChangeLogPosition{123, 4}));
  EXPECT_EQ(loaded->lease_epoch, 0);
  EXPECT_EQ(loaded->batch_size, 100u);
  // A first leader takes it over from epoch 0 at that position.
  EXPECT_TRUE(MustSwap(store(), "l1", 0, {123, 4}, At("l1", 1, {123, 4})));
  std::vector<CheckpointHistoryEntry> history = MustHistory(store(), "l1");
  ASSERT_THAT(history, SizeIs(2));
  EXPECT_EQ(history[0].reason, "failover: epoch 0 -> 1");
  EXPECT_EQ(history[1].reason, "manual move to 123/4: start at the present");
  EXPECT_EQ(history[1].position, (ChangeLogPosition{0, 0}));
  EXPECT_EQ(history[1].lease_epoch, std::nullopt);
}

TEST_P(CheckpointStoreContract, MoveToTruncatesALongReason) {
  ASSERT_TRUE(store().MoveTo("l1", {1, 1}, std::string(1000, 'x')));
  std::vector<CheckpointHistoryEntry> history = MustHistory(store(), "l1");
  ASSERT_THAT(history, SizeIs(1));
  EXPECT_LE(history[0].reason.size(), kMaxHistoryReasonBytes);
  EXPECT_THAT(history[0].reason, HasSubstr("manual move to 1/1: xxx"));
}

TEST_P(CheckpointStoreContract, HistoryIsNewestFirstAndLimited) {
  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {1, 1})));
  for (int i = 2; i <= 5; ++i) {
    ASSERT_TRUE(store().MoveTo("l1", {static_cast<uint64_t>(i), 1}, "step " + std::to_string(i)));
  }
  Result<std::vector<CheckpointHistoryEntry>> two = store().History("l1", 2);
  ASSERT_TRUE(two);
  ASSERT_THAT(*two, SizeIs(2));
  EXPECT_EQ((*two)[0].reason, "manual move to 5/1: step 5");
  EXPECT_EQ((*two)[1].reason, "manual move to 4/1: step 4");
  EXPECT_THAT(MustHistory(store(), "other"), IsEmpty());
}

TEST_P(CheckpointStoreContract, ListenersAreIndependent) {
  ASSERT_TRUE(MustSwap(store(), "a", 0, {}, At("a", 1, {1, 1})));
  ASSERT_TRUE(MustSwap(store(), "b", 0, {}, At("b", 5, {9, 9})));
  ASSERT_TRUE(store().Delete("a"));
  EXPECT_EQ(MustLoad(store(), "a"), std::nullopt);
  EXPECT_EQ(MustLoad(store(), "b")->lease_epoch, 5);
}

TEST_P(CheckpointStoreContract, ConcurrentSwapsFromOnePositionHaveOneWinner) {
  ASSERT_TRUE(MustSwap(store(), "l1", 0, {}, At("l1", 1, {1, 1})));
  std::atomic<int> winners{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Result<bool> swapped = store().CompareAndSwap("l1", 1, {1, 1}, At("l1", 1, {2, static_cast<int64_t>(i)}));
      if (!swapped) ++errors;
      if (swapped && *swapped) ++winners;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
}

}  // namespace
}  // namespace fraiseql::testing
