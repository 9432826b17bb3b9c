// The LeaseStore contract (listener/lease.h), run by every backend.
#include "lease_contract.h"

#include <chrono>

#include <gmock/gmock.h>

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kLongTtl{60'000};

std::optional<Lease> MustTry(LeaseStore& leases, std::string_view id, std::string_view holder) {
  Result<std::optional<Lease>> lease = leases.TryAcquire(id, holder, kLongTtl);
  EXPECT_TRUE(lease) << lease.error().message;
  return lease ? *lease : std::nullopt;
}

TEST_P(LeaseStoreContract, OneHolderAtATimeAndEpochsRiseOnChangeOfHolder) {
  std::optional<Lease> a = MustTry(leases(), "l1", "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->epoch, 1);
  EXPECT_EQ(a->holder, "a");
  EXPECT_EQ(a->listener_id, "l1");
  std::optional<Lease> again = MustTry(leases(), "l1", "a");  // the holder's own: renewed, same epoch
  ASSERT_TRUE(again);
  EXPECT_EQ(again->epoch, 1);
  EXPECT_FALSE(MustTry(leases(), "l1", "b"));
  EXPECT_TRUE(MustTry(leases(), "l2", "b"));  // another listener id is another lease

  Result<bool> released = leases().Release(*a);
  ASSERT_TRUE(released);
  EXPECT_TRUE(*released);
  std::optional<Lease> b = MustTry(leases(), "l1", "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->epoch, 2);
  // The former holder's lease is gone: renewing and releasing it change nothing.
  Result<std::optional<Lease>> renewed = leases().Renew(*a, kLongTtl);
  ASSERT_TRUE(renewed);
  EXPECT_FALSE(*renewed);
  released = leases().Release(*a);
  ASSERT_TRUE(released);
  EXPECT_FALSE(*released);
  Result<std::optional<Lease>> current = leases().Current("l1");
  ASSERT_TRUE(current && *current);
  EXPECT_EQ((*current)->holder, "b");
  EXPECT_EQ((*current)->epoch, 2);
  Result<std::optional<Lease>> none = leases().Current("nobody");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_P(LeaseStoreContract, AnExpiredLeaseIsTakenOver) {
  ASSERT_TRUE(MustTry(leases(), "l1", "a"));
  EXPECT_FALSE(MustTry(leases(), "l1", "b"));
  backend().Expire("l1");
  std::optional<Lease> b = MustTry(leases(), "l1", "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->epoch, 2);
}

TEST_P(LeaseStoreContract, RenewExtendsTheSameEpochEvenAfterExpiryWhenNobodyTookOver) {
  std::optional<Lease> a = MustTry(leases(), "l1", "a");
  ASSERT_TRUE(a);
  backend().Expire("l1");
  Result<std::optional<Lease>> renewed = leases().Renew(*a, kLongTtl);
  ASSERT_TRUE(renewed && *renewed);
  EXPECT_EQ((*renewed)->epoch, 1);
  EXPECT_GT((*renewed)->expires_at, a->expires_at - kLongTtl);
  EXPECT_FALSE(MustTry(leases(), "l1", "b"));  // current again
}

TEST_P(LeaseStoreContract, RejectsBadArguments) {
  EXPECT_EQ(leases().TryAcquire("l1", "", kLongTtl).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(leases().TryAcquire("", "a", kLongTtl).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(leases().TryAcquire("l1", "a", 0ms).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(leases().TryAcquire("l1", std::string(256, 'h'), kLongTtl).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fraiseql::testing
