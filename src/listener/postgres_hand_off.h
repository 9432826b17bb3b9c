// PostgresHandOff: the HandOff contract in one PostgreSQL transaction: the lease re-checked and
// locked, the jobs inserted (InsertJobs), the dead letters added (PostgresDeadLetterStore) and the
// checkpoint compare-and-swapped (PostgresCheckpointStore), committed together; then the jobs are
// handed over in memory to this process's queue, which claimed them in the same insert. With a
// first-attempt deadline the deliveries run first, and the transaction writes only the jobs of
// those that did not finish (given back for a retry, or still running) and their dead letters.
// Thread-safety: one thread (the listener's) uses a hand-off; WaitForRoom may be called from any.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_set>

#include "checkpoint/postgres_checkpoint_store.h"
#include "common/secret.h"
#include "db/session.h"
#include "listener/hand_off.h"
#include "queue/postgres_job_queue.h"

namespace fraiseql {

struct PostgresHandOffOptions {
  Secret database_url;
  std::string listener_id = "default";  // names the connection in pg_stat_activity
  // For the batch transaction only (SET LOCAL). Off is safe: a transaction lost in a crash of
  // PostgreSQL only moves the checkpoint back, so its batch is read and enqueued again.
  bool synchronous_commit = true;
  std::chrono::milliseconds connect_timeout{5000};
  // With a local queue: a batch's deliveries make their first attempt before anything is written,
  // and Commit waits up to this long for them; then only what is unfinished gets a job row
  // (docs/architecture.md, "First attempts"). Zero: every delivery gets a job row first.
  std::chrono::milliseconds first_attempt_deadline{0};
};

class PostgresHandOff final : public HandOff {
 public:
  // `local` is this process's queue: committed jobs are inserted claimed by it (NewClaimStamp)
  // and handed over in memory, and WaitForRoom waits for its hand-over room. Null: jobs are
  // inserted unclaimed, for whichever process claims them, and WaitForRoom never waits.
  // Borrowed; must outlive the hand-off.
  PostgresHandOff(PostgresHandOffOptions options, PostgresJobQueue* local);

  Result<std::optional<Checkpoint>> LoadCheckpoint(std::string_view listener_id) override;
  // SQLSTATE class 22 (a value the column types reject) is kInvalidArgument, the batch's content;
  // the database's other refusals (a missing table, a privilege) are kFailedPrecondition.
  Result<HandOffOutcome> Commit(const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) override;
  bool WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) override;

 private:
  // The batch transaction, its jobs inserted with `claim`; `inserted` gets the delivery ids that
  // were new.
  // Commit with first attempts (options_.first_attempt_deadline).
  Result<HandOffOutcome> CommitAfterFirstAttempts(const Lease& lease, int64_t expected_epoch,
                                                  const HandOffBatch& batch);
  // Rolls back what is open and turns a failure into the contract's error.
  Result<HandOffOutcome> EndFailed(PgConnection& tx, Result<HandOffOutcome> outcome);
  Result<HandOffOutcome> CommitOn(PgConnection& tx, const Lease& lease, int64_t expected_epoch,
                                  const HandOffBatch& batch, const std::optional<ClaimStamp>& claim,
                                  std::unordered_set<std::string>& inserted);

  const PostgresHandOffOptions options_;
  PostgresJobQueue* const local_;
  PostgresCheckpointStore checkpoints_;  // LoadCheckpoint's connection
  PgSession session_;                    // the batch transactions'
};

}  // namespace fraiseql
