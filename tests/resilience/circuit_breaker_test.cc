#include "resilience/circuit_breaker.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "config/sections.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using State = CircuitBreaker::State;
using Outcome = CircuitBreaker::Outcome;

constexpr nanoseconds kFast = milliseconds(5);
constexpr nanoseconds kSlow = seconds(11);  // default slow_call_duration is 10 s

CircuitBreakerSettings Defaults() { return CircuitBreakerSettings{}; }

// Acquires a permit and reports `outcome`; fails the test when no permit is given.
void Call(CircuitBreaker& breaker, Outcome outcome, nanoseconds duration = kFast) {
  const std::optional<CircuitBreaker::Permit> permit = breaker.TryAcquirePermission();
  ASSERT_TRUE(permit.has_value());
  breaker.OnResult(*permit, outcome, duration);
}

void Calls(CircuitBreaker& breaker, int count, Outcome outcome, nanoseconds duration = kFast) {
  for (int i = 0; i < count; ++i) Call(breaker, outcome, duration);
}

// Opens a default breaker: 10 calls, 5 failures (exactly 50 %).
void Trip(CircuitBreaker& breaker) {
  Calls(breaker, 5, Outcome::kSuccess);
  Calls(breaker, 5, Outcome::kRetryableFailure);
}

TEST(CircuitBreakerTest, StateNames) {
  EXPECT_EQ(StateName(State::kClosed), "closed");
  EXPECT_EQ(StateName(State::kOpen), "open");
  EXPECT_EQ(StateName(State::kHalfOpen), "half_open");
}

TEST(CircuitBreakerTest, StartsClosedAndPermits) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_TRUE(breaker.TryAcquirePermission().has_value());
  EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow());
}

TEST(CircuitBreakerTest, StaysClosedBelowMinimumCallsEvenIfAllFail) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Calls(breaker, 9, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kClosed);
  const auto metrics = breaker.metrics();
  EXPECT_EQ(metrics.buffered_calls, 9u);
  EXPECT_EQ(metrics.failed_calls, 9u);
  EXPECT_EQ(metrics.failure_rate, -1.0);
  // The tenth failure reaches the minimum: 100 % >= 50 %.
  Call(breaker, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST(CircuitBreakerTest, OpensAtExactlyTheThreshold) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Calls(breaker, 6, Outcome::kSuccess);
  Calls(breaker, 4, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kClosed);  // 40 %
  EXPECT_EQ(breaker.metrics().failure_rate, 40.0);
  // 11 calls, 5 failed: 45.45 %, still closed.
  Call(breaker, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kClosed);
  // 12 calls, 6 failed: exactly 50 %.
  Call(breaker, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST(CircuitBreakerTest, ExactlyFiftyPercentAtMinimumOpens) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Calls(breaker, 5, Outcome::kSuccess);
  Calls(breaker, 4, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kClosed);
  Call(breaker, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST(CircuitBreakerTest, IgnoredOutcomesAreNotRecorded) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Calls(breaker, 50, Outcome::kIgnored);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(breaker.metrics().buffered_calls, 0u);
  Calls(breaker, 9, Outcome::kRetryableFailure);
  Calls(breaker, 5, Outcome::kIgnored);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(breaker.metrics().buffered_calls, 9u);
}

TEST(CircuitBreakerTest, SlowCallsOpenIt) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  // Successful but slow: slow-call rate 100 % >= 100 %.
  Calls(breaker, 9, Outcome::kSuccess, kSlow);
  EXPECT_EQ(breaker.state(), State::kClosed);
  Call(breaker, Outcome::kSuccess, kSlow);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST(CircuitBreakerTest, SlowMeansStrictlyLongerThanTheDuration) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Calls(breaker, 20, Outcome::kSuccess, seconds(10));
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(breaker.metrics().slow_calls, 0u);
  Call(breaker, Outcome::kSuccess, seconds(10) + nanoseconds(1));
  EXPECT_EQ(breaker.metrics().slow_calls, 1u);
  EXPECT_EQ(breaker.metrics().slow_call_rate, 5.0);
}

TEST(CircuitBreakerTest, SlowRateBelowThresholdStaysClosed) {
  FakeClock clock;
  CircuitBreakerSettings settings = Defaults();
  settings.slow_call_rate_threshold = 60.0;
  CircuitBreaker breaker(settings, clock);
  Calls(breaker, 5, Outcome::kSuccess, kSlow);
  Calls(breaker, 5, Outcome::kSuccess);
  EXPECT_EQ(breaker.state(), State::kClosed);  // 50 % < 60 %
  Calls(breaker, 2, Outcome::kSuccess, kSlow);
  EXPECT_EQ(breaker.state(), State::kClosed);  // 7 of 12 = 58.3 %
  Call(breaker, Outcome::kSuccess, kSlow);
  EXPECT_EQ(breaker.state(), State::kOpen);  // 8 of 13 = 61.5 %
}

TEST(CircuitBreakerTest, OpenRejectsAndReportsNextProbeTime) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  const auto opened_at = clock.SteadyNow();
  Trip(breaker);
  ASSERT_EQ(breaker.state(), State::kOpen);
  EXPECT_FALSE(breaker.TryAcquirePermission().has_value());
  EXPECT_FALSE(breaker.TryAcquirePermission().has_value());
  EXPECT_EQ(breaker.metrics().not_permitted_calls, 2u);
  EXPECT_EQ(breaker.next_probe_time(), opened_at + seconds(30));
  clock.Advance(seconds(30) - nanoseconds(1));
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_FALSE(breaker.TryAcquirePermission().has_value());
  clock.Advance(nanoseconds(1));
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow());
}

TEST(CircuitBreakerTest, HalfOpenPermitsExactlyTheConfiguredTrials) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  std::vector<CircuitBreaker::Permit> permits;
  for (int i = 0; i < 3; ++i) {
    auto permit = breaker.TryAcquirePermission();
    ASSERT_TRUE(permit.has_value());
    permits.push_back(*permit);
  }
  EXPECT_FALSE(breaker.TryAcquirePermission().has_value());
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  // All trials in flight and no half-open deadline: re-check after wait_in_open.
  EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow() + seconds(30));
  // Results do not free a slot: the trial is over once N have reported.
  breaker.OnResult(permits[0], Outcome::kSuccess, kFast);
  EXPECT_FALSE(breaker.TryAcquirePermission().has_value());
  breaker.OnResult(permits[1], Outcome::kSuccess, kFast);
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  breaker.OnResult(permits[2], Outcome::kSuccess, kFast);
  EXPECT_EQ(breaker.state(), State::kClosed);
}

TEST(CircuitBreakerTest, SuccessfulTrialsCloseAndResetTheWindow) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  Calls(breaker, 3, Outcome::kSuccess);
  EXPECT_EQ(breaker.state(), State::kClosed);
  const auto metrics = breaker.metrics();
  EXPECT_EQ(metrics.buffered_calls, 0u);
  EXPECT_EQ(metrics.failed_calls, 0u);
  // A fresh window: nine failures are below the minimum again.
  Calls(breaker, 9, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kClosed);
}

TEST(CircuitBreakerTest, OneFailedTrialOfThreeStillCloses) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  Call(breaker, Outcome::kRetryableFailure);
  Call(breaker, Outcome::kSuccess);
  Call(breaker, Outcome::kSuccess);
  EXPECT_EQ(breaker.state(), State::kClosed);  // 33.3 % < 50 %
}

TEST(CircuitBreakerTest, FailedTrialsReopenWithDoubledWaitCapped) {
  FakeClock clock;
  CircuitBreakerSettings settings = Defaults();
  settings.max_wait_in_open = seconds(100);
  CircuitBreaker breaker(settings, clock);
  Trip(breaker);
  EXPECT_EQ(breaker.metrics().current_wait_in_open, seconds(30));
  const std::vector<seconds> expected_waits = {seconds(60), seconds(100), seconds(100)};
  seconds wait(30);
  for (const seconds expected : expected_waits) {
    clock.Advance(wait);
    ASSERT_EQ(breaker.state(), State::kHalfOpen);
    Calls(breaker, 2, Outcome::kRetryableFailure);
    Call(breaker, Outcome::kSuccess);  // 66.7 % >= 50 %
    ASSERT_EQ(breaker.state(), State::kOpen);
    EXPECT_EQ(breaker.metrics().current_wait_in_open, expected);
    EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow() + expected);
    wait = expected;
  }
}

TEST(CircuitBreakerTest, SlowTrialsReopen) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  Calls(breaker, 3, Outcome::kSuccess, kSlow);
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow() + seconds(60));
}

TEST(CircuitBreakerTest, ClosingResetsTheDoubling) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  Calls(breaker, 3, Outcome::kRetryableFailure);  // re-open: 60 s
  clock.Advance(seconds(60));
  Calls(breaker, 3, Outcome::kSuccess);  // close
  ASSERT_EQ(breaker.state(), State::kClosed);
  Trip(breaker);
  ASSERT_EQ(breaker.state(), State::kOpen);
  EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow() + seconds(30));
}

TEST(CircuitBreakerTest, IgnoredTrialReturnsItsPermit) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  auto a = breaker.TryAcquirePermission();
  auto b = breaker.TryAcquirePermission();
  auto c = breaker.TryAcquirePermission();
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(breaker.TryAcquirePermission().has_value());
  breaker.OnResult(*c, Outcome::kIgnored, kFast);  // a 404: says nothing about health
  auto d = breaker.TryAcquirePermission();
  ASSERT_TRUE(d.has_value());
  breaker.OnResult(*a, Outcome::kSuccess, kFast);
  breaker.OnResult(*b, Outcome::kSuccess, kFast);
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  breaker.OnResult(*d, Outcome::kSuccess, kFast);
  EXPECT_EQ(breaker.state(), State::kClosed);
}

TEST(CircuitBreakerTest, MaxWaitInHalfOpenReopensWhenTrialsHang) {
  FakeClock clock;
  CircuitBreakerSettings settings = Defaults();
  settings.max_wait_in_half_open = seconds(5);
  CircuitBreaker breaker(settings, clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  auto hung = breaker.TryAcquirePermission();
  ASSERT_TRUE(hung.has_value());
  Calls(breaker, 2, Outcome::kSuccess);
  EXPECT_FALSE(breaker.TryAcquirePermission().has_value());
  const auto half_open_at = clock.SteadyNow();
  EXPECT_EQ(breaker.next_probe_time(), half_open_at + seconds(5));
  clock.Advance(seconds(5) - nanoseconds(1));
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  clock.Advance(nanoseconds(1));
  EXPECT_EQ(breaker.state(), State::kOpen);
  // Dated from the deadline, doubled because it is a consecutive re-open.
  EXPECT_EQ(breaker.next_probe_time(), half_open_at + seconds(5) + seconds(60));
  // The hung call finally answers: it belongs to the abandoned trial and is dropped.
  breaker.OnResult(*hung, Outcome::kSuccess, kFast);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST(CircuitBreakerTest, ZeroMaxWaitInHalfOpenWaitsIndefinitely) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  auto permit = breaker.TryAcquirePermission();
  ASSERT_TRUE(permit.has_value());
  clock.Advance(std::chrono::hours(24));
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  Calls(breaker, 2, Outcome::kSuccess);
  breaker.OnResult(*permit, Outcome::kSuccess, kFast);
  EXPECT_EQ(breaker.state(), State::kClosed);
}

TEST(CircuitBreakerTest, StaleResultFromBeforeOpeningIsDropped) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  auto early = breaker.TryAcquirePermission();
  ASSERT_TRUE(early.has_value());
  Trip(breaker);
  clock.Advance(seconds(30));
  Calls(breaker, 2, Outcome::kSuccess);
  // A CLOSED-era failure arriving now must not count as the third trial.
  breaker.OnResult(*early, Outcome::kRetryableFailure, kFast);
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  EXPECT_EQ(breaker.metrics().buffered_calls, 2u);
  Call(breaker, Outcome::kSuccess);
  EXPECT_EQ(breaker.state(), State::kClosed);
}

TEST(CircuitBreakerTest, DisabledBreakerIsAlwaysClosed) {
  FakeClock clock;
  CircuitBreakerSettings settings = Defaults();
  settings.enabled = false;
  CircuitBreaker breaker(settings, clock);
  Calls(breaker, 100, Outcome::kRetryableFailure, kSlow);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_TRUE(breaker.TryAcquirePermission().has_value());
  EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow());
  EXPECT_EQ(breaker.metrics().buffered_calls, 0u);
}

TEST(CircuitBreakerTest, SlidingWindowForgetsOldOutcomes) {
  FakeClock clock;
  CircuitBreaker breaker(Defaults(), clock);
  // 10 successes then 9 failures (never 50 %), then 11 successes: 9 of 20 failed.
  Calls(breaker, 10, Outcome::kSuccess);
  Calls(breaker, 9, Outcome::kRetryableFailure);
  Calls(breaker, 11, Outcome::kSuccess);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(breaker.metrics().failure_rate, 45.0);
  // 9 more successes push every failure out.
  Calls(breaker, 9, Outcome::kSuccess);
  auto metrics = breaker.metrics();
  EXPECT_EQ(metrics.buffered_calls, 20u);
  EXPECT_EQ(metrics.failed_calls, 0u);
  EXPECT_EQ(metrics.failure_rate, 0.0);
  // Now 9 failures in a row only reach 45 % again, because the window holds 20.
  Calls(breaker, 9, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_EQ(breaker.metrics().failed_calls, 9u);
  Call(breaker, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kOpen);  // 10 of 20
}

TEST(CircuitBreakerTest, MinimumCallsIsCappedAtWindowSize) {
  FakeClock clock;
  CircuitBreakerSettings settings = Defaults();
  settings.window_size = 4;
  settings.minimum_calls = 10;
  CircuitBreaker breaker(settings, clock);
  Calls(breaker, 3, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kClosed);
  Call(breaker, Outcome::kRetryableFailure);
  EXPECT_EQ(breaker.state(), State::kOpen);
}

TEST(CircuitBreakerTest, ReopenFromIdleHalfOpenAfterLongSleepDoublesOnce) {
  FakeClock clock;
  CircuitBreakerSettings settings = Defaults();
  settings.max_wait_in_half_open = seconds(5);
  CircuitBreaker breaker(settings, clock);
  Trip(breaker);
  clock.Advance(seconds(30));
  ASSERT_EQ(breaker.state(), State::kHalfOpen);
  clock.Advance(std::chrono::hours(1));
  // Deadline passed, then the 60 s wait passed too: half-open again, starting now.
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  EXPECT_EQ(breaker.metrics().current_wait_in_open, seconds(60));
  EXPECT_EQ(breaker.next_probe_time(), clock.SteadyNow());
}

TEST(CircuitBreakerTest, ConcurrentResultsAreAllCounted) {
  FakeClock clock;
  CircuitBreakerSettings settings = Defaults();
  settings.window_size = 4000;
  settings.minimum_calls = 4000;
  CircuitBreaker breaker(settings, clock);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&breaker, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto permit = breaker.TryAcquirePermission();
        if (!permit) continue;
        // Thread 0 fails every call: 1000 of 4000 = 25 %, below the threshold.
        breaker.OnResult(*permit, t == 0 ? Outcome::kRetryableFailure : Outcome::kSuccess,
                         t == 1 ? kSlow : kFast);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto metrics = breaker.metrics();
  EXPECT_EQ(metrics.state, State::kClosed);
  EXPECT_EQ(metrics.buffered_calls, 4000u);
  EXPECT_EQ(metrics.failed_calls, 1000u);
  EXPECT_EQ(metrics.slow_calls, 1000u);
  EXPECT_EQ(metrics.failure_rate, 25.0);
  EXPECT_EQ(metrics.not_permitted_calls, 0u);
}

}  // namespace
}  // namespace fraiseql
