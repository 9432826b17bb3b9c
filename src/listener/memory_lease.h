// MemoryLeaseStore: the LeaseStore contract in one process, on its Clock (the listener loop's
// tests drive lease expiry and renewal on a FakeClock with it).
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "listener/lease.h"

namespace fraiseql {

class MemoryLeaseStore final : public LeaseStore {
 public:
  // `clock` judges expiry; borrowed, must outlive the store.
  explicit MemoryLeaseStore(Clock& clock) : clock_(clock) {}

  Result<std::optional<Lease>> TryAcquire(std::string_view listener_id, std::string_view holder,
                                          std::chrono::milliseconds ttl) override LOCKS_EXCLUDED(mu_);
  Result<std::optional<Lease>> Renew(const Lease& lease, std::chrono::milliseconds ttl) override LOCKS_EXCLUDED(mu_);
  Result<bool> Release(const Lease& lease) override LOCKS_EXCLUDED(mu_);
  Result<std::optional<Lease>> Current(std::string_view listener_id) override LOCKS_EXCLUDED(mu_);

  // Runs `change` only while `lease` is current (same holder and epoch, not expired), with no
  // takeover possible meanwhile: the memory hand-off's fence, as PostgreSQL's FOR SHARE lock is.
  // False (and `change` not run) when the lease is no longer current.
  bool RunWhileHeld(const Lease& lease, const std::function<void()>& change) LOCKS_EXCLUDED(mu_);

 private:
  bool HeldLocked(const Lease& lease) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  Mutex mu_;
  std::map<std::string, Lease, std::less<>> leases_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
