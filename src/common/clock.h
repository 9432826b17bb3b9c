// Clock: the one way code reads time and waits for it, injected so tests can move time by hand.
// Now() is wall time (timestamps people and rows see); SteadyNow() is for intervals and deadlines;
// WaitUntil() and SleepUntil() wait against SteadyNow(), as Abseil's clock interface does.
// Thread-safety: every method may be called from any thread.
//
// Waiting on a condition with a deadline (how code under src/ waits for time; the exceptions are
// waits on sockets and processes that run on real time: curl's transfers, NOTIFY, signals):
//   MutexLock lock(&mu_);
//   while (!ready_) {
//     if (!clock_.WaitUntil(mu_, changed_, deadline)) break;  // the deadline passed
//   }
// Whoever sets ready_ notifies changed_; a FakeClock notifies it too when a test advances time
// past the deadline, so timing tests never sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace fraiseql {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  Clock() = default;
  virtual ~Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  virtual std::chrono::system_clock::time_point Now() = 0;
  virtual SteadyTime SteadyNow() = 0;

  // Waits until `cv` is notified or this clock reaches `deadline` (SteadyTime::max(): no
  // deadline), releasing `mu` meanwhile and holding it again on return. Wake-ups may be
  // spurious: call it in a loop over the condition. Returns false once the deadline has passed.
  // REQUIRES: the calling thread holds `mu`; whoever changes the condition notifies `cv`.
  virtual bool WaitUntil(Mutex& mu, std::condition_variable& cv, SteadyTime deadline)
      EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;

  // Sleeps until this clock reaches `deadline`; nothing cuts it short (to be interruptible,
  // wait on a condition with WaitUntil instead).
  void SleepUntil(SteadyTime deadline);
  void SleepFor(std::chrono::nanoseconds duration) { SleepUntil(SteadyNow() + duration); }
};

// The real clocks. Stateless; RealClock() is the process's one instance, for main() and tools
// to pass down (code under src/ receives a Clock&, it never reaches for this one).
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() override { return std::chrono::system_clock::now(); }
  SteadyTime SteadyNow() override { return std::chrono::steady_clock::now(); }
  bool WaitUntil(Mutex& mu, std::condition_variable& cv, SteadyTime deadline) override
      EXCLUSIVE_LOCKS_REQUIRED(mu);
};

Clock& RealClock();

// Moves only when a test calls Advance(), and then wakes every waiter whose deadline it reached
// (as absl's SimulatedClock). Starts at `start` on the wall clock and at 0 on the steady clock.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start = {});
  ~FakeClock() override;

  std::chrono::system_clock::time_point Now() override LOCKS_EXCLUDED(mu_);
  SteadyTime SteadyNow() override LOCKS_EXCLUDED(mu_);
  bool WaitUntil(Mutex& mu, std::condition_variable& cv, SteadyTime deadline) override
      EXCLUSIVE_LOCKS_REQUIRED(mu) LOCKS_EXCLUDED(mu_, advance_mu_);

  // Moves both clocks forward by `by` and wakes the waiters whose deadline that reaches.
  // REQUIRES: the caller holds no mutex a waiter of this clock waits with.
  void Advance(std::chrono::nanoseconds by) LOCKS_EXCLUDED(mu_, advance_mu_);

  // How many threads are in WaitUntil (or SleepUntil) on this clock right now.
  size_t waiters() const LOCKS_EXCLUDED(mu_);
  // Blocks, in real time up to `timeout`, until at least `count` threads wait on this clock, so
  // a test moves time only once the code under test is waiting for it. False on timeout.
  bool AwaitWaiters(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const
      LOCKS_EXCLUDED(mu_);

 private:
  struct Waiter {
    Mutex* mu;
    std::condition_variable* cv;
    SteadyTime deadline;
  };

  // Advance() holds advance_mu_ while it locks waiters' mutexes to notify them, and a waiter
  // leaves the registry under advance_mu_ without holding its own mutex: so a waiter is never
  // destroyed while Advance() is touching it, and the two never wait on each other.
  Mutex advance_mu_;
  mutable Mutex mu_;
  mutable std::condition_variable waiters_changed_;
  std::chrono::system_clock::time_point wall_ GUARDED_BY(mu_);
  SteadyTime steady_ GUARDED_BY(mu_);
  std::vector<Waiter*> waiters_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
