#include "resilience/circuit_breaker.h"

#include <algorithm>

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Clamps what would otherwise divide by zero, never leave HALF_OPEN, or shrink the first wait.
CircuitBreakerSettings Sanitize(CircuitBreakerSettings settings) {
  settings.window_size = std::max<uint32_t>(settings.window_size, 1);
  settings.minimum_calls = std::max<uint32_t>(settings.minimum_calls, 1);
  settings.permitted_calls_in_half_open = std::max<uint32_t>(settings.permitted_calls_in_half_open, 1);
  settings.wait_in_open = std::max(settings.wait_in_open, milliseconds(0));
  settings.max_wait_in_open = std::max(settings.max_wait_in_open, settings.wait_in_open);
  settings.max_wait_in_half_open = std::max(settings.max_wait_in_half_open, milliseconds(0));
  return settings;
}

double Percent(uint32_t part, uint32_t whole) {
  return static_cast<double>(part) * 100.0 / static_cast<double>(whole);
}

}  // namespace

std::string_view StateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerSettings& settings, Clock& clock)
    : settings_(Sanitize(settings)), clock_(clock) {
  MutexLock lock(&mu_);
  window_.resize(settings_.window_size);
  current_wait_ = settings_.wait_in_open;
}

uint32_t CircuitBreaker::MinimumCalls() const {
  // resilience4j caps the minimum at the window size for count-based windows; otherwise a
  // breaker with minimum_calls > window_size could never open.
  return std::min(settings_.minimum_calls, settings_.window_size);
}

bool CircuitBreaker::RatesExceeded(uint32_t calls, uint32_t failed, uint32_t slow) const {
  return Percent(failed, calls) >= settings_.failure_rate_threshold ||
         Percent(slow, calls) >= settings_.slow_call_rate_threshold;
}

std::optional<CircuitBreaker::Permit> CircuitBreaker::TryAcquirePermission() {
  if (!settings_.enabled) return Permit(0);
  const auto now = clock_.SteadyNow();
  MutexLock lock(&mu_);
  AdvanceLocked(now);
  switch (state_) {
    case State::kClosed:
      return Permit(generation_);
    case State::kHalfOpen:
      if (trial_permits_ < settings_.permitted_calls_in_half_open) {
        ++trial_permits_;
        return Permit(generation_);
      }
      break;
    case State::kOpen:
      break;
  }
  ++not_permitted_;
  return std::nullopt;
}

void CircuitBreaker::OnResult(const Permit& permit, Outcome outcome, std::chrono::nanoseconds duration) {
  if (!settings_.enabled) return;
  const auto now = clock_.SteadyNow();
  MutexLock lock(&mu_);
  AdvanceLocked(now);
  // A result from before the last transition (including a HALF_OPEN trial that outlived
  // max_wait_in_half_open) describes a destination we have already judged.
  if (permit.generation_ != generation_) return;
  if (outcome == Outcome::kIgnored) {
    // Neither success nor failure; a HALF_OPEN trial slot goes back so another call can decide.
    if (state_ == State::kHalfOpen && trial_permits_ > trial_done_) --trial_permits_;
    return;
  }
  const Slot slot{outcome == Outcome::kRetryableFailure,
                  duration > std::chrono::nanoseconds(settings_.slow_call_duration)};
  switch (state_) {
    case State::kClosed:
      RecordClosedLocked(slot, now);
      break;
    case State::kHalfOpen:
      RecordHalfOpenLocked(slot, now);
      break;
    case State::kOpen:
      // Unreachable: OPEN hands out no permits and every transition changes the generation.
      break;
  }
}

void CircuitBreaker::RecordClosedLocked(const Slot& slot, steady_clock::time_point now) {
  if (recorded_ == window_.size()) {
    // The window is full: the oldest outcome falls out.
    const Slot& oldest = window_[next_slot_];
    failed_ -= oldest.failed ? 1u : 0u;
    slow_ -= oldest.slow ? 1u : 0u;
  } else {
    ++recorded_;
  }
  window_[next_slot_] = slot;
  next_slot_ = (next_slot_ + 1) % window_.size();
  failed_ += slot.failed ? 1u : 0u;
  slow_ += slot.slow ? 1u : 0u;
  if (recorded_ >= MinimumCalls() && RatesExceeded(recorded_, failed_, slow_)) {
    OpenLocked(now, /*doubled=*/false);
  }
}

void CircuitBreaker::RecordHalfOpenLocked(const Slot& slot, steady_clock::time_point now) {
  ++trial_done_;
  trial_failed_ += slot.failed ? 1u : 0u;
  trial_slow_ += slot.slow ? 1u : 0u;
  if (trial_done_ < settings_.permitted_calls_in_half_open) return;
  if (RatesExceeded(trial_done_, trial_failed_, trial_slow_)) {
    OpenLocked(now, /*doubled=*/true);
  } else {
    CloseLocked();
  }
}

void CircuitBreaker::AdvanceLocked(steady_clock::time_point now) const {
  if (state_ == State::kOpen && now >= open_until_) {
    HalfOpenLocked(open_until_);
  }
  if (state_ == State::kHalfOpen && settings_.max_wait_in_half_open > milliseconds(0)) {
    const auto deadline = half_open_since_ + settings_.max_wait_in_half_open;
    if (now >= deadline) {
      // Trials hung. The OPEN period is dated from the deadline, not from whoever noticed.
      OpenLocked(deadline, /*doubled=*/true);
      // Checked once more, not in a loop: if that wait has also passed, HALF_OPEN starts now, so
      // an idle breaker does not replay (and double through) every period it slept through.
      if (now >= open_until_) HalfOpenLocked(now);
    }
  }
}

void CircuitBreaker::OpenLocked(steady_clock::time_point from, bool doubled) const {
  if (!doubled) {
    current_wait_ = settings_.wait_in_open;
  } else if (current_wait_ > settings_.max_wait_in_open / 2) {
    current_wait_ = settings_.max_wait_in_open;
  } else {
    current_wait_ = std::min(current_wait_ * 2, settings_.max_wait_in_open);
  }
  state_ = State::kOpen;
  ++generation_;
  open_until_ = from + current_wait_;
  ClearWindowLocked();
}

void CircuitBreaker::HalfOpenLocked(steady_clock::time_point from) const {
  state_ = State::kHalfOpen;
  ++generation_;
  half_open_since_ = from;
  trial_permits_ = 0;
  trial_done_ = 0;
  trial_failed_ = 0;
  trial_slow_ = 0;
}

void CircuitBreaker::CloseLocked() {
  state_ = State::kClosed;
  ++generation_;
  current_wait_ = settings_.wait_in_open;  // closing resets the doubling
  ClearWindowLocked();
}

void CircuitBreaker::ClearWindowLocked() const {
  std::fill(window_.begin(), window_.end(), Slot{});
  next_slot_ = 0;
  recorded_ = 0;
  failed_ = 0;
  slow_ = 0;
}

CircuitBreaker::State CircuitBreaker::state() const {
  if (!settings_.enabled) return State::kClosed;
  const auto now = clock_.SteadyNow();
  MutexLock lock(&mu_);
  AdvanceLocked(now);
  return state_;
}

steady_clock::time_point CircuitBreaker::next_probe_time() const {
  const auto now = clock_.SteadyNow();
  if (!settings_.enabled) return now;
  MutexLock lock(&mu_);
  AdvanceLocked(now);
  switch (state_) {
    case State::kOpen:
      return open_until_;
    case State::kHalfOpen:
      if (trial_permits_ < settings_.permitted_calls_in_half_open) return now;
      if (settings_.max_wait_in_half_open > milliseconds(0)) {
        return half_open_since_ + settings_.max_wait_in_half_open;
      }
      return now + settings_.wait_in_open;
    case State::kClosed:
      break;
  }
  return now;
}

CircuitBreaker::Metrics CircuitBreaker::metrics() const {
  Metrics out;
  if (!settings_.enabled) return out;
  const auto now = clock_.SteadyNow();
  MutexLock lock(&mu_);
  AdvanceLocked(now);
  out.state = state_;
  out.not_permitted_calls = not_permitted_;
  out.current_wait_in_open = current_wait_;
  if (state_ == State::kHalfOpen) {
    out.buffered_calls = trial_done_;
    out.failed_calls = trial_failed_;
    out.slow_calls = trial_slow_;
    if (trial_done_ >= settings_.permitted_calls_in_half_open) {
      out.failure_rate = Percent(trial_failed_, trial_done_);
      out.slow_call_rate = Percent(trial_slow_, trial_done_);
    }
    return out;
  }
  out.buffered_calls = recorded_;
  out.failed_calls = failed_;
  out.slow_calls = slow_;
  if (recorded_ >= MinimumCalls()) {
    out.failure_rate = Percent(failed_, recorded_);
    out.slow_call_rate = Percent(slow_, recorded_);
  }
  return out;
}

}  // namespace fraiseql
