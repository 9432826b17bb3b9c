// The listener lease: one observer_leases row (holder, epoch, expiry, judged by the database's
// now()) lets one process at a time lead a listener id; its epoch fences checkpoints (guarantee 4).
// Thread-safety: methods are safe concurrently (one connection, one mutex); statics use the caller's.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/thread_annotations.h"
#include "db/connection.h"

namespace fraiseql {

struct Lease {
  std::string listener_id;
  std::string holder;
  int64_t epoch = 0;
  std::chrono::system_clock::time_point expires_at;  // the database's clock

  friend bool operator==(const Lease&, const Lease&) = default;
};

// "<hostname>:<pid>:<8 random hex digits>": a holder name unique to this process. Holder names
// must be unique per process: two processes with one name would both count as the holder.
std::string DefaultLeaseHolder();

class PostgresLease {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{5000};
  };

  // Connects on first use, and again (once per call) when it finds the connection lost.
  explicit PostgresLease(Secret url) : PostgresLease(std::move(url), Options()) {}
  PostgresLease(Secret url, Options options) : url_(std::move(url)), options_(options) {}
  PostgresLease(const PostgresLease&) = delete;
  PostgresLease& operator=(const PostgresLease&) = delete;

  // Takes the lease of `listener_id` for `ttl` when nobody holds it, it expired, or `holder`
  // holds it already (then it is renewed, same epoch). A new holder gets an epoch above both the
  // lease row's and the listener's stored checkpoint's, so epochs keep rising even if someone
  // deletes the lease row or writes the checkpoint by hand. nullopt: another holder's lease is
  // current.
  // REQUIRES: holder not empty, ttl > 0 (else kInvalidArgument).
  Result<std::optional<Lease>> TryAcquire(std::string_view listener_id, std::string_view holder,
                                          std::chrono::milliseconds ttl) LOCKS_EXCLUDED(mu_);

  // Extends `lease` to now() + ttl if it is still this holder's at this epoch (even when it
  // expired meanwhile: nobody took it over, or the epoch would differ). nullopt: lost.
  Result<std::optional<Lease>> Renew(const Lease& lease, std::chrono::milliseconds ttl) LOCKS_EXCLUDED(mu_);

  // Expires `lease` now, so a waiting process takes over at its next attempt rather than after
  // the ttl. False when it was not ours any more (nothing changed).
  Result<bool> Release(const Lease& lease) LOCKS_EXCLUDED(mu_);

  // The lease row of `listener_id` as stored (any holder), for operators and tests.
  Result<std::optional<Lease>> Current(std::string_view listener_id) LOCKS_EXCLUDED(mu_);

  // Inside the caller's open transaction: true when `lease` is still current (same holder and
  // epoch, not expired at the transaction's now()). Locks the row FOR SHARE until the caller
  // commits, so nobody can take the lease over while the transaction runs.
  static Result<bool> HeldInTransaction(PgConnection& tx, const Lease& lease);

 private:
  template <typename T, typename F>
  Result<T> WithConnection(F&& run) LOCKS_EXCLUDED(mu_);

  const Secret url_;
  const Options options_;
  Mutex mu_;
  std::optional<PgConnection> conn_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
