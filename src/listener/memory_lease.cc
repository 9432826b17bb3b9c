#include "listener/memory_lease.h"

#include <algorithm>
#include <utility>

namespace fraiseql {

Result<std::optional<Lease>> MemoryLeaseStore::TryAcquire(std::string_view listener_id, std::string_view holder,
                                                          std::chrono::milliseconds ttl) {
  FRAISEQL_RETURN_IF_ERROR(lease_internal::CheckArguments(listener_id, holder, ttl));
  MutexLock lock(&mu_);
  const auto now = clock_.Now();
  auto found = leases_.find(listener_id);
  if (found == leases_.end()) {
    found = leases_.emplace(std::string(listener_id), Lease{std::string(listener_id), "", 0, {}, ""}).first;
  }
  Lease& lease = found->second;
  const bool ours = lease.holder == holder && lease.epoch > 0;
  if (!ours && lease.epoch > 0 && lease.expires_at > now) return std::optional<Lease>();
  std::string because;
  if (!ours) {
    because = lease.epoch == 0 ? "no holder before" : "the lease of " + lease.holder + " expired or was released";
    lease.holder = std::string(holder);
    ++lease.epoch;
  }
  lease.expires_at = now + ttl;
  Lease taken = lease;
  taken.acquired_because = std::move(because);
  return std::optional<Lease>(std::move(taken));
}

Result<std::optional<Lease>> MemoryLeaseStore::Renew(const Lease& lease, std::chrono::milliseconds ttl) {
  FRAISEQL_RETURN_IF_ERROR(lease_internal::CheckArguments(lease.listener_id, lease.holder, ttl));
  MutexLock lock(&mu_);
  const auto found = leases_.find(lease.listener_id);
  if (found == leases_.end() || found->second.holder != lease.holder || found->second.epoch != lease.epoch) {
    return std::optional<Lease>();
  }
  found->second.expires_at = clock_.Now() + ttl;
  return std::optional<Lease>(found->second);
}

Result<bool> MemoryLeaseStore::Release(const Lease& lease) {
  MutexLock lock(&mu_);
  const auto found = leases_.find(lease.listener_id);
  if (found == leases_.end() || found->second.holder != lease.holder || found->second.epoch != lease.epoch) {
    return false;
  }
  found->second.expires_at = std::min(found->second.expires_at, clock_.Now());
  return true;
}

Result<std::optional<Lease>> MemoryLeaseStore::Current(std::string_view listener_id) {
  MutexLock lock(&mu_);
  const auto found = leases_.find(listener_id);
  if (found == leases_.end() || found->second.epoch == 0) return std::optional<Lease>();
  return std::optional<Lease>(found->second);
}

bool MemoryLeaseStore::HeldLocked(const Lease& lease) {
  const auto found = leases_.find(lease.listener_id);
  return found != leases_.end() && found->second.holder == lease.holder && found->second.epoch == lease.epoch &&
         found->second.expires_at > clock_.Now();
}

bool MemoryLeaseStore::RunWhileHeld(const Lease& lease, const std::function<void()>& change) {
  MutexLock lock(&mu_);
  if (!HeldLocked(lease)) return false;
  change();
  return true;
}

}  // namespace fraiseql
