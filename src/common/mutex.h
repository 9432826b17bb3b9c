// Mutex and MutexLock: std::mutex with the annotations clang's -Wthread-safety checks.
// Thread-safety: that is the point of it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/thread_annotations.h"

namespace fraiseql {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis what it cannot see: code that runs while the caller holds this mutex,
  // such as a lambda called by a function the caller called under it. Checks nothing at run time.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

  // Waits on `cv`, releasing this mutex meanwhile and holding it again on return. Wake-ups may
  // be spurious: call in a loop over the condition. REQUIRES: the calling thread holds it.
  void Wait(std::condition_variable& cv) EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    cv.wait(lock);
    lock.release();
  }

  // As Wait, until `deadline` at the latest. Returns false when the deadline passed.
  template <typename ClockType, typename Duration>
  bool WaitUntil(std::condition_variable& cv, std::chrono::time_point<ClockType, Duration> deadline)
      EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    const bool woken = cv.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace fraiseql
