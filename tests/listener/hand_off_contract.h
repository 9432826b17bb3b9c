// The HandOff contract (listener/hand_off.h), one parameterised suite every backend runs (memory
// in listener_loop_test.cc's binary, PostgreSQL in listener_test.cc's).
// Thread-safety: test code; a backend fixture is used by one test at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dlq/dead_letter_store.h"
#include "listener/hand_off.h"
#include "listener/lease.h"
#include "testing/contract.h"

namespace fraiseql::testing {

// A fresh backend whose workers have room for exactly kHandOffRoom deliveries.
inline constexpr size_t kHandOffRoom = 2;

class HandOffBackend {
 public:
  virtual ~HandOffBackend() = default;
  virtual HandOff& hand_off() = 0;
  virtual LeaseStore& leases() = 0;
  // Deliveries queued (the jobs committed and not finished).
  virtual size_t Queued() = 0;
  // The dead letters kept so far, in arrival order.
  virtual std::vector<StoredDeadLetter> DeadLetters() = 0;
  // Takes up to `max` handed-over deliveries, as a worker would, freeing room.
  virtual std::vector<Delivery> Take(size_t max) = 0;
};

class HandOffContract : public ContractTest<HandOffBackend> {
 protected:
  HandOff& hand_off() { return backend().hand_off(); }
};

}  // namespace fraiseql::testing
