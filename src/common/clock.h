// Clock: the one way code reads time, injected so tests can move it by hand.
// Now() is wall time (timestamps people and rows see); SteadyNow() is for intervals and deadlines.
// Thread-safety: SystemClock is stateless; FakeClock is safe to share (atomic time points).
#pragma once

#include <atomic>
#include <chrono>

namespace fraiseql {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() = 0;
  virtual std::chrono::steady_clock::time_point SteadyNow() = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point SteadyNow() override {
    return std::chrono::steady_clock::now();
  }
};

// Moves only when a test calls Advance().
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start = {}) : wall_(start) {}

  std::chrono::system_clock::time_point Now() override { return wall_.load(); }
  std::chrono::steady_clock::time_point SteadyNow() override { return steady_.load(); }

  // Compare-and-swap, so advances from several threads all count.
  void Advance(std::chrono::nanoseconds by) {
    const auto wall_by = std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
    auto wall = wall_.load();
    while (!wall_.compare_exchange_weak(wall, wall + wall_by)) {
    }
    auto steady = steady_.load();
    while (!steady_.compare_exchange_weak(steady, steady + by)) {
    }
  }

 private:
  std::atomic<std::chrono::system_clock::time_point> wall_;
  std::atomic<std::chrono::steady_clock::time_point> steady_{};
};

}  // namespace fraiseql
