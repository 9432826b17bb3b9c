#include "executor/retry_schedule.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using std::chrono::milliseconds;

RetryPolicy Policy(BackoffStrategy backoff, int64_t initial_ms, int64_t max_ms, bool jitter) {
  RetryPolicy policy;
  policy.backoff = backoff;
  policy.initial_delay = milliseconds(initial_ms);
  policy.max_delay = milliseconds(max_ms);
  policy.jitter = jitter;
  return policy;
}

std::vector<int64_t> Schedule(const RetryPolicy& policy, uint32_t attempts, uint64_t seed = 1) {
  Random random(seed);
  std::vector<int64_t> out;
  for (uint32_t attempt = 1; attempt <= attempts; ++attempt) {
    out.push_back(RetryDelay(policy, attempt, random).count());
  }
  return out;
}

TEST(RetryDelayTest, ExponentialDoublesFromInitial) {
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 100, 30000, false);
  EXPECT_THAT(Schedule(policy, 6), ::testing::ElementsAre(100, 200, 400, 800, 1600, 3200));
}

TEST(RetryDelayTest, ExponentialIsCappedAtMaxDelay) {
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 100, 1000, false);
  EXPECT_THAT(Schedule(policy, 7), ::testing::ElementsAre(100, 200, 400, 800, 1000, 1000, 1000));
}

TEST(RetryDelayTest, ExponentialSaturatesAtHugeAttempts) {
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 100, 30000, false);
  Random random(7);
  for (uint32_t attempt : {32u, 63u, 64u, 65u, 1000u, std::numeric_limits<uint32_t>::max()}) {
    EXPECT_EQ(RetryDelay(policy, attempt, random), milliseconds(30000)) << "attempt " << attempt;
  }
}

TEST(RetryDelayTest, ExponentialSaturatesWithUnboundedMax) {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 3, kMax, false);
  Random random(7);
  EXPECT_EQ(RetryDelay(policy, 2, random), milliseconds(6));
  EXPECT_EQ(RetryDelay(policy, 62, random), milliseconds(int64_t{3} << 61));
  EXPECT_EQ(RetryDelay(policy, 63, random), milliseconds(kMax));
  EXPECT_EQ(RetryDelay(policy, 64, random), milliseconds(kMax));
  EXPECT_EQ(RetryDelay(policy, std::numeric_limits<uint32_t>::max(), random), milliseconds(kMax));
}

TEST(RetryDelayTest, JitterNearInt64MaxSaturatesInsteadOfOverflowing) {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 1, kMax, true);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Random random(seed);
    const milliseconds delay = RetryDelay(policy, 1000, random);
    EXPECT_GE(delay.count(), kMax - kMax / 4);
    EXPECT_LE(delay.count(), kMax);
  }
}

TEST(RetryDelayTest, LinearGrowsByInitialAndIsCapped) {
  const RetryPolicy policy = Policy(BackoffStrategy::kLinear, 250, 1000, false);
  EXPECT_THAT(Schedule(policy, 6), ::testing::ElementsAre(250, 500, 750, 1000, 1000, 1000));
}

TEST(RetryDelayTest, LinearSaturatesAtHugeAttempts) {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  Random random(3);
  EXPECT_EQ(RetryDelay(Policy(BackoffStrategy::kLinear, 100, 30000, false),
                       std::numeric_limits<uint32_t>::max(), random),
            milliseconds(30000));
  EXPECT_EQ(RetryDelay(Policy(BackoffStrategy::kLinear, kMax / 2, kMax, false), 3, random),
            milliseconds(kMax));
}

TEST(RetryDelayTest, FixedIsAlwaysInitial) {
  const RetryPolicy policy = Policy(BackoffStrategy::kFixed, 500, 30000, false);
  EXPECT_THAT(Schedule(policy, 5), ::testing::ElementsAre(500, 500, 500, 500, 500));
  Random random(1);
  EXPECT_EQ(RetryDelay(policy, std::numeric_limits<uint32_t>::max(), random), milliseconds(500));
}

TEST(RetryDelayTest, AttemptZeroIsTreatedAsOne) {
  Random random(1);
  EXPECT_EQ(RetryDelay(Policy(BackoffStrategy::kExponential, 100, 1000, false), 0, random),
            milliseconds(100));
  EXPECT_EQ(RetryDelay(Policy(BackoffStrategy::kLinear, 100, 1000, false), 0, random),
            milliseconds(100));
}

TEST(RetryDelayTest, ZeroInitialDelayNeverWaits) {
  Random random(1);
  for (BackoffStrategy backoff :
       {BackoffStrategy::kExponential, BackoffStrategy::kLinear, BackoffStrategy::kFixed}) {
    const RetryPolicy policy = Policy(backoff, 0, 30000, true);
    EXPECT_EQ(RetryDelay(policy, 1, random), milliseconds(0));
    EXPECT_EQ(RetryDelay(policy, 100, random), milliseconds(0));
  }
}

// Jitter keeps every delay in [0.75 * base, 1.25 * base] and reaches both sides of base.
void ExpectJitterBounds(const RetryPolicy& policy, uint32_t attempt, int64_t base) {
  const int64_t jitter_range = base / 4;
  int below = 0;
  int above = 0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Random random(seed);
    const int64_t delay = RetryDelay(policy, attempt, random).count();
    ASSERT_GE(delay, base - jitter_range) << "seed " << seed;
    ASSERT_LE(delay, base + jitter_range) << "seed " << seed;
    if (delay < base) ++below;
    if (delay > base) ++above;
  }
  EXPECT_GT(below, 500);
  EXPECT_GT(above, 500);
}

TEST(RetryDelayTest, ExponentialJitterStaysWithinAQuarterOfBase) {
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 100, 30000, true);
  ExpectJitterBounds(policy, 1, 100);
  ExpectJitterBounds(policy, 4, 800);
}

TEST(RetryDelayTest, JitterAtTheCapMayExceedMaxDelayByAQuarter) {
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 100, 1000, true);
  ExpectJitterBounds(policy, 20, 1000);
  bool exceeded_max = false;
  for (uint64_t seed = 0; seed < 200 && !exceeded_max; ++seed) {
    Random random(seed);
    exceeded_max = RetryDelay(policy, 20, random) > policy.max_delay;
  }
  EXPECT_TRUE(exceeded_max);
}

TEST(RetryDelayTest, JitterEndpointsAreReachable) {
  // base 8 -> jr 2: five possible delays, 6..10, all of which must turn up.
  const RetryPolicy policy = Policy(BackoffStrategy::kFixed, 8, 30000, true);
  std::vector<int> seen(11, 0);
  for (uint64_t seed = 0; seed < 500; ++seed) {
    Random random(seed);
    const int64_t delay = RetryDelay(policy, 1, random).count();
    ASSERT_GE(delay, 6);
    ASSERT_LE(delay, 10);
    ++seen[static_cast<size_t>(delay)];
  }
  for (int delay = 6; delay <= 10; ++delay) EXPECT_GT(seen[static_cast<size_t>(delay)], 0) << delay;
}

TEST(RetryDelayTest, LinearAndFixedJitterOnlyWhenAskedFor) {
  ExpectJitterBounds(Policy(BackoffStrategy::kLinear, 200, 30000, true), 3, 600);
  ExpectJitterBounds(Policy(BackoffStrategy::kFixed, 400, 30000, true), 9, 400);
  EXPECT_THAT(Schedule(Policy(BackoffStrategy::kLinear, 200, 30000, false), 3, 99),
              ::testing::ElementsAre(200, 400, 600));
  EXPECT_THAT(Schedule(Policy(BackoffStrategy::kFixed, 400, 30000, false), 3, 99),
              ::testing::ElementsAre(400, 400, 400));
}

TEST(RetryDelayTest, SameSeedGivesSameSchedule) {
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 100, 30000, true);
  const std::vector<int64_t> first = Schedule(policy, 12, 42);
  EXPECT_EQ(first, Schedule(policy, 12, 42));
  EXPECT_NE(first, Schedule(policy, 12, 43));
}

TEST(RetryDelayTest, JitterOffIgnoresTheRandomSource) {
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 100, 30000, false);
  Random used(5);
  Random untouched(5);
  for (uint32_t attempt = 1; attempt <= 5; ++attempt) (void)RetryDelay(policy, attempt, used);
  EXPECT_EQ(used.Next(), untouched.Next());
}

TEST(RetryDelayTest, SmallBasesHaveNoJitter) {
  // base / 4 == 0 for bases 0..3: the delay is exactly the base and no draw is made.
  for (int64_t initial = 1; initial <= 3; ++initial) {
    const RetryPolicy policy = Policy(BackoffStrategy::kFixed, initial, 30000, true);
    Random used(11);
    Random untouched(11);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(RetryDelay(policy, 1, used), milliseconds(initial));
    EXPECT_EQ(used.Next(), untouched.Next());
  }
  // Exponential from 1 ms: 1, 2 unjittered; 4 has jr == 1, so 3..5.
  const RetryPolicy policy = Policy(BackoffStrategy::kExponential, 1, 30000, true);
  Random random(3);
  EXPECT_EQ(RetryDelay(policy, 1, random), milliseconds(1));
  EXPECT_EQ(RetryDelay(policy, 2, random), milliseconds(2));
  const int64_t third = RetryDelay(policy, 3, random).count();
  EXPECT_GE(third, 3);
  EXPECT_LE(third, 5);
}

TEST(RetryDelayTest, DefaultPolicyMatchesTheReference) {
  RetryPolicy policy;  // exponential, 100 ms .. 30 s, jitter
  policy.jitter = false;
  EXPECT_THAT(Schedule(policy, 10),
              ::testing::ElementsAre(100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000));
}

TEST(ShouldRetryTest, CountsTheFirstTry) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  EXPECT_TRUE(ShouldRetry(policy, 1));
  EXPECT_TRUE(ShouldRetry(policy, 2));
  EXPECT_FALSE(ShouldRetry(policy, 3));
  EXPECT_FALSE(ShouldRetry(policy, 4));
}

TEST(ShouldRetryTest, OneAttemptMeansNoRetry) {
  RetryPolicy policy;
  policy.max_attempts = 1;
  EXPECT_FALSE(ShouldRetry(policy, 1));
  policy.max_attempts = 0;
  EXPECT_FALSE(ShouldRetry(policy, 1));
  policy.max_attempts = std::numeric_limits<uint32_t>::max();
  EXPECT_TRUE(ShouldRetry(policy, std::numeric_limits<uint32_t>::max() - 1));
  EXPECT_FALSE(ShouldRetry(policy, std::numeric_limits<uint32_t>::max()));
}

}  // namespace
}  // namespace fraiseql
