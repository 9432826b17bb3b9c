#include "executor/retry_schedule.h"

#include <algorithm>
#include <limits>

namespace fraiseql {
namespace {

// Milliseconds as an unsigned count; negative durations count as 0.
uint64_t NonNegativeMillis(std::chrono::milliseconds duration) {
  return duration.count() < 0 ? 0 : static_cast<uint64_t>(duration.count());
}

// min(initial * 2^shift, cap) without overflow.
uint64_t ExponentialBase(uint64_t initial, uint32_t shift, uint64_t cap) {
  if (initial == 0) return 0;
  if (shift >= 64 || initial > (cap >> shift)) return cap;
  return std::min(initial << shift, cap);
}

// min(initial * factor, cap) without overflow.
uint64_t LinearBase(uint64_t initial, uint64_t factor, uint64_t cap) {
  if (initial == 0) return 0;
  if (factor > cap / initial) return cap;
  return std::min(initial * factor, cap);
}

}  // namespace

std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, uint32_t failed_attempt,
                                     Random& random) {
  const uint32_t attempt = std::max<uint32_t>(failed_attempt, 1);
  const uint64_t initial = NonNegativeMillis(policy.initial_delay);
  const uint64_t cap = NonNegativeMillis(policy.max_delay);

  uint64_t base = 0;
  switch (policy.backoff) {
    case BackoffStrategy::kExponential: base = ExponentialBase(initial, attempt - 1, cap); break;
    case BackoffStrategy::kLinear: base = LinearBase(initial, attempt, cap); break;
    case BackoffStrategy::kFixed: base = initial; break;
  }

  uint64_t delay = base;
  if (policy.jitter) {
    const uint64_t jitter_range = base / 4;
    // base <= INT64_MAX, so base + 2 * jitter_range <= 1.5 * INT64_MAX fits in uint64_t.
    if (jitter_range > 0) delay = base + random.UniformInclusive(2 * jitter_range) - jitter_range;
  }
  constexpr auto kMaxMillis = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return std::chrono::milliseconds(static_cast<int64_t>(std::min(delay, kMaxMillis)));
}

bool ShouldRetry(const RetryPolicy& policy, uint32_t failed_attempt) {
  return failed_attempt < policy.max_attempts;
}

}  // namespace fraiseql
