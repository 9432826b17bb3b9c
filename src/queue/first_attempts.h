// FirstAttempts: the deliveries of a listener batch whose first attempt runs before they have a
// job row (docs/architecture.md, "First attempts"), and each one's outcome until the batch is
// written. PostgresJobQueue routes the engine's reports here first; PostgresHandOff writes what
// a batch needs (jobs for the unfinished, dead letters) with its checkpoint, in one transaction.
// Thread-safety: every method may be called from any thread.
//
// A delivery of a batch is, at any time, one of:
//   running      its attempt has not ended: written as a job this process holds if the batch is
//                sealed now; an outcome arriving after the seal is kept for Written();
//   done         succeeded, or failed for good with nothing to keep: nothing to write;
//   given back   a retry or a park on an open breaker: written as a job due at its run_at;
//   dead         written as a dead letter.
// An abandoned batch (not written: the lease or the checkpoint moved, the database failed) is read
// again, so its outcomes are dropped; an attempt of it still running is adopted by the batch that
// reads the same delivery again, never started twice in this process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "delivery/dead_letter.h"
#include "delivery/delivery.h"
#include "queue/job_rows.h"

namespace fraiseql {

// How a first attempt ended, as the engine reported it to the queue.
struct FirstAttemptOutcome {
  enum class Kind { kDone, kGivenBack, kDeadLettered };
  Kind kind = Kind::kDone;
  Delivery delivery;                               // kGivenBack: with the attempts it carries
  std::chrono::system_clock::time_point run_at{};  // kGivenBack
  std::optional<DeadLetter> letter;                // kDeadLettered
};

class FirstAttempts {
 public:
  using BatchId = uint64_t;

  // What a batch needs written, taken by Seal.
  struct ToWrite {
    std::vector<NewJob> jobs;  // given back (run_at set) and running (no run_at: held), in batch order
    std::vector<DeadLetter> dead_letters;
    size_t done = 0;
  };

  // An outcome that arrived while its batch was being written: applies to its job row.
  struct Late {
    std::string delivery_id;
    FirstAttemptOutcome outcome;
  };

  explicit FirstAttempts(Clock& clock) : clock_(clock) {}

  // Registers a batch; returns its id and the deliveries to start. A delivery whose attempt still
  // runs for an abandoned batch is adopted, not returned: it is not started twice.
  std::pair<BatchId, std::vector<Delivery>> Start(std::span<const NewJob> jobs) LOCKS_EXCLUDED(mu_);

  // Takes the outcome when `delivery_id` is a first attempt (kept, or dropped for an abandoned
  // batch); returns it untouched when it is an ordinary job's, for the caller to write.
  std::optional<FirstAttemptOutcome> Report(const std::string& delivery_id, FirstAttemptOutcome outcome)
      LOCKS_EXCLUDED(mu_);

  // A breaker closed: given-back deliveries not written yet become due `now`.
  void Wake(std::span<const std::string> delivery_ids, std::chrono::system_clock::time_point now)
      LOCKS_EXCLUDED(mu_);

  // Waits until every delivery of the batch has an outcome (true), or (false) `deadline` passes
  // or no outcome came for `stall`: what is left waits on slow destinations, and holding the
  // batch for them would hold every other delivery behind it.
  bool WaitSettled(BatchId batch, std::chrono::steady_clock::time_point deadline,
                   std::chrono::steady_clock::duration stall) LOCKS_EXCLUDED(mu_);

  // What to write for the batch now; outcomes arriving from now on are kept for Written.
  ToWrite Seal(BatchId batch) LOCKS_EXCLUDED(mu_);
  // The sealed batch is written: it is forgotten, and the outcomes that arrived meanwhile are
  // returned for the caller to apply to the job rows (whose holds the caller took first).
  std::vector<Late> Written(BatchId batch) LOCKS_EXCLUDED(mu_);
  // The batch was not written: forgotten; its running attempts become orphans (see above).
  void Abandon(BatchId batch) LOCKS_EXCLUDED(mu_);

  // Whether the delivery is a first attempt not yet written (it has no job row).
  bool Contains(const std::string& delivery_id) const LOCKS_EXCLUDED(mu_);
  size_t size() const LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    BatchId batch = 0;  // 0: an orphan of an abandoned batch
    NewJob job;         // what a held job row is written from
    std::optional<FirstAttemptOutcome> outcome;
    bool sealed_running = false;  // running when its batch was sealed: written as a held job
  };
  struct Batch {
    std::vector<std::string> ids;  // batch order
    size_t unsettled = 0;
    std::chrono::steady_clock::time_point last_progress;  // started, or the last outcome
    bool sealed = false;
  };

  Clock& clock_;
  mutable Mutex mu_;
  std::condition_variable settled_;
  BatchId next_batch_ GUARDED_BY(mu_) = 1;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::unordered_map<BatchId, Batch> batches_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
