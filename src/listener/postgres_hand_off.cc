#include "listener/postgres_hand_off.h"

#include <algorithm>
#include <utility>

#include "db/sqlstate.h"
#include "dlq/postgres_dead_letter_store.h"
#include "listener/postgres_lease.h"

namespace fraiseql {
namespace {

// A batch whose first attempts gave no outcome for this long is committed with the rest held:
// a destination this slow would otherwise hold every delivery behind its batch.
constexpr std::chrono::milliseconds kFirstAttemptStall{100};

// A checkpoint the store refuses to write (its bounds) is the listener's bug, not the batch's
// data: not kInvalidArgument, which would send the listener isolating rows for nothing.
Error CheckpointError(Error error) {
  if (error.code == ErrorCode::kInvalidArgument && SqlStateOf(error).empty()) {
    error.code = ErrorCode::kInternal;
    error.message = "the listener's next checkpoint is invalid: " + error.message;
  }
  return error;
}

Result<void> Run(PgConnection& conn, std::string_view sql) {
  Result<PgResult> result = conn.Execute(sql);
  if (!result) return std::move(result).error();
  return Ok();
}

}  // namespace

PostgresHandOff::PostgresHandOff(PostgresHandOffOptions options, PostgresJobQueue* local)
    : options_(std::move(options)),
      local_(local),
      checkpoints_(options_.database_url, PostgresCheckpointStore::Options{options_.connect_timeout, true}),
      session_(options_.database_url, options_.connect_timeout, [name = "fraiseql-observer hand-off " +
                                                                        options_.listener_id](PgConnection& conn) {
        const std::optional<std::string> params[] = {name};
        Result<PgResult> set = conn.Execute("SELECT set_config('application_name', left($1, 63), false)", params);
        if (!set) return Result<void>(std::move(set).error());
        return Ok();
      }) {}

Result<std::optional<Checkpoint>> PostgresHandOff::LoadCheckpoint(std::string_view listener_id) {
  return checkpoints_.Load(listener_id);
}

Result<HandOffOutcome> PostgresHandOff::EndFailed(PgConnection& tx, Result<HandOffOutcome> outcome) {
  // Outside a transaction this only warns; a failure means the connection is gone, and the
  // next Commit connects again.
  if (tx.healthy()) {
    [[maybe_unused]] Result<PgResult> ignored = tx.Execute("ROLLBACK");
  }
  if (!tx.healthy()) session_.Reset();
  // kInvalidArgument when the batch's content may be at fault: the listener splits it.
  if (!outcome) return AsBatchFailure(std::move(outcome).error());
  return outcome;
}

Result<HandOffOutcome> PostgresHandOff::Commit(const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) {
  if (local_ != nullptr && options_.first_attempt_deadline.count() > 0 && !batch.jobs.empty()) {
    return CommitAfterFirstAttempts(lease, expected_epoch, batch);
  }
  PgConnection* tx = nullptr;
  FRAISEQL_ASSIGN_OR_RETURN(tx, session_.Get());
  // Jobs for this process's queue are inserted already claimed by it.
  const std::optional<ClaimStamp> claim = local_ != nullptr ? std::optional(local_->NewClaimStamp()) : std::nullopt;
  std::unordered_set<std::string> inserted;
  Result<HandOffOutcome> outcome = CommitOn(*tx, lease, expected_epoch, batch, claim, inserted);
  if (!outcome || *outcome != HandOffOutcome::kCommitted) return EndFailed(*tx, std::move(outcome));
  if (local_ != nullptr && !inserted.empty()) {
    // Only the jobs this insert made: a replayed one is queued already, maybe running.
    std::vector<Delivery> deliveries;
    deliveries.reserve(inserted.size());
    for (const NewJob& job : batch.jobs) {
      if (inserted.contains(job.delivery.id)) deliveries.push_back(job.delivery);
    }
    local_->HandOver(std::move(deliveries), *claim);
  }
  return outcome;
}

Result<HandOffOutcome> PostgresHandOff::CommitAfterFirstAttempts(const Lease& lease, int64_t expected_epoch,
                                                                 const HandOffBatch& batch) {
  const FirstAttempts::BatchId attempts = local_->StartFirstAttempts(batch.jobs);
  if (batch.while_delivering) batch.while_delivering();
  // Not all settled by the deadline, or the outcomes stopped coming (what is left waits on slow
  // destinations): the rest are written as jobs this process holds, and run on.
  local_->WaitFirstAttempts(attempts, options_.first_attempt_deadline,
                            std::min(options_.first_attempt_deadline, kFirstAttemptStall));
  FirstAttempts::ToWrite settled = local_->SealFirstAttempts(attempts);
  HandOffBatch written;
  written.jobs = std::move(settled.jobs);
  written.dead_letters = batch.dead_letters;
  written.from = batch.from;
  written.next = batch.next;
  for (DeadLetter& letter : settled.dead_letters) written.dead_letters.push_back(std::move(letter));

  Result<PgConnection*> tx = session_.Get();
  if (!tx) {
    local_->AbandonFirstAttempts(attempts);
    return std::move(tx).error();
  }
  const ClaimStamp claim = local_->NewClaimStamp();
  std::unordered_set<std::string> inserted;
  Result<HandOffOutcome> outcome = CommitOn(**tx, lease, expected_epoch, written, claim, inserted);
  if (!outcome || *outcome != HandOffOutcome::kCommitted) {
    local_->AbandonFirstAttempts(attempts);
    return EndFailed(**tx, std::move(outcome));
  }
  local_->FirstAttemptsWritten(attempts, written.jobs, claim);
  return outcome;
}

Result<HandOffOutcome> PostgresHandOff::CommitOn(PgConnection& tx, const Lease& lease, int64_t expected_epoch,
                                                 const HandOffBatch& batch, const std::optional<ClaimStamp>& claim,
                                                 std::unordered_set<std::string>& inserted) {
  FRAISEQL_RETURN_IF_ERROR(Run(tx, "BEGIN"));
  FRAISEQL_RETURN_IF_ERROR(Run(tx, options_.synchronous_commit ? "SET LOCAL synchronous_commit = on"
                                                               : "SET LOCAL synchronous_commit = off"));
  bool held = false;
  FRAISEQL_ASSIGN_OR_RETURN(held, PostgresLeaseStore::HeldInTransaction(tx, lease));
  if (!held) return HandOffOutcome::kLeaseLost;
  if (!batch.jobs.empty()) FRAISEQL_ASSIGN_OR_RETURN(inserted, InsertJobs(tx, lease.listener_id, batch.jobs, claim));
  FRAISEQL_RETURN_IF_ERROR(PostgresDeadLetterStore::AddWith(tx, batch.dead_letters));
  Result<bool> swapped = PostgresCheckpointStore::CompareAndSwapInTransaction(tx, lease.listener_id, expected_epoch,
                                                                             batch.from, batch.next);
  if (!swapped) return CheckpointError(std::move(swapped).error());
  if (!*swapped) return HandOffOutcome::kCheckpointMoved;
  FRAISEQL_RETURN_IF_ERROR(Run(tx, "COMMIT"));
  return HandOffOutcome::kCommitted;
}

bool PostgresHandOff::WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) {
  if (local_ == nullptr) return true;
  return local_->hand_over().WaitForRoom(deadline, std::move(stop));
}

}  // namespace fraiseql
