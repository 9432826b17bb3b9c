// Capped exponential backoff between retries of one failing operation (a reconnect, a write).
// Thread-safety: a pure function.
#pragma once

#include <algorithm>
#include <chrono>

namespace fraiseql {

// The wait after `current`: `first` after none (0), then doubling, never above `cap`.
inline std::chrono::milliseconds NextBackoff(std::chrono::milliseconds current, std::chrono::milliseconds first,
                                             std::chrono::milliseconds cap) {
  return current.count() == 0 ? std::min(first, cap) : std::min(current * 2, cap);
}

}  // namespace fraiseql
