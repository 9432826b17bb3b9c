// CircuitBreaker: stops sending to a destination that keeps failing, so retries neither pile up on it
// nor burn attempts, and lets a few trial calls through later to find out whether it has recovered.
// Thread-safety: safe to share between threads; every method takes an internal mutex, reading the
// clock before it, and nothing calls out while holding it.
//
// Semantics follow resilience4j's count-based breaker (reference section 10):
//   - The last `window_size` recorded outcomes form the window. Rates are computed only once at least
//     min(minimum_calls, window_size) are recorded; below that the breaker never opens.
//   - Failure rate = retryable failures / recorded calls; slow-call rate = calls that took strictly
//     longer than slow_call_duration (successes and failures alike) / recorded calls.
//   - kIgnored outcomes (permanent failures: the destination's answer, not its health) are never
//     recorded; in HALF_OPEN they hand their trial permit back.
//
// Transitions:
//   CLOSED -> OPEN       when, after a recorded call, failure rate >= failure_rate_threshold or
//                        slow-call rate >= slow_call_rate_threshold. The window is cleared; the wait
//                        is wait_in_open.
//   OPEN -> HALF_OPEN    lazily, on the first method call at or after the end of the wait (as with
//                        resilience4j's default, no timer thread). Trial counters start at zero.
//   HALF_OPEN -> CLOSED  when all permitted_calls_in_half_open trial calls have reported and both
//                        rates over them are below the thresholds. The window is cleared and the
//                        doubling of the wait is reset.
//   HALF_OPEN -> OPEN    when all trial calls have reported and a rate is >= its threshold, or when
//                        max_wait_in_half_open > 0 has elapsed first (hung trials). The wait is the
//                        previous wait doubled, capped at max_wait_in_open.
// Results of calls permitted before the last transition are dropped: they describe the destination as
// it was, and counting them would corrupt a HALF_OPEN trial (each Permit carries a generation).
// With settings.enabled == false the breaker is always CLOSED, permits everything, records nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "config/sections.h"

namespace fraiseql {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  // How the caller classified a finished call. Only kRetryableFailure counts as a failure.
  enum class Outcome { kSuccess, kRetryableFailure, kIgnored };

  // Permission for one call. Pass it back to OnResult exactly once, with kIgnored when the call was
  // abandoned before it reached the destination, so a HALF_OPEN trial slot is not lost.
  class Permit {
   public:
    uint64_t generation() const { return generation_; }

   private:
    friend class CircuitBreaker;
    explicit Permit(uint64_t generation) : generation_(generation) {}
    uint64_t generation_;
  };

  // Counts for metrics and tests. Rates are percentages, -1 while fewer than the minimum calls
  // are recorded (resilience4j's convention).
  struct Metrics {
    State state = State::kClosed;
    uint32_t buffered_calls = 0;  // recorded outcomes in the window (HALF_OPEN: trial results)
    uint32_t failed_calls = 0;
    uint32_t slow_calls = 0;
    uint64_t not_permitted_calls = 0;  // rejected by TryAcquirePermission since construction
    double failure_rate = -1.0;
    double slow_call_rate = -1.0;
    std::chrono::milliseconds current_wait_in_open{0};  // the wait the next (or current) OPEN uses
  };

  // `clock` is borrowed and must outlive the breaker. Nonsensical settings are clamped rather
  // than rejected (config validation reports them): window_size and minimum_calls are at least 1,
  // permitted_calls_in_half_open at least 1, max_wait_in_open at least wait_in_open.
  CircuitBreaker(const CircuitBreakerSettings& settings, Clock& clock);

  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // A permit when a call may go now: always in CLOSED, in HALF_OPEN while fewer than
  // permitted_calls_in_half_open trials are in flight or done; never in OPEN.
  std::optional<Permit> TryAcquirePermission() LOCKS_EXCLUDED(mu_);

  // Records the result of a permitted call. `duration` is the call's wall-clock length, for the
  // slow-call rate. May move the breaker (see above).
  void OnResult(const Permit& permit, Outcome outcome, std::chrono::nanoseconds duration)
      LOCKS_EXCLUDED(mu_);

  // The current state, after applying any transition the clock has made due.
  State state() const LOCKS_EXCLUDED(mu_);

  // When a call may next be attempted, so the delivery engine can park a delivery without spending
  // an attempt. OPEN: the end of the wait. HALF_OPEN with every trial permit taken: the half-open
  // deadline when max_wait_in_half_open > 0, else now + wait_in_open (a re-check; the trials
  // normally decide sooner). Otherwise now: a call would be permitted.
  std::chrono::steady_clock::time_point next_probe_time() const LOCKS_EXCLUDED(mu_);

  Metrics metrics() const LOCKS_EXCLUDED(mu_);

 private:
  // One recorded outcome in the ring buffer.
  struct Slot {
    bool failed = false;
    bool slow = false;
  };

  // Applies the clock-driven transitions (OPEN -> HALF_OPEN, HALF_OPEN timeout -> OPEN).
  void AdvanceLocked(std::chrono::steady_clock::time_point now) const EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordClosedLocked(const Slot& slot, std::chrono::steady_clock::time_point now)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordHalfOpenLocked(const Slot& slot, std::chrono::steady_clock::time_point now)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `from` is when the OPEN period starts; `doubled` says whether this is a consecutive re-open.
  void OpenLocked(std::chrono::steady_clock::time_point from, bool doubled) const
      EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HalfOpenLocked(std::chrono::steady_clock::time_point from) const EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearWindowLocked() const EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool RatesExceeded(uint32_t calls, uint32_t failed, uint32_t slow) const;
  uint32_t MinimumCalls() const;

  const CircuitBreakerSettings settings_;
  Clock& clock_;

  // Transitions are applied lazily from const readers too (state(), next_probe_time()), so the
  // mutable state is `mutable`: observing the breaker after its wait has elapsed moves it, exactly
  // as the next TryAcquirePermission would.
  mutable Mutex mu_;
  mutable State state_ GUARDED_BY(mu_) = State::kClosed;
  mutable uint64_t generation_ GUARDED_BY(mu_) = 0;
  // CLOSED: the sliding window.
  mutable std::vector<Slot> window_ GUARDED_BY(mu_);
  mutable size_t next_slot_ GUARDED_BY(mu_) = 0;
  mutable uint32_t recorded_ GUARDED_BY(mu_) = 0;
  mutable uint32_t failed_ GUARDED_BY(mu_) = 0;
  mutable uint32_t slow_ GUARDED_BY(mu_) = 0;
  // OPEN.
  mutable std::chrono::milliseconds current_wait_ GUARDED_BY(mu_);
  mutable std::chrono::steady_clock::time_point open_until_ GUARDED_BY(mu_);
  // HALF_OPEN.
  mutable std::chrono::steady_clock::time_point half_open_since_ GUARDED_BY(mu_);
  mutable uint32_t trial_permits_ GUARDED_BY(mu_) = 0;
  mutable uint32_t trial_done_ GUARDED_BY(mu_) = 0;
  mutable uint32_t trial_failed_ GUARDED_BY(mu_) = 0;
  mutable uint32_t trial_slow_ GUARDED_BY(mu_) = 0;
  mutable uint64_t not_permitted_ GUARDED_BY(mu_) = 0;
};

// "closed", "open", "half_open": for logs and metric labels.
std::string_view StateName(CircuitBreaker::State state);

}  // namespace fraiseql
