// Retry schedule: how long to wait after a failed delivery attempt before the next one,
// from an observer's RetryPolicy (reference section 3.3), and whether another attempt is due.
// Thread-safety: pure functions; the Random passed in is mutated, so each thread needs its own.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/random.h"
#include "config/retry_policy.h"

namespace fraiseql {

// The delay after failed attempt number `failed_attempt` (1-based: 1 is the first try).
//   exponential: base = min(initial_delay * 2^(failed_attempt - 1), max_delay)
//   linear:      base = min(initial_delay * failed_attempt, max_delay)
//   fixed:       base = initial_delay (not capped by max_delay, as in the reference)
// Arithmetic saturates, so huge attempt numbers give max_delay, never an overflow.
// With policy.jitter, jr = base / 4 (whole milliseconds); when jr > 0 the delay is
// base + U[0, 2 * jr] - jr, uniform in [0.75 * base, 1.25 * base]. Jitter is applied after
// the cap, so a jittered delay may exceed max_delay by up to 25% (the reference's behaviour,
// kept on purpose). `random` is drawn from exactly once per call that jitters (jr > 0) and
// not at all otherwise, so a seeded Random gives a reproducible schedule.
// REQUIRES: failed_attempt >= 1 (0 is treated as 1).
// REQUIRES: policy.initial_delay and policy.max_delay >= 0 (negative values count as 0).
std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, uint32_t failed_attempt,
                                     Random& random);

// True when another attempt is allowed after failed attempt number `failed_attempt`
// (1-based); max_attempts counts every try, the first included.
bool ShouldRetry(const RetryPolicy& policy, uint32_t failed_attempt);

}  // namespace fraiseql
