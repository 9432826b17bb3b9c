// Rows of observer_jobs: the durable form of a Delivery, written by the listener inside its batch
// transaction and read back by PostgresJobQueue (migrations/004_job_queue_and_dead_letters.sql).
// Thread-safety: free functions; the PgConnection passed in is used by the calling thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/result.h"
#include "db/connection.h"
#include "delivery/delivery.h"

namespace fraiseql {

struct NewJob {
  NewJob() = default;
  NewJob(Delivery delivery_in, int64_t change_log_pk_in,
         std::optional<std::chrono::system_clock::time_point> run_at_in = std::nullopt)
      : delivery(std::move(delivery_in)), change_log_pk(change_log_pk_in), run_at(run_at_in) {}

  Delivery delivery;
  int64_t change_log_pk = 0;
  // Set: a delivery given back after its first attempt (a retry, or a park on an open breaker):
  // due then and held by nobody, whatever the insert's ClaimStamp. Unset: due now.
  std::optional<std::chrono::system_clock::time_point> run_at;
};

// Marks jobs inserted by a local listener as already claimed by `holder` for `lock_for` from the
// insert (the database's now(): no clock skew between hosts shortens it). `issued_at` is when the
// stamp was made, on the local steady clock: the lock keeper counts the lock's age from it.
struct ClaimStamp {
  std::string holder;
  std::chrono::milliseconds lock_for{0};
  std::chrono::steady_clock::time_point issued_at;
};

// The parameters InsertJobs sends: the jobs as JSON array texts, one per statement (several when
// the batch is large, see sql_text::JsonArrays). Fails on a job without an event or a UUID id.
Result<std::vector<std::string>> JobRowArrays(std::span<const NewJob> jobs);

// Inserts jobs inside the caller's open transaction (the listener's batch transaction); a job whose
// delivery_id exists already is left alone (ON CONFLICT DO NOTHING: a replayed batch after a crash
// adds nothing). One statement for the whole batch. `claim` stamps the jobs without a run_at.
// Returns the delivery ids it inserted: only
// those are new work (a replayed one may be running somewhere already).
Result<std::unordered_set<std::string>> InsertJobs(PgConnection& tx, std::string_view listener_id,
                                                   std::span<const NewJob> jobs, const std::optional<ClaimStamp>& claim);

}  // namespace fraiseql
