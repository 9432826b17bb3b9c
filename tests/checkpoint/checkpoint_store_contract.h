// The CheckpointStore contract, one parameterised suite every backend runs (memory here, the
// PostgreSQL one in postgres_checkpoint_store_test.cc), so the backends cannot drift apart.
// Thread-safety: test code; a backend fixture is used by one test at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_store.h"

namespace fraiseql::testing {

// A fresh, empty store for one test, and whatever it needs (a clock, a scratch database).
class CheckpointBackend {
 public:
  virtual ~CheckpointBackend() = default;
  virtual CheckpointStore& store() = 0;
};

struct CheckpointBackendFactory {
  std::string name;  // the test-name suffix: "Memory", "Postgres"
  std::function<std::unique_ptr<CheckpointBackend>()> make;
};

class CheckpointStoreContract : public ::testing::TestWithParam<CheckpointBackendFactory> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }
  CheckpointStore& store() { return backend_->store(); }

 private:
  std::unique_ptr<CheckpointBackend> backend_;
};

inline std::string BackendName(const ::testing::TestParamInfo<CheckpointBackendFactory>& info) {
  return info.param.name;
}

}  // namespace fraiseql::testing
