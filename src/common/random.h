// Random: a small seedable generator (splitmix64) injected wherever jitter is needed,
// so tests can make "random" schedules deterministic.
// Thread-safety: not thread-safe; give each thread its own instance.
#pragma once

#include <cstdint>

namespace fraiseql {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound]; REQUIRES: bound < UINT64_MAX.
  uint64_t UniformInclusive(uint64_t bound) { return Next() % (bound + 1); }

 private:
  uint64_t state_;
};

}  // namespace fraiseql
