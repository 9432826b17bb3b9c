#include "executor/memory_delivery_queue.h"

#include <thread>

#include <gtest/gtest.h>

#include "testing/event_builder.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;

Delivery MakeDelivery(const std::string& observer) {
  Delivery delivery;
  delivery.event = std::make_shared<EntityEvent>(testing::MakeOrderUpdate({}, nullptr));
  delivery.observer = observer;
  delivery.id = MakeDeliveryId(delivery.event->id, observer, 0);
  return delivery;
}

std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }

TEST(MemoryDeliveryQueueTest, ClaimsDueDeliveriesUpToMax) {
  FakeClock clock;
  MemoryDeliveryQueue queue(&clock);
  queue.Push({MakeDelivery("a"), MakeDelivery("b"), MakeDelivery("c")});
  std::vector<Delivery> claimed = queue.Claim(2, Now(), {});
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(queue.outstanding(), 3u);  // claimed ones are still outstanding
  queue.Complete(claimed[0]);
  queue.Complete(claimed[1]);
  EXPECT_EQ(queue.Claim(5, Now(), {}).size(), 1u);
}

TEST(MemoryDeliveryQueueTest, RescheduledDeliveryIsDueOnlyAtItsTime) {
  FakeClock clock;
  MemoryDeliveryQueue queue(&clock);
  queue.Push({MakeDelivery("a")});
  std::vector<Delivery> claimed = queue.Claim(1, Now(), {});
  ASSERT_EQ(claimed.size(), 1u);
  queue.Reschedule(std::move(claimed[0]), clock.Now() + 2s);
  EXPECT_TRUE(queue.Claim(1, Now(), {}).empty());
  clock.Advance(1999ms);
  EXPECT_TRUE(queue.Claim(1, Now(), {}).empty());
  clock.Advance(1ms);
  EXPECT_EQ(queue.Claim(1, Now(), {}).size(), 1u);
}

TEST(MemoryDeliveryQueueTest, WakeMakesAParkedDeliveryDueNow) {
  FakeClock clock;
  MemoryDeliveryQueue queue(&clock);
  Delivery parked = MakeDelivery("a");
  const std::string id = parked.id;
  queue.Push({parked});
  std::vector<Delivery> claimed = queue.Claim(1, Now(), {});
  queue.Reschedule(std::move(claimed[0]), clock.Now() + 1h);
  EXPECT_TRUE(queue.Claim(1, Now(), {}).empty());
  const std::string ids[] = {id, "not-there"};
  queue.Wake(ids);
  claimed = queue.Claim(1, Now(), {});
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
}

TEST(MemoryDeliveryQueueTest, ClaimReturnsWhenStopIsRequested) {
  FakeClock clock;
  MemoryDeliveryQueue queue(&clock);
  std::stop_source stop;
  std::jthread stopper([&] { stop.request_stop(); });
  EXPECT_TRUE(queue.Claim(1, Now() + 1h, stop.get_token()).empty());
}

TEST(MemoryDeliveryQueueTest, WaitUntilIdleSeesCompletion) {
  FakeClock clock;
  MemoryDeliveryQueue queue(&clock);
  queue.Push({MakeDelivery("a")});
  EXPECT_FALSE(queue.WaitUntilIdle(Now()));
  std::vector<Delivery> claimed = queue.Claim(1, Now(), {});
  std::jthread completer([&] { queue.Complete(claimed[0]); });
  EXPECT_TRUE(queue.WaitUntilIdle(Now() + 10s));
}

TEST(MemoryDeadLetterSinkTest, KeepsLettersInOrder) {
  MemoryDeadLetterSink sink;
  sink.Add(DeadLetter{MakeDelivery("a"), ActionType::kWebhook, "first"});
  sink.Add(DeadLetter{MakeDelivery("b"), ActionType::kEmail, "second"});
  ASSERT_EQ(sink.letters().size(), 2u);
  EXPECT_EQ(sink.letters()[1].reason, "second");
}

}  // namespace
}  // namespace fraiseql
