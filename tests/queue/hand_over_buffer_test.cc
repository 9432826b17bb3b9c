// HandOverBuffer on a FakeClock: bounded room, a producer's wait that ends with room, its
// deadline or a stop, and never a real sleep.
#include "queue/hand_over_buffer.h"

#include <chrono>
#include <stop_token>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/delivery_builder.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::SizeIs;

class HandOverBufferTest : public ::testing::Test {
 protected:
  std::vector<Delivery> Make(int first, int count) {
    std::vector<Delivery> out;
    for (int n = first; n < first + count; ++n) out.push_back(NewDelivery(NewEvent("Order", n), "obs"));
    return out;
  }
  std::chrono::steady_clock::time_point Now() { return clock_.SteadyNow(); }

  FakeClock clock_;
  HandOverBuffer buffer_{3, clock_};
};

TEST_F(HandOverBufferTest, TakesOldestFirstAndCountsRoom) {
  EXPECT_EQ(buffer_.Room(), 3u);
  const std::vector<Delivery> pushed = Make(1, 2);
  buffer_.Push(pushed);
  EXPECT_EQ(buffer_.Room(), 1u);
  std::vector<Delivery> taken = buffer_.Take(1);
  ASSERT_THAT(taken, SizeIs(1));
  EXPECT_EQ(taken[0].id, pushed[0].id);
  EXPECT_EQ(buffer_.size(), 1u);
  EXPECT_THAT(buffer_.TakeAll(), SizeIs(1));
  EXPECT_TRUE(buffer_.empty());
}

TEST_F(HandOverBufferTest, PushGoesPastTheCapacityButRoomIsThenZero) {
  buffer_.Push(Make(1, 5));  // committed jobs are never refused
  EXPECT_EQ(buffer_.size(), 5u);
  EXPECT_EQ(buffer_.Room(), 0u);
}

TEST_F(HandOverBufferTest, AWaitForRoomEndsWhenATakeMakesRoom) {
  buffer_.Push(Make(1, 3));
  EXPECT_FALSE(buffer_.WaitForRoom(Now(), {}));  // full, and the deadline has passed
  bool room = false;
  std::jthread producer([&] { room = buffer_.WaitForRoom(Now() + 1h, {}); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_THAT(buffer_.Take(1), SizeIs(1));
  producer.join();
  EXPECT_TRUE(room);
}

TEST_F(HandOverBufferTest, AWaitForRoomEndsAtItsDeadlineOnTheClock) {
  buffer_.Push(Make(1, 3));
  bool room = true;
  std::jthread producer([&] { room = buffer_.WaitForRoom(Now() + 5s, {}); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(4999ms);  // not yet: the producer still waits
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(1ms);
  producer.join();
  EXPECT_FALSE(room);
}

TEST_F(HandOverBufferTest, AWaitForRoomEndsWhenStopIsRequested) {
  buffer_.Push(Make(1, 3));
  std::stop_source stop;
  bool room = true;
  std::jthread producer([&] { room = buffer_.WaitForRoom(Now() + 1h, stop.get_token()); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  stop.request_stop();
  producer.join();
  EXPECT_FALSE(room);
  EXPECT_FALSE(buffer_.WaitForRoom(Now() + 1h, stop.get_token()));  // and later waits end at once
}

}  // namespace
}  // namespace fraiseql::testing
