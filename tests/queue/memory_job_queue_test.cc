// MemoryJobQueue under the JobQueue contract, plus what only it has: its time is the injected
// clock (due times and waits move only with a FakeClock), and the waits its users build on.
#include "queue/memory_job_queue.h"

#include <chrono>
#include <memory>
#include <stop_token>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dlq/memory_dead_letter_store.h"
#include "job_queue_contract.h"
#include "testing/delivery_builder.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::SizeIs;

class MemoryBackend final : public JobQueueBackend {
 public:
  JobQueue& queue() override { return queue_; }
  void Enqueue(const std::vector<Delivery>& deliveries) override { queue_.Push(deliveries); }
  void Flush() override {}
  size_t Outstanding() override { return queue_.outstanding(); }
  std::vector<StoredDeadLetter> DeadLetters() override { return dead_letters_.List({}).value(); }

 private:
  MemoryDeadLetterStore dead_letters_{RealClock()};
  MemoryJobQueue queue_{RealClock(), dead_letters_};
};

FRAISEQL_CONTRACT_BACKEND(JobQueueContract, Memory, MemoryBackend);

// A queue on a FakeClock: nothing is due later unless the test moves time.
class FakeTimeQueue : public ::testing::Test {
 protected:
  std::chrono::steady_clock::time_point Now() { return clock_.SteadyNow(); }
  Delivery Make(int n) { return NewDelivery(NewEvent("Order", n), "obs"); }

  FakeClock clock_;
  MemoryDeadLetterStore dead_letters_{clock_};
  MemoryJobQueue queue_{clock_, dead_letters_};
};

TEST_F(FakeTimeQueue, ARescheduledDeliveryIsDueExactlyAtItsTime) {
  queue_.Push({Make(1)});
  std::vector<Delivery> claimed = queue_.Claim(1, Now(), {});
  ASSERT_THAT(claimed, SizeIs(1));
  queue_.Reschedule(std::move(claimed[0]), clock_.Now() + 2s);
  EXPECT_TRUE(queue_.Claim(1, Now(), {}).empty());
  clock_.Advance(1999ms);
  EXPECT_TRUE(queue_.Claim(1, Now(), {}).empty());
  clock_.Advance(1ms);
  EXPECT_THAT(queue_.Claim(1, Now(), {}), SizeIs(1));
}

TEST_F(FakeTimeQueue, AWaitingClaimWakesWhenTimeReachesTheDueDelivery) {
  queue_.Push({Make(1)});
  std::vector<Delivery> claimed = queue_.Claim(1, Now(), {});
  queue_.Reschedule(std::move(claimed[0]), clock_.Now() + 5s);
  std::vector<Delivery> woken;
  std::jthread claimer([&] { woken = queue_.Claim(1, Now() + 1h, {}); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(5s);
  claimer.join();
  EXPECT_THAT(woken, SizeIs(1));
}

TEST_F(FakeTimeQueue, AClaimWaitsUntilItsDeadlineOnTheClock) {
  bool done = false;
  std::jthread claimer([&] {
    EXPECT_TRUE(queue_.Claim(1, Now() + 10s, {}).empty());
    done = true;
  });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(10s);
  claimer.join();
  EXPECT_TRUE(done);
}

TEST_F(FakeTimeQueue, PushLeavesOutWhatIsQueuedAlready) {
  EXPECT_EQ(queue_.Push({Make(1), Make(2)}), 2u);
  std::vector<Delivery> claimed = queue_.Claim(1, Now(), {});
  EXPECT_EQ(queue_.Push({Make(1), Make(2), Make(3)}), 1u);  // one claimed, one waiting, one new
  EXPECT_EQ(queue_.outstanding(), 3u);
  EXPECT_TRUE(queue_.Contains(Make(1).id));
  EXPECT_FALSE(queue_.Contains(Make(4).id));
}

TEST_F(FakeTimeQueue, WaitUntilIdleSeesTheLastCompletion) {
  queue_.Push({Make(1)});
  EXPECT_FALSE(queue_.WaitUntilIdle(Now()));
  std::vector<Delivery> claimed = queue_.Claim(1, Now(), {});
  std::jthread completer([&] { queue_.Complete(claimed[0]); });
  EXPECT_TRUE(queue_.WaitUntilIdle(Now() + 1h));  // woken by the completion, not by time
}

TEST_F(FakeTimeQueue, WaitUntilWaitingBelowIsBackpressure) {
  queue_.Push({Make(1), Make(2)});
  EXPECT_FALSE(queue_.WaitUntilWaitingBelow(2, Now(), {}));  // full, deadline passed
  EXPECT_TRUE(queue_.WaitUntilWaitingBelow(3, Now(), {}));

  bool room = false;
  std::jthread waiter([&] { room = queue_.WaitUntilWaitingBelow(2, Now() + 1h, {}); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_THAT(queue_.Claim(1, Now(), {}), SizeIs(1));  // a claim makes room
  waiter.join();
  EXPECT_TRUE(room);

  std::stop_source stop;
  queue_.Push({Make(3)});
  bool stopped_with_room = true;
  std::jthread stopped([&] { stopped_with_room = queue_.WaitUntilWaitingBelow(2, Now() + 1h, stop.get_token()); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  stop.request_stop();
  stopped.join();
  EXPECT_FALSE(stopped_with_room);
}

}  // namespace
}  // namespace fraiseql::testing
