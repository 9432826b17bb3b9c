// The LeaseStore contract (listener/lease.h), one parameterised suite every backend runs
// (memory in listener_loop_test.cc's binary, PostgreSQL in listener_parts_test.cc).
// Thread-safety: test code; a backend fixture is used by one test at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "listener/lease.h"
#include "testing/contract.h"

namespace fraiseql::testing {

class LeaseBackend {
 public:
  virtual ~LeaseBackend() = default;
  virtual LeaseStore& leases() = 0;
  // Makes the current lease of `listener_id` expire, as time passing would.
  virtual void Expire(std::string_view listener_id) = 0;
};

class LeaseStoreContract : public ContractTest<LeaseBackend> {
 protected:
  LeaseStore& leases() { return backend().leases(); }
};

}  // namespace fraiseql::testing
