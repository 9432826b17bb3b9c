// DeliverySource and DeadLetterSink: where the delivery engine takes its work from and where it
// puts what failed for good. memory_delivery_queue.h implements both in memory; the durable
// PostgreSQL queue and dead-letter store (issue 4) implement the same contracts.
// Thread-safety: implementations must accept calls from any thread, concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "config/config.h"
#include "executor/delivery.h"

namespace fraiseql {

class DeliverySource {
 public:
  DeliverySource() = default;
  virtual ~DeliverySource() = default;
  DeliverySource(const DeliverySource&) = delete;
  DeliverySource& operator=(const DeliverySource&) = delete;

  // Up to `max` deliveries that are due now, claimed for this engine: nobody else gets them until
  // they are completed or rescheduled. Blocks until at least one is due, `deadline` passes or
  // `stop` is requested; may return fewer than `max`, or none.
  virtual std::vector<Delivery> Claim(size_t max, std::chrono::steady_clock::time_point deadline,
                                      std::stop_token stop) = 0;

  // The delivery is finished (succeeded, dead-lettered or logged): remove it.
  virtual void Complete(const Delivery& delivery) = 0;

  // Give the delivery back, due at `run_at` (wall time): a retry (its attempts include the
  // failed one) or a park on an open circuit breaker (attempts unchanged).
  virtual void Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) = 0;

  // Makes the named rescheduled deliveries due now, if they are still waiting: the breaker of
  // their destination closed, so there is no reason to wait for their parked time.
  virtual void Wake(std::span<const std::string> delivery_ids) = 0;
};

// A delivery that failed for good, with everything an operator needs to act on it.
struct DeadLetter {
  Delivery delivery;  // its attempts hold every try's time, outcome, status, error, duration
  ActionType action_type = ActionType::kLog;
  std::string reason;  // the last attempt's error, or why no attempt could be made
};

class DeadLetterSink {
 public:
  DeadLetterSink() = default;
  virtual ~DeadLetterSink() = default;
  DeadLetterSink(const DeadLetterSink&) = delete;
  DeadLetterSink& operator=(const DeadLetterSink&) = delete;

  // Stores the dead letter durably (or, in memory, for the process's lifetime). The engine calls
  // it before DeliverySource::Complete() for the same delivery, so a backend that implements both
  // can make the two one transaction, and one that crashes in between replays, never loses.
  virtual void Add(DeadLetter letter) = 0;
};

}  // namespace fraiseql
