// JobQueue: where deliveries wait to be performed. The delivery engine claims the due ones and
// reports each one's fate: done, due again later, or dead. Backends: MemoryJobQueue (one process,
// lost on exit: `debug-event --execute`, tests) and PostgresJobQueue (durable, shared by processes).
// Thread-safety: every implementation accepts calls from any thread, concurrently.
//
// The contract (tests/queue/job_queue_contract.cc runs it over both backends):
//   - Claim hands a delivery to one claimer only, and only once it is due; it stays claimed until
//     Complete, Reschedule or CompleteWithDeadLetter (or, in PostgreSQL, until its claimer's lock
//     expires because that process died).
//   - Reschedule makes it due again at `run_at`, keeping the attempts it carries.
//   - CompleteWithDeadLetter stores the dead letter and removes the delivery as one step: a crash
//     in between replays the delivery, it never loses it (guarantee 1).
//   - Wake makes named rescheduled deliveries due now; claimed or unknown ids are left alone.
// Producers are not part of the contract: the listener's hand-off inserts jobs in its batch
// transaction (listener/hand_off.h), `dlq retry` re-drives dead letters.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "delivery/dead_letter.h"
#include "delivery/delivery.h"

namespace fraiseql {

class JobQueue {
 public:
  JobQueue() = default;
  virtual ~JobQueue() = default;
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Up to `max` deliveries that are due now, claimed for the caller. Blocks until at least one
  // is due, `deadline` passes (on the queue's clock) or `stop` is requested; may return fewer
  // than `max`, or none.
  virtual std::vector<Delivery> Claim(size_t max, std::chrono::steady_clock::time_point deadline,
                                      std::stop_token stop) = 0;

  // The delivery is finished (succeeded, or failed for good and logged): remove it.
  virtual void Complete(const Delivery& delivery) = 0;

  // Gives the delivery back, due at `run_at` (wall time): a retry (its attempts include the
  // failed one) or a park on an open circuit breaker (attempts unchanged).
  virtual void Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) = 0;

  // The delivery failed for good: keep `letter` in the dead-letter store and remove the
  // delivery, together. `letter.listener_id` may be empty: the queue knows it.
  virtual void CompleteWithDeadLetter(const Delivery& delivery, DeadLetter letter) = 0;

  // Makes the named rescheduled deliveries due now, if they are still waiting: the breaker of
  // their destination closed, so there is no reason to wait for their parked time.
  virtual void Wake(std::span<const std::string> delivery_ids) = 0;
};

}  // namespace fraiseql
