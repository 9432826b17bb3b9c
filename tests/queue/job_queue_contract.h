// The JobQueue contract (queue/job_queue.h), one parameterised suite every backend runs (memory in
// memory_job_queue_test.cc, PostgreSQL in postgres_job_queue_test.cc), so they cannot drift apart.
// Thread-safety: test code; a backend fixture is used by one test at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dlq/dead_letter_store.h"
#include "queue/job_queue.h"
#include "testing/contract.h"

namespace fraiseql::testing {

// A fresh, empty queue for one test, with what the contract needs around it.
class JobQueueBackend {
 public:
  virtual ~JobQueueBackend() = default;
  virtual JobQueue& queue() = 0;
  // Adds deliveries, due now, the way the backend's producer does (the PostgreSQL listener's
  // insert in a transaction; MemoryJobQueue::Push). A delivery already queued is left alone.
  virtual void Enqueue(const std::vector<Delivery>& deliveries) = 0;
  // Makes every buffered write of the queue visible (PostgreSQL's write-behind); REQUIRES success.
  virtual void Flush() = 0;
  // Deliveries queued: waiting or claimed.
  virtual size_t Outstanding() = 0;
  // The dead letters stored so far, in arrival order.
  virtual std::vector<StoredDeadLetter> DeadLetters() = 0;
};

class JobQueueContract : public ContractTest<JobQueueBackend> {
 protected:
  JobQueue& queue() { return backend().queue(); }
};

}  // namespace fraiseql::testing
