// PollUntil: how a test waits for something another thread or process makes true: look again
// every few milliseconds until it holds or a deadline passes (never a bare sleep before an
// assertion). Timing that the test controls belongs on a FakeClock instead.
// Thread-safety: the condition is called on the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace fraiseql::testing {

// Generous: other suites share the machine and the PostgreSQL cluster under ctest -j.
inline constexpr std::chrono::milliseconds kPollDeadline{30'000};

// True once `condition` holds; false when `deadline` passed first (it is tried one last time).
inline bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline = kPollDeadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace fraiseql::testing
