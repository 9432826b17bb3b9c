// MemoryDeadLetterStore under the DeadLetterStore contract (re-driving into a MemoryJobQueue),
// plus what only it has: created_at from its clock, and no Retry without a queue to re-drive into.
#include "dlq/memory_dead_letter_store.h"

#include <chrono>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dead_letter_store_contract.h"
#include "queue/memory_job_queue.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;

class MemoryBackend final : public DeadLetterBackend {
 public:
  MemoryBackend() { store_.SetRedriveTarget(&queue_); }
  DeadLetterStore& store() override { return store_; }
  JobQueue& queue() override { return queue_; }
  void Enqueue(const std::vector<Delivery>& deliveries) override { queue_.Push(deliveries); }
  size_t Queued() override { return queue_.outstanding(); }

 private:
  MemoryDeadLetterStore store_{RealClock()};
  MemoryJobQueue queue_{RealClock(), store_};
};

FRAISEQL_CONTRACT_BACKEND(DeadLetterStoreContract, Memory, MemoryBackend);

TEST(MemoryDeadLetterStoreTest, StampsLettersWithItsClock) {
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::hours(500000)));
  MemoryDeadLetterStore store(clock);
  DeadLetter letter;
  letter.reason = "r";
  ASSERT_TRUE(store.Add({&letter, 1}));
  clock.Advance(1h);
  ASSERT_TRUE(store.Add({&letter, 1}));
  DeadLetterFilter since;
  since.since = clock.Now() - 30min;
  Result<std::vector<StoredDeadLetter>> recent = store.List(since);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].created_at, clock.Now());
}

TEST(MemoryDeadLetterStoreTest, RetryWithoutAQueueIsAFailedPrecondition) {
  MemoryDeadLetterStore store(RealClock());
  Result<RetryReport> report = store.Retry({}, false);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fraiseql::testing
