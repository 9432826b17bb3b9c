// PostgresJobQueue: the durable JobQueue over observer_jobs and observer_dead_letters
// (migrations/004), shared safely by any number of processes.
// Thread-safety: every method may be called from any thread, concurrently.
//
// How a job moves (docs/queue.md has the whole story):
//   the listener inserts it (InsertJobs, in its batch transaction), usually already claimed by this
//   process (NewClaimStamp), and hands it over in memory (HandOver, a HandOverBuffer): no claim
//   round trip. Otherwise Claim takes due rows with FOR UPDATE SKIP LOCKED and stamps them
//   locked_by = holder, locked_until = now() + lock_timeout, so no other process gets them.
//   Complete / Reschedule / CompleteWithDeadLetter / Wake are buffered and written by the
//   WriteBehind's flusher thread, a batch per transaction, which also extends the locks of held
//   jobs (so deliveries waiting behind a slow destination are not stolen). A job whose holder
//   died is claimable again once its locked_until passed.
// First attempts (StartFirstAttempts; docs/architecture.md): a listener batch's deliveries run
// before they have a row. Their reports go to FirstAttempts until PostgresHandOff has written
// what the batch needs (a job for each unfinished one, the dead letters) with its checkpoint;
// a delivery written as a held job is an ordinary held job from then on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/thread_annotations.h"
#include "db/connection.h"
#include "queue/first_attempts.h"
#include "queue/hand_over_buffer.h"
#include "queue/job_queue.h"
#include "queue/job_rows.h"
#include "queue/write_behind.h"

namespace fraiseql {

struct PostgresJobQueueOptions {
  Secret database_url;                            // [database] url (or DATABASE_URL)
  std::string listener_id = "default";            // [database] listener_id: only its jobs are claimed
  std::string holder;                             // unique per process; UniqueHolderName() when empty
  std::chrono::milliseconds lock_timeout{60000};  // [job_queue] lock_timeout_ms
  std::chrono::milliseconds poll_interval{1000};  // [job_queue] poll_interval_ms: the fallback look
  bool synchronous_commit = true;                 // [database] synchronous_commit (off is safe: see docs)
  // How long a buffered write may wait for company before it is written, and how many make a
  // write start at once.
  FlusherTiming flush;
  // Deliveries HandOver() holds for Claim before hand_over().Room() reports none.
  size_t max_handed_over = 10000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds max_backoff{5000};        // reconnects and failed writes back off up to this
  std::chrono::milliseconds stats_interval{5000};     // how often the depth and DLQ gauges are counted
  std::chrono::milliseconds shutdown_timeout{10000};  // the destructor's bound on the final writes
};

class PostgresJobQueue final : public JobQueue {
 public:
  // Starts the flusher thread; connects lazily (Claim and the flusher each keep a connection and
  // reconnect with capped backoff). `clock` gives claim stamps, due times and every wait;
  // borrowed, must outlive the queue.
  PostgresJobQueue(PostgresJobQueueOptions options, Clock& clock);
  // Gives handed-over deliveries nobody claimed back to the queue, due now, then writes what is
  // buffered (bounded by shutdown_timeout). REQUIRES: no call is running or will be made.
  ~PostgresJobQueue() override;

  // JobQueue. Claim hands out handed-over deliveries, and runs one claim statement when a look at
  // the table is due (the poll interval, a Poke, a due reschedule of this process, a Wake), even
  // while handed-over work keeps coming, so retries are not starved by a backlog; when nothing
  // is there it waits (until `deadline`, `stop` or one of those) and looks again. A row that does
  // not decode is dead-lettered with the reason and deleted, and Claim goes on with the others.
  std::vector<Delivery> Claim(size_t max, std::chrono::steady_clock::time_point deadline,
                              std::stop_token stop) override LOCKS_EXCLUDED(mu_, claim_mu_);
  void Complete(const Delivery& delivery) override;
  void Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) override;
  // The dead letter and the job's delete are written in one statement.
  void CompleteWithDeadLetter(const Delivery& delivery, DeadLetter letter) override;
  void Wake(std::span<const std::string> delivery_ids) override;

  // The stamp a local listener passes to InsertJobs so the rows are claimed by this process
  // from the start: {holder, lock_timeout, now}.
  ClaimStamp NewClaimStamp() const;
  // Deliveries the listener inserted with `stamp` (NewClaimStamp()) and committed: Claim returns
  // them before looking at the table (but see Claim). Their locks are kept from the stamp's time.
  void HandOver(std::vector<Delivery> deliveries, const ClaimStamp& stamp) LOCKS_EXCLUDED(mu_);
  // The buffer HandOver fills: a producer waits for its room (backpressure).
  HandOverBuffer& hand_over() { return hand_over_; }
  // Jobs were inserted unclaimed (by this process): the next Claim looks at once.
  void Poke() LOCKS_EXCLUDED(mu_);

  // First attempts of a listener batch (see above). StartFirstAttempts hands the deliveries to
  // Claim (one whose attempt still runs for an abandoned batch is adopted, not started again).
  // WaitFirstAttempts returns once each has an outcome, `timeout` passed, or none came for
  // `stall` (FirstAttempts::WaitSettled); SealFirstAttempts says what to write. After the write
  // commits, FirstAttemptsWritten(batch, the jobs written, stamp) makes the running ones held
  // jobs (locks kept from the stamp), notes when the given-back ones are due and applies the
  // outcomes that came meanwhile; after a failed write, AbandonFirstAttempts drops the batch's
  // outcomes (it is read again).
  FirstAttempts::BatchId StartFirstAttempts(std::span<const NewJob> jobs) LOCKS_EXCLUDED(mu_);
  void WaitFirstAttempts(FirstAttempts::BatchId batch, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds stall);
  FirstAttempts::ToWrite SealFirstAttempts(FirstAttempts::BatchId batch) { return first_attempts_.Seal(batch); }
  void FirstAttemptsWritten(FirstAttempts::BatchId batch, std::span<const NewJob> jobs, const ClaimStamp& stamp)
      LOCKS_EXCLUDED(mu_);
  void AbandonFirstAttempts(FirstAttempts::BatchId batch) { first_attempts_.Abandon(batch); }
  // First attempts whose batch is not written yet.
  size_t first_attempts() const { return first_attempts_.size(); }

  // Waits until everything buffered before the call is written (WriteBehind::Flush).
  Result<void> Flush(std::chrono::milliseconds timeout) { return writes_->Flush(timeout); }

  const std::string& holder() const { return options_.holder; }
  // Buffered writes not yet written.
  size_t pending_writes() const { return writes_->pending(); }
  // Deliveries claimed or handed over and neither completed nor rescheduled yet.
  size_t held() const { return writes_->held(); }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  Result<std::vector<Delivery>> ClaimFromDatabase(size_t max) LOCKS_EXCLUDED(mu_, claim_mu_);
  // Connects `conn` if it is missing or broken. REQUIRES: the caller owns `conn`.
  Result<void> EnsureConnected(std::optional<PgConnection>& conn, const char* role);
  // The flusher's writer and its after-write and periodic hooks (WriteBehind).
  Result<WriteCounts> WriteBatch(const PendingWrites& writes, std::span<const std::string> extend);
  void AfterWrite(const PendingWrites& writes, const WriteCounts& counts) LOCKS_EXCLUDED(mu_);
  void RefreshGauges();
  void NotifyClaimers() LOCKS_EXCLUDED(mu_);
  // Claim looks at the table when a job this process gave back is due (rather than at the poll).
  void NoteDueLocked(std::chrono::system_clock::time_point run_at, std::chrono::system_clock::time_point wall_now,
                     SteadyTime steady_now) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes a report about a delivery that has a job row (this process holds it).
  void ApplyToJob(const std::string& delivery_id, FirstAttemptOutcome outcome);

  PostgresJobQueueOptions options_;
  Clock& clock_;
  HandOverBuffer hand_over_;
  FirstAttempts first_attempts_;

  mutable Mutex mu_;
  std::condition_variable claim_changed_;  // Claim waiters: handed over, poked, woken, written, stopping
  bool poll_now_ GUARDED_BY(mu_) = true;
  SteadyTime next_poll_ GUARDED_BY(mu_);
  std::chrono::milliseconds claim_backoff_ GUARDED_BY(mu_){0};
  // When reschedules this process wrote become due: Claim looks then rather than at the poll.
  std::priority_queue<SteadyTime, std::vector<SteadyTime>, std::greater<>> local_due_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;

  Mutex claim_mu_;  // one claim statement at a time on the claim connection
  std::optional<PgConnection> claim_conn_ GUARDED_BY(claim_mu_);

  std::optional<PgConnection> flush_conn_;  // the flusher thread's alone
  // Last: its flusher thread uses everything above, so it starts after and stops before them.
  std::unique_ptr<WriteBehind> writes_;
};

}  // namespace fraiseql
