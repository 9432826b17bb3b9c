#include "common/clock.h"

#include <algorithm>
#include <mutex>

namespace fraiseql {

void Clock::SleepUntil(SteadyTime deadline) {
  Mutex mu;
  std::condition_variable never_notified;
  MutexLock lock(&mu);
  while (WaitUntil(mu, never_notified, deadline)) {
  }
}

bool SystemClock::WaitUntil(Mutex& mu, std::condition_variable& cv, SteadyTime deadline) {
  if (deadline == SteadyTime::max()) {
    mu.Wait(cv);  // wait_until(max) would overflow converting to the condition variable's clock
    return true;
  }
  mu.WaitUntil(cv, deadline);
  return SteadyNow() < deadline;
}

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(std::chrono::system_clock::time_point start) : wall_(start), steady_() {}

FakeClock::~FakeClock() = default;

std::chrono::system_clock::time_point FakeClock::Now() {
  MutexLock lock(&mu_);
  return wall_;
}

Clock::SteadyTime FakeClock::SteadyNow() {
  MutexLock lock(&mu_);
  return steady_;
}

bool FakeClock::WaitUntil(Mutex& mu, std::condition_variable& cv, SteadyTime deadline) {
  Waiter self{&mu, &cv, deadline};
  {
    MutexLock lock(&mu_);
    if (steady_ >= deadline) return false;
    waiters_.push_back(&self);
  }
  waiters_changed_.notify_all();
  // Advance() notifies `cv` holding `mu`, so it cannot slip in between registering and waiting.
  mu.Wait(cv);
  // Leave the registry without holding `mu` (see advance_mu_), then take `mu` back.
  mu.Unlock();
  {
    MutexLock serial(&advance_mu_);
    MutexLock lock(&mu_);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
  }
  waiters_changed_.notify_all();
  mu.Lock();
  MutexLock lock(&mu_);
  return steady_ < deadline;
}

void FakeClock::Advance(std::chrono::nanoseconds by) {
  MutexLock serial(&advance_mu_);
  std::vector<Waiter*> due;
  {
    MutexLock lock(&mu_);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
    steady_ += by;
    for (Waiter* waiter : waiters_) {
      if (waiter->deadline <= steady_) due.push_back(waiter);
    }
  }
  for (Waiter* waiter : due) {
    MutexLock lock(waiter->mu);
    waiter->cv->notify_all();
  }
}

size_t FakeClock::waiters() const {
  MutexLock lock(&mu_);
  return waiters_.size();
}

bool FakeClock::AwaitWaiters(size_t count, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (waiters_.size() < count) {
    if (!mu_.WaitUntil(waiters_changed_, deadline)) return waiters_.size() >= count;
  }
  return true;
}

}  // namespace fraiseql
