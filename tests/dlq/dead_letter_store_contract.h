// The DeadLetterStore contract (dlq/dead_letter_store.h), one parameterised suite every backend
// runs (memory_dead_letter_store_test.cc, postgres_dead_letter_store_test.cc).
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

// A fresh, empty store for one test, and the job queue its Retry re-drives into.
class DeadLetterBackend {
 public:
  virtual ~DeadLetterBackend() = default;
  virtual DeadLetterStore& store() = 0;
  virtual JobQueue& queue() = 0;
  // Queues deliveries, due now, as the backend's producer does.
  virtual void Enqueue(const std::vector<Delivery>& deliveries) = 0;
  // Deliveries queued: waiting or claimed.
  virtual size_t Queued() = 0;
};

// Every test starts with three dead letters, in this order: o1's Order delivery (action 1), o2's
// User delivery, and a pipeline failure (no delivery).
class DeadLetterStoreContract : public ContractTest<DeadLetterBackend> {
 protected:
  void SetUp() override;
  DeadLetterStore& store() { return backend().store(); }
  // The ids of the listed dead letters; a failure to list fails the test.
  std::vector<int64_t> List(const DeadLetterFilter& filter);
  std::vector<Delivery> ClaimAll();

  Delivery order_;
  Delivery user_;
  std::vector<int64_t> ids_;  // of the three, in arrival order
};

}  // namespace fraiseql::testing
