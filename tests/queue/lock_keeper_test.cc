// LockKeeper: which held jobs are due for a lock extension, when (a third of the lock timeout
// after their last stamp), checked every sixth of it. Pure: times are passed in.
#include "queue/lock_keeper.h"

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const std::chrono::steady_clock::time_point kStart{1h};

TEST(LockKeeperTest, ExtendsWhatWasLockedAThirdOfTheTimeoutAgo) {
  LockKeeper keeper(60s, kStart);  // due after 20 s, checked every 10 s
  EXPECT_EQ(keeper.next_check(), kStart + 10s);
  keeper.Hold("a", kStart);
  keeper.Hold("b", kStart + 15s);
  EXPECT_THAT(keeper.TakeDue(kStart + 9s), IsEmpty());  // before the first check
  EXPECT_THAT(keeper.TakeDue(kStart + 10s), IsEmpty());  // a is 10 s old
  EXPECT_EQ(keeper.next_check(), kStart + 20s);
  EXPECT_THAT(keeper.TakeDue(kStart + 20s), ElementsAre("a"));
  EXPECT_THAT(keeper.TakeDue(kStart + 35s), ElementsAre("b"));  // a was stamped again at 20 s
  EXPECT_THAT(keeper.TakeDue(kStart + 45s), ElementsAre("a"));
  EXPECT_THAT(keeper.TakeDue(kStart + 50s), IsEmpty());  // before the next check (55 s)
  EXPECT_THAT(keeper.TakeDue(kStart + 65s), UnorderedElementsAre("a", "b"));
}

TEST(LockKeeperTest, ReleasedJobsAreNoLongerKept) {
  LockKeeper keeper(60s, kStart);
  keeper.Hold("a", kStart);
  keeper.Hold("b", kStart);
  EXPECT_EQ(keeper.size(), 2u);
  keeper.Release("a");
  keeper.Release("not held");
  EXPECT_EQ(keeper.size(), 1u);
  EXPECT_THAT(keeper.TakeDue(kStart + 30s), ElementsAre("b"));
}

TEST(LockKeeperTest, ATinyTimeoutStillChecksAtLeastEveryMillisecond) {
  LockKeeper keeper(1ms, kStart);
  EXPECT_EQ(keeper.next_check(), kStart + 1ms);
  keeper.Hold("a", kStart);
  EXPECT_THAT(keeper.TakeDue(kStart + 1ms), ElementsAre("a"));
}

}  // namespace
}  // namespace fraiseql
