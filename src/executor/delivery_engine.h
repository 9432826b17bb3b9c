// DeliveryEngine: takes deliveries from a JobQueue and performs them through their actions,
// concurrently, under a global and a per-destination in-flight cap, with retries by the
// observer's policy, a circuit breaker per destination, and dead letters for what fails for good.
// Thread-safety: Start/Stop from one owning thread; everything else happens on the engine's
// dispatcher thread and on whichever threads actions complete on.
//
// How a delivery moves:
//   claimed -> waits for a slot of its destination (max_in_flight_per_target) -> breaker permit?
//     no permit (OPEN, or HALF_OPEN with every trial taken): parked, i.e. rescheduled for the
//       breaker's next probe time with its attempt count unchanged, releasing every slot; woken
//       early when the breaker closes.
//     permit: one attempt. success -> Complete. retryable with attempts left -> Reschedule after
//       Retry-After or the policy's backoff. permanent, or retryable with none left -> the
//       observer's on_failure: dlq (CompleteWithDeadLetter), log (warn line) or alert (error line
//       with the marker ALERT, then Complete).
// The global cap counts deliveries claimed and not yet finished or given back, so a backlog
// never grows memory beyond max_in_flight deliveries (guarantee 5).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "common/clock.h"
#include "config/sections.h"
#include "delivery/delivery.h"
#include "executor/action_table.h"
#include "queue/job_queue.h"

namespace fraiseql {

struct DeliveryEngineOptions {
  uint32_t max_in_flight = 256;            // [performance] max_in_flight
  uint32_t max_in_flight_per_target = 32;  // [performance] max_in_flight_per_target
  uint32_t claim_batch = 100;              // [job_queue] batch_size: one claim takes at most this many
  CircuitBreakerSettings circuit_breaker;  // [circuit_breaker]; an action's own settings win
  // How long one claim waits for due work before the dispatcher looks again.
  std::chrono::milliseconds claim_wait{200};
  uint64_t jitter_seed = 0x5eed;  // retry jitter is drawn from a Random seeded with this
  // Called once per delivery when it is finished, on the thread that finished it, before the
  // queue hears of it (so whoever waits for the queue to drain sees every call). Must not block.
  std::function<void(const Delivery&, FinalOutcome)> on_finished;
};

class DeliveryEngine {
 public:
  // Everything is borrowed and must outlive the engine and any attempt still running when
  // Stop() gave up waiting for it.
  DeliveryEngine(const ActionTable& actions, JobQueue& queue, Clock& clock, DeliveryEngineOptions options);
  ~DeliveryEngine();  // Stop(0ms) if still running
  DeliveryEngine(const DeliveryEngine&) = delete;
  DeliveryEngine& operator=(const DeliveryEngine&) = delete;

  // Starts the dispatcher thread. REQUIRES: not started before.
  void Start();

  // Graceful stop (guarantee 6): stops claiming, gives deliveries that have not started back to
  // the queue, and waits up to `timeout` for attempts in flight to finish. Returns how many were
  // still in flight; their results are dropped (a durable queue hands them out again once their
  // claim expires). Idempotent.
  size_t Stop(std::chrono::milliseconds timeout);

  // Attempts running right now.
  size_t in_flight() const;

 private:
  class Core;
  std::shared_ptr<Core> core_;  // shared with the completion callbacks of running attempts
  std::jthread dispatcher_;
};

}  // namespace fraiseql
