#include "common/random.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

TEST(RandomTest, MatchesSplitMix64ReferenceOutput) {
  // First outputs of splitmix64 seeded with 0 (Vigna's reference implementation).
  Random random(0);
  EXPECT_EQ(random.Next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(random.Next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(random.Next(), 0x06c45d188009454fULL);
}

TEST(RandomTest, SameSeedSameSequence) {
  Random a(1234);
  Random b(1234);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.Next(), b.Next()) << i;
}

TEST(RandomTest, DifferentSeedsDiffer) {
  Random a(1);
  Random b(2);
  std::vector<uint64_t> from_a;
  std::vector<uint64_t> from_b;
  for (int i = 0; i < 8; ++i) {
    from_a.push_back(a.Next());
    from_b.push_back(b.Next());
  }
  EXPECT_NE(from_a, from_b);
}

TEST(RandomTest, UniformInclusiveStaysInRangeAndHitsBothEnds) {
  Random random(99);
  bool saw_zero = false;
  bool saw_bound = false;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t value = random.UniformInclusive(4);
    ASSERT_LE(value, 4u);
    saw_zero = saw_zero || value == 0;
    saw_bound = saw_bound || value == 4;
  }
  EXPECT_TRUE(saw_zero);
  EXPECT_TRUE(saw_bound);
  EXPECT_EQ(random.UniformInclusive(0), 0u);
}

}  // namespace
}  // namespace fraiseql
