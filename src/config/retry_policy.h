// RetryPolicy: how often and how fast an observer's failed deliveries are retried
// (`[observers.retry]`). Parsed by config/, applied by executor/retry_schedule.h.
// Thread-safety: a value type.
#pragma once

#include <chrono>
#include <cstdint>

namespace fraiseql {

enum class BackoffStrategy { kExponential, kLinear, kFixed };

struct RetryPolicy {
  uint32_t max_attempts = 3;  // total tries, the first included
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{30000};
  BackoffStrategy backoff = BackoffStrategy::kExponential;
  bool jitter = true;  // config default: true for exponential, false otherwise

  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

}  // namespace fraiseql
