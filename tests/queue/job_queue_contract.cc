// The JobQueue contract (queue/job_queue.h), run by every backend.
#include "job_queue_contract.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <stop_token>
#include <thread>

#include <gmock/gmock.h>

#include "testing/delivery_builder.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Every wait for something that should happen is bounded by this; waits for something that
// should not happen are short.
constexpr std::chrono::milliseconds kWait{10'000};
constexpr std::chrono::milliseconds kBrief{150};

std::vector<Delivery> Deliveries(int first, int count) {
  std::vector<Delivery> out;
  for (int n = first; n < first + count; ++n) out.push_back(NewDelivery(NewEvent("Order", n), "obs"));
  return out;
}

std::set<std::string> Ids(const std::vector<Delivery>& deliveries) {
  std::set<std::string> ids;
  for (const Delivery& delivery : deliveries) ids.insert(delivery.id);
  return ids;
}

std::vector<Delivery> ClaimWithin(JobQueue& queue, size_t max, std::chrono::milliseconds wait) {
  return queue.Claim(max, std::chrono::steady_clock::now() + wait, std::stop_token());
}

// Claims until `count` deliveries arrived or kWait passed.
std::vector<Delivery> ClaimCount(JobQueue& queue, size_t count) {
  std::vector<Delivery> all;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
    for (Delivery& delivery : queue.Claim(count - all.size(), deadline, std::stop_token())) {
      all.push_back(std::move(delivery));
    }
  }
  return all;
}

TEST_P(JobQueueContract, ClaimsDueDeliveriesUpToMaxAndEachOnlyOnce) {
  const std::vector<Delivery> queued = Deliveries(1, 5);
  backend().Enqueue(queued);
  std::vector<Delivery> first = ClaimCount(queue(), 3);
  ASSERT_THAT(first, SizeIs(3));
  std::vector<Delivery> rest = ClaimCount(queue(), 2);
  ASSERT_THAT(rest, SizeIs(2));
  EXPECT_TRUE(ClaimWithin(queue(), 10, kBrief).empty());  // all five are claimed
  first.insert(first.end(), rest.begin(), rest.end());
  EXPECT_EQ(Ids(first), Ids(queued));
  EXPECT_EQ(backend().Outstanding(), 5u);

  // What comes back is what went in.
  const auto same = std::find_if(first.begin(), first.end(), [&](const Delivery& d) { return d.id == queued[0].id; });
  ASSERT_NE(same, first.end());
  ASSERT_NE(same->event, nullptr);
  EXPECT_EQ(*same->event, *queued[0].event);
  EXPECT_EQ(same->observer, "obs");
  EXPECT_EQ(same->action_index, 0u);
  EXPECT_TRUE(same->attempts.empty());
}

TEST_P(JobQueueContract, EnqueueingAQueuedDeliveryAgainAddsNothing) {
  backend().Enqueue(Deliveries(1, 2));
  backend().Enqueue(Deliveries(1, 3));  // a replayed batch after a crash, one more row
  EXPECT_EQ(backend().Outstanding(), 3u);
  EXPECT_THAT(ClaimCount(queue(), 3), SizeIs(3));
}

TEST_P(JobQueueContract, ClaimReturnsAtTheDeadlineOrOnStopWhenNothingIsDue) {
  EXPECT_TRUE(ClaimWithin(queue(), 10, kBrief).empty());
  // Whether the stop comes before or during the wait, Claim returns long before its deadline.
  std::stop_source stop;
  std::jthread stopper([&] { stop.request_stop(); });
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(queue().Claim(10, std::chrono::steady_clock::now() + 10min, stop.get_token()).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1min);
}

TEST_P(JobQueueContract, CompleteRemovesTheDelivery) {
  backend().Enqueue(Deliveries(1, 3));
  std::vector<Delivery> claimed = ClaimCount(queue(), 3);
  ASSERT_THAT(claimed, SizeIs(3));
  queue().Complete(claimed[0]);
  queue().Complete(claimed[2]);
  backend().Flush();
  EXPECT_EQ(backend().Outstanding(), 1u);
  EXPECT_TRUE(backend().DeadLetters().empty());
}

TEST_P(JobQueueContract, RescheduleKeepsTheAttemptsAndMakesItDueAtRunAt) {
  backend().Enqueue(Deliveries(1, 2));
  std::vector<Delivery> claimed = ClaimCount(queue(), 2);
  ASSERT_THAT(claimed, SizeIs(2));
  for (Delivery& delivery : claimed) {
    delivery.attempts = {NewAttempt(503, "HTTP 503 (retryable)", 1), NewAttempt(502, "HTTP 502 (retryable)", 2)};
  }
  const auto now = std::chrono::system_clock::now();
  queue().Reschedule(claimed[0], now + 1h);     // a retry far off
  queue().Reschedule(claimed[1], now - 1s);     // due already
  backend().Flush();
  EXPECT_EQ(backend().Outstanding(), 2u);
  std::vector<Delivery> again = ClaimCount(queue(), 1);
  ASSERT_THAT(again, SizeIs(1));
  EXPECT_EQ(again[0].id, claimed[1].id);
  EXPECT_EQ(again[0].attempts, claimed[1].attempts);
  EXPECT_TRUE(ClaimWithin(queue(), 10, kBrief).empty());  // the other is not due for an hour
}

TEST_P(JobQueueContract, WakeMakesARescheduledDeliveryDueNow) {
  backend().Enqueue(Deliveries(1, 2));
  std::vector<Delivery> claimed = ClaimCount(queue(), 2);
  ASSERT_THAT(claimed, SizeIs(2));
  claimed[0].attempts = {NewAttempt(503, "HTTP 503 (retryable)", 1)};
  // One parked and written, then woken; the other woken before its park may have been written.
  queue().Reschedule(claimed[0], std::chrono::system_clock::now() + 1h);
  backend().Flush();
  EXPECT_TRUE(ClaimWithin(queue(), 10, kBrief).empty());
  queue().Reschedule(claimed[1], std::chrono::system_clock::now() + 1h);
  const std::vector<std::string> ids = {claimed[0].id, claimed[1].id, NewDelivery(NewEvent("Order", 99), "x").id};
  queue().Wake(ids);
  std::vector<Delivery> again = ClaimCount(queue(), 2);
  EXPECT_EQ(Ids(again), Ids(claimed));
  for (const Delivery& delivery : again) {
    if (delivery.id == claimed[0].id) {
      EXPECT_EQ(delivery.attempts, claimed[0].attempts);
    }
  }
  EXPECT_EQ(backend().Outstanding(), 2u);  // the unknown id added nothing
}

TEST_P(JobQueueContract, WakeLeavesAClaimedDeliveryAlone) {
  backend().Enqueue(Deliveries(1, 1));
  std::vector<Delivery> claimed = ClaimCount(queue(), 1);
  ASSERT_THAT(claimed, SizeIs(1));
  const std::vector<std::string> ids = {claimed[0].id};
  queue().Wake(ids);
  backend().Flush();
  EXPECT_TRUE(ClaimWithin(queue(), 10, kBrief).empty());
}

TEST_P(JobQueueContract, CompleteWithDeadLetterKeepsTheLetterAndRemovesTheDelivery) {
  backend().Enqueue(Deliveries(1, 2));
  std::vector<Delivery> claimed = ClaimCount(queue(), 2);
  ASSERT_THAT(claimed, SizeIs(2));
  Delivery delivery = claimed[0];
  delivery.attempts = {NewAttempt(503, "HTTP 503 (retryable)", 1), NewAttempt(400, "HTTP 400 Bad Request", 2)};
  queue().CompleteWithDeadLetter(delivery, DeadLetterOf(delivery, "webhook", "HTTP 400 Bad Request"));
  backend().Flush();
  EXPECT_EQ(backend().Outstanding(), 1u);
  const std::vector<StoredDeadLetter> letters = backend().DeadLetters();
  ASSERT_THAT(letters, SizeIs(1));
  const DeadLetter& letter = letters[0].letter;
  EXPECT_EQ(letter.delivery_id, delivery.id);
  EXPECT_EQ(letter.observer, "obs");
  EXPECT_EQ(letter.action_index, 0u);
  EXPECT_EQ(letter.action_type, "webhook");
  EXPECT_EQ(letter.entity_type, "Order");
  EXPECT_EQ(letter.reason, "HTTP 400 Bad Request");
  EXPECT_EQ(letter.attempts, delivery.attempts);
  ASSERT_TRUE(letter.event);
  EXPECT_EQ((*letter.event)["id"], delivery.event->id);
  EXPECT_TRUE(letter.redrivable());
}

TEST_P(JobQueueContract, ConcurrentClaimersNeverGetTheSameDelivery) {
  constexpr int kCount = 200;
  backend().Enqueue(Deliveries(1, kCount));
  std::vector<Delivery> got[2];
  {
    std::jthread claimers[2];
    for (int t = 0; t < 2; ++t) {
      claimers[t] = std::jthread([&, t] {
        for (;;) {
          std::vector<Delivery> batch = ClaimWithin(queue(), 7, kBrief);
          if (batch.empty()) return;
          for (Delivery& delivery : batch) got[t].push_back(std::move(delivery));
        }
      });
    }
  }
  std::set<std::string> all = Ids(got[0]);
  for (const Delivery& delivery : got[1]) EXPECT_TRUE(all.insert(delivery.id).second) << delivery.id << " twice";
  EXPECT_EQ(all.size(), static_cast<size_t>(kCount));
}

}  // namespace
}  // namespace fraiseql::testing
