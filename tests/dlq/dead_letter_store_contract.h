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

struct DeadLetterBackendFactory {
  std::string name;  // the test-name suffix: "Memory", "Postgres"
  std::function<std::unique_ptr<DeadLetterBackend>()> make;
};

// Every test starts with three dead letters, in this order: o1's Order delivery (action 1), o2's
// User delivery, and a pipeline failure (no delivery).
class DeadLetterStoreContract : public ::testing::TestWithParam<DeadLetterBackendFactory> {
 protected:
  void SetUp() override;
  DeadLetterBackend& backend() { return *backend_; }
  DeadLetterStore& store() { return backend_->store(); }
  // The ids of the listed dead letters; a failure to list fails the test.
  std::vector<int64_t> List(const DeadLetterFilter& filter);
  std::vector<Delivery> ClaimAll();

  Delivery order_;
  Delivery user_;
  std::vector<int64_t> ids_;  // of the three, in arrival order

 private:
  std::unique_ptr<DeadLetterBackend> backend_;
};

inline std::string DeadLetterBackendName(const ::testing::TestParamInfo<DeadLetterBackendFactory>& info) {
  return info.param.name;
}

}  // namespace fraiseql::testing
