#include "common/clock.h"

#include <chrono>
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

TEST(SystemClockTest, SteadyNeverGoesBack) {
  SystemClock clock;
  const auto first = clock.SteadyNow();
  EXPECT_GE(clock.SteadyNow(), first);
  EXPECT_GT(clock.Now().time_since_epoch(), std::chrono::hours(24 * 365 * 50));
}

}  // namespace
}  // namespace fraiseql
