// The shape every contract suite shares: a parameterised gtest fixture whose parameter makes a
// fresh backend (memory, PostgreSQL...) for each test, named after it ("Postgres/..."), so one
// suite runs over every backend of a contract and they cannot drift apart.
// Thread-safety: test code; a backend is used by one test at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace fraiseql::testing {

template <typename Backend>
struct BackendFactory {
  std::string name;  // the test-name suffix: "Memory", "Postgres"
  std::function<std::unique_ptr<Backend>()> make;
};

template <typename BackendType>
class ContractTest : public ::testing::TestWithParam<BackendFactory<BackendType>> {
 public:
  using Backend = BackendType;

 protected:
  void SetUp() override { backend_ = this->GetParam().make(); }
  Backend& backend() { return *backend_; }

 private:
  std::unique_ptr<Backend> backend_;
};

template <typename Backend>
std::string BackendName(const ::testing::TestParamInfo<BackendFactory<Backend>>& info) {
  return info.param.name;
}

// Instantiates `Suite` (a ContractTest) for one backend class, named `Name`.
#define FRAISEQL_CONTRACT_BACKEND(Suite, Name, BackendClass)                                         \
  INSTANTIATE_TEST_SUITE_P(Name, Suite,                                                              \
                           ::testing::Values(::fraiseql::testing::BackendFactory<typename Suite::Backend>{ \
                               #Name, [] { return std::make_unique<BackendClass>(); }}),             \
                           ::fraiseql::testing::BackendName<typename Suite::Backend>)

}  // namespace fraiseql::testing
