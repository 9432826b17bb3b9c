// The CheckpointStore contract, one parameterised suite every backend runs (memory here, the
// PostgreSQL one in postgres_checkpoint_store_test.cc), so the backends cannot drift apart.
// Thread-safety: test code; a backend fixture is used by one test at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_store.h"
#include "testing/contract.h"

namespace fraiseql::testing {

// A fresh, empty store for one test, and whatever it needs (a clock, a scratch database).
class CheckpointBackend {
 public:
  virtual ~CheckpointBackend() = default;
  virtual CheckpointStore& store() = 0;
};

class CheckpointStoreContract : public ContractTest<CheckpointBackend> {
 protected:
  CheckpointStore& store() { return backend().store(); }
};

}  // namespace fraiseql::testing
