// LeaseStore: who leads a listener id. One holder at a time reads the change log; its epoch rises
// with every change of holder and fences every checkpoint write (guarantee 4). Backends:
// PostgresLeaseStore (observer_leases, judged by the database's clock) and MemoryLeaseStore.
// Thread-safety: every implementation may be called from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fraiseql {

struct Lease {
  std::string listener_id;
  std::string holder;
  int64_t epoch = 0;
  std::chrono::system_clock::time_point expires_at;  // on the store's clock
  // Set by TryAcquire when it took the lease from nobody or from another holder: why it could
  // ("the lease of X expired or was released", "X's connection is gone ..."); empty otherwise.
  std::string acquired_because;

  friend bool operator==(const Lease&, const Lease&) = default;
};

class LeaseStore {
 public:
  LeaseStore() = default;
  virtual ~LeaseStore() = default;
  LeaseStore(const LeaseStore&) = delete;
  LeaseStore& operator=(const LeaseStore&) = delete;

  // Takes the lease of `listener_id` for `ttl` when nobody holds it, it expired, or `holder`
  // holds it already (then it is renewed, same epoch). A new holder gets a higher epoch.
  // nullopt: another holder's lease is current.
  // REQUIRES: listener id and holder of 1 to 255 bytes, ttl > 0 (else kInvalidArgument).
  virtual Result<std::optional<Lease>> TryAcquire(std::string_view listener_id, std::string_view holder,
                                                  std::chrono::milliseconds ttl) = 0;

  // Extends `lease` by `ttl` from now if it is still this holder's at this epoch (even when it
  // expired meanwhile: nobody took it over, or the epoch would differ). nullopt: lost.
  virtual Result<std::optional<Lease>> Renew(const Lease& lease, std::chrono::milliseconds ttl) = 0;

  // Expires `lease` now, so a waiting process takes over at its next attempt rather than after
  // the ttl. False when it was not ours any more (nothing changed).
  virtual Result<bool> Release(const Lease& lease) = 0;

  // The lease of `listener_id` as stored (any holder), for operators and tests.
  virtual Result<std::optional<Lease>> Current(std::string_view listener_id) = 0;
};

namespace lease_internal {

// The argument checks every backend applies.
Result<void> CheckArguments(std::string_view listener_id, std::string_view holder, std::chrono::milliseconds ttl);

}  // namespace lease_internal

}  // namespace fraiseql
