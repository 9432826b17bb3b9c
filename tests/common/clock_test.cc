#include "common/clock.h"

#include <chrono>
#include <condition_variable>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using namespace std::chrono_literals;

TEST(FakeClockTest, StartsWhereToldAndStandsStill) {
  const std::chrono::system_clock::time_point start{std::chrono::seconds(1'790'000'000)};
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.SteadyNow(), std::chrono::steady_clock::time_point{});
}

TEST(FakeClockTest, AdvanceMovesBothClocks) {
  FakeClock clock;
  const auto wall = clock.Now();
  const auto steady = clock.SteadyNow();
  clock.Advance(1500ms);
  EXPECT_EQ(clock.Now() - wall, 1500ms);
  EXPECT_EQ(clock.SteadyNow() - steady, 1500ms);
  clock.Advance(250us);
  EXPECT_EQ(clock.Now() - wall, 1500250us);
  EXPECT_EQ(clock.SteadyNow() - steady, 1500250us);
}

TEST(FakeClockTest, WorksThroughTheInterface) {
  FakeClock fake;
  Clock& clock = fake;
  const auto before = clock.SteadyNow();
  fake.Advance(3s);
  EXPECT_EQ(clock.SteadyNow() - before, 3s);
}

TEST(FakeClockTest, ConcurrentAdvancesAreNotLost) {
  FakeClock clock;
  constexpr int kThreads = 4;
  constexpr int kAdvances = 20000;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&clock] {
        for (int i = 0; i < kAdvances; ++i) clock.Advance(1us);
      });
    }
  }
  EXPECT_EQ(clock.Now().time_since_epoch(), std::chrono::microseconds(kThreads * kAdvances));
  EXPECT_EQ(clock.SteadyNow().time_since_epoch(), std::chrono::microseconds(kThreads * kAdvances));
}

TEST(FakeClockTest, AWaitEndsWhenTimeReachesItsDeadlineAndNotBefore) {
  FakeClock clock;
  Mutex mu;
  std::condition_variable cv;
  bool returned = false;
  bool result = true;
  std::jthread waiter([&] {
    MutexLock lock(&mu);
    result = clock.WaitUntil(mu, cv, clock.SteadyNow() + 10s);
    returned = true;
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(9s);
  ASSERT_TRUE(clock.AwaitWaiters(1));  // still waiting: the deadline is not reached
  {
    MutexLock lock(&mu);
    EXPECT_FALSE(returned);
  }
  clock.Advance(1s);
  waiter.join();
  EXPECT_TRUE(returned);
  EXPECT_FALSE(result);  // the deadline passed
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(FakeClockTest, ANotificationEndsAWaitWithoutTimePassing) {
  FakeClock clock;
  Mutex mu;
  std::condition_variable cv;
  bool ready = false;
  std::jthread waiter([&] {
    MutexLock lock(&mu);
    while (!ready) {
      if (!clock.WaitUntil(mu, cv, clock.SteadyNow() + 1h)) break;
    }
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  {
    MutexLock lock(&mu);
    ready = true;
    cv.notify_all();
  }
  waiter.join();
  EXPECT_EQ(clock.SteadyNow(), std::chrono::steady_clock::time_point{});
}

TEST(FakeClockTest, APassedDeadlineDoesNotWait) {
  FakeClock clock;
  Mutex mu;
  std::condition_variable cv;
  MutexLock lock(&mu);
  EXPECT_FALSE(clock.WaitUntil(mu, cv, clock.SteadyNow()));
}

TEST(FakeClockTest, SleepEndsWhenTheClockIsAdvancedPastIt) {
  FakeClock clock;
  std::jthread sleeper([&] { clock.SleepFor(5s); });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(5s);
  sleeper.join();
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(FakeClockTest, ManyWaitersWakeInDeadlineOrderAsTimeMoves) {
  FakeClock clock;
  std::vector<std::jthread> sleepers;
  for (int i = 1; i <= 3; ++i) sleepers.emplace_back([&clock, i] { clock.SleepFor(std::chrono::seconds(i)); });
  ASSERT_TRUE(clock.AwaitWaiters(3));
  clock.Advance(1s);
  sleepers[0].join();
  ASSERT_TRUE(clock.AwaitWaiters(2));
  clock.Advance(2s);
  sleepers[1].join();
  sleepers[2].join();
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(FakeClockTest, AwaitWaitersGivesUpAtItsRealTimeout) {
  FakeClock clock;
  EXPECT_FALSE(clock.AwaitWaiters(1, 10ms));
}

TEST(SystemClockTest, AWaitEndsAtItsDeadline) {
  Clock& clock = RealClock();
  Mutex mu;
  std::condition_variable cv;
  MutexLock lock(&mu);
  const auto deadline = clock.SteadyNow() + 5ms;
  while (clock.WaitUntil(mu, cv, deadline)) {
  }
  EXPECT_GE(clock.SteadyNow(), deadline);
}

TEST(SystemClockTest, SteadyNeverGoesBack) {
  SystemClock clock;
  const auto first = clock.SteadyNow();
  EXPECT_GE(clock.SteadyNow(), first);
  EXPECT_GT(clock.Now().time_since_epoch(), std::chrono::hours(24 * 365 * 50));
}

}  // namespace
}  // namespace fraiseql
