// PostgresLeaseStore: the LeaseStore contract on one observer_leases row per listener id, judged
// by the database's now(); a new holder's epoch starts above the stored checkpoint's too. A
// holder also keeps the lease's session-level advisory lock on this store's connection: when the
// holder dies, PostgreSQL frees the lock with its connection and a standby takes over at once,
// not at expiry (docs/scaling.md, "Failover").
// Thread-safety: methods are safe concurrently (one connection, one mutex); the static uses the caller's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/thread_annotations.h"
#include "db/connection.h"
#include "db/session.h"
#include "listener/lease.h"

namespace fraiseql {

class PostgresLeaseStore final : public LeaseStore {
 public:
  // Connects on first use, and again (once per call) when it finds the connection lost.
  explicit PostgresLeaseStore(Secret url, std::chrono::milliseconds connect_timeout = std::chrono::seconds(5))
      : session_(std::move(url), connect_timeout) {}

  // A new holder gets an epoch above both the lease row's and the listener's stored
  // checkpoint's, so epochs keep rising even if someone deletes the lease row or writes the
  // checkpoint by hand.
  Result<std::optional<Lease>> TryAcquire(std::string_view listener_id, std::string_view holder,
                                          std::chrono::milliseconds ttl) override LOCKS_EXCLUDED(mu_);
  Result<std::optional<Lease>> Renew(const Lease& lease, std::chrono::milliseconds ttl) override LOCKS_EXCLUDED(mu_);
  Result<bool> Release(const Lease& lease) override LOCKS_EXCLUDED(mu_);
  Result<std::optional<Lease>> Current(std::string_view listener_id) override LOCKS_EXCLUDED(mu_);

  // Inside the caller's open transaction: true when `lease` is still current (same holder and
  // epoch, not expired at the transaction's now()). Locks the row FOR SHARE until the caller
  // commits, so nobody can take the lease over while the transaction runs.
  static Result<bool> HeldInTransaction(PgConnection& tx, const Lease& lease);

 private:
  // An advisory lock this store's session holds for a listener id, for `holder`, taken on the
  // connection of `generation` (a lost connection took its locks with it).
  struct HeldLock {
    std::string holder;
    uint64_t generation = 0;
  };

  // Whether `holder` holds the lock of `listener_id` now, taking it when it is free.
  Result<bool> LockFor(PgConnection& conn, std::string_view listener_id, std::string_view holder)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the lock of `listener_id` back, if this store holds it for `holder`.
  Result<void> Unlock(PgConnection& conn, std::string_view listener_id, std::string_view holder)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Mutex mu_;
  PgSession session_ GUARDED_BY(mu_);
  std::map<std::string, HeldLock, std::less<>> locks_ GUARDED_BY(mu_);  // by listener id
};

}  // namespace fraiseql
