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

TEST(LockKeeperTest, ALockSetAThirdOfTheTimeoutAgoIsDue) {
  LockKeeper keeper(60s, kStart);  // due after 20 s, checked every 10 s
  EXPECT_EQ(keeper.next_check(), kStart + 10s);
  keeper.Hold("a", kStart);
  keeper.Hold("b", kStart + 15s);
  EXPECT_THAT(keeper.Due(kStart + 19s), IsEmpty());
  EXPECT_THAT(keeper.Due(kStart + 20s), ElementsAre("a"));
  keeper.Checked(kStart + 20s);
  EXPECT_EQ(keeper.next_check(), kStart + 30s);
  EXPECT_THAT(keeper.Due(kStart + 35s), UnorderedElementsAre("a", "b"));
}

TEST(LockKeeperTest, OnlyAWrittenExtensionStampsTheLock) {
  LockKeeper keeper(60s, kStart);
  keeper.Hold("a", kStart);
  keeper.Hold("b", kStart);
  const std::vector<std::string> due = keeper.Due(kStart + 20s);
  ASSERT_THAT(due, UnorderedElementsAre("a", "b"));
  keeper.Checked(kStart + 20s);
  // The write failed: nothing was stamped, both are still due.
  EXPECT_THAT(keeper.Due(kStart + 21s), UnorderedElementsAre("a", "b"));
  keeper.CheckAgainBy(kStart + 21s);
  EXPECT_EQ(keeper.next_check(), kStart + 21s);
  // Written this time (sent at 21 s); "b" was released meanwhile and stays released.
  keeper.Release("b");
  keeper.Extended(due, kStart + 21s);
  EXPECT_EQ(keeper.size(), 1u);
  EXPECT_THAT(keeper.Due(kStart + 40s), IsEmpty());
  EXPECT_THAT(keeper.Due(kStart + 41s), ElementsAre("a"));
}

TEST(LockKeeperTest, ReleasedJobsAreNoLongerKept) {
  LockKeeper keeper(60s, kStart);
  keeper.Hold("a", kStart);
  keeper.Hold("b", kStart);
  EXPECT_EQ(keeper.size(), 2u);
  keeper.Release("a");
  keeper.Release("not held");
  EXPECT_EQ(keeper.size(), 1u);
  EXPECT_THAT(keeper.Due(kStart + 30s), ElementsAre("b"));
}

TEST(LockKeeperTest, ATinyTimeoutStillChecksAtLeastEveryMillisecond) {
  LockKeeper keeper(1ms, kStart);
  EXPECT_EQ(keeper.next_check(), kStart + 1ms);
  keeper.Hold("a", kStart);
  EXPECT_THAT(keeper.Due(kStart), ElementsAre("a"));  // a third of 1 ms is 0
}

}  // namespace
}  // namespace fraiseql
