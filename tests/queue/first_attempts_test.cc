// FirstAttempts on a FakeClock: which outcomes a batch writes (done: nothing; given back: a job due
// at its run_at; dead: a dead letter; running at the seal: a held job), outcomes that arrive while
// the batch is written, abandoned batches and the orphans a re-read adopts.
#include "queue/first_attempts.h"

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "testing/delivery_builder.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using Kind = FirstAttemptOutcome::Kind;

std::vector<NewJob> Jobs(int first, int count) {
  std::vector<NewJob> jobs;
  for (int n = first; n < first + count; ++n) jobs.emplace_back(NewDelivery(NewEvent("Order", n), "obs"), 100 + n);
  return jobs;
}

FirstAttemptOutcome Done() { return FirstAttemptOutcome{}; }

FirstAttemptOutcome GivenBack(const Delivery& delivery, std::chrono::system_clock::time_point at) {
  return FirstAttemptOutcome{Kind::kGivenBack, delivery, at, std::nullopt};
}

FirstAttemptOutcome Dead(const std::string& reason) {
  DeadLetter letter;
  letter.reason = reason;
  return FirstAttemptOutcome{Kind::kDeadLettered, {}, {}, letter};
}

class FirstAttemptsTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FirstAttempts attempts_{clock_};
};

TEST_F(FirstAttemptsTest, EachOutcomeWritesWhatItNeedsAndRunningOnesBecomeHeldJobs) {
  const std::vector<NewJob> jobs = Jobs(1, 4);
  auto [batch, to_start] = attempts_.Start(jobs);
  ASSERT_EQ(to_start.size(), 4u);
  EXPECT_EQ(to_start[0].id, jobs[0].delivery.id);

  const auto retry_at = clock_.Now() + 30s;
  EXPECT_FALSE(attempts_.Report(jobs[0].delivery.id, Done()).has_value());
  EXPECT_FALSE(attempts_.Report(jobs[1].delivery.id, GivenBack(jobs[1].delivery, retry_at)).has_value());
  EXPECT_FALSE(attempts_.Report(jobs[2].delivery.id, Dead("HTTP 410")).has_value());
  // jobs[3] still runs when the deadline passes.
  EXPECT_FALSE(attempts_.WaitSettled(batch, clock_.SteadyNow(), 1h));

  FirstAttempts::ToWrite sealed = attempts_.Seal(batch);
  EXPECT_EQ(sealed.done, 1u);
  ASSERT_EQ(sealed.jobs.size(), 2u);
  EXPECT_EQ(sealed.jobs[0].delivery.id, jobs[1].delivery.id);
  EXPECT_EQ(sealed.jobs[0].run_at, retry_at);
  EXPECT_EQ(sealed.jobs[0].change_log_pk, 102);
  EXPECT_EQ(sealed.jobs[1].delivery.id, jobs[3].delivery.id);
  EXPECT_FALSE(sealed.jobs[1].run_at.has_value());  // held by this process
  ASSERT_EQ(sealed.dead_letters.size(), 1u);
  EXPECT_EQ(sealed.dead_letters[0].reason, "HTTP 410");

  // The running one finishes while the batch is being written: kept for Written.
  EXPECT_FALSE(attempts_.Report(jobs[3].delivery.id, Done()).has_value());
  const std::vector<FirstAttempts::Late> late = attempts_.Written(batch);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].delivery_id, jobs[3].delivery.id);
  EXPECT_EQ(late[0].outcome.kind, Kind::kDone);
  EXPECT_EQ(attempts_.size(), 0u);

  // From now on its reports are an ordinary job's: handed back to the caller.
  const std::optional<FirstAttemptOutcome> ordinary = attempts_.Report(jobs[3].delivery.id, Dead("later"));
  ASSERT_TRUE(ordinary.has_value());
  EXPECT_EQ(ordinary->kind, Kind::kDeadLettered);
}

TEST_F(FirstAttemptsTest, WaitSettledReturnsOnceEveryDeliveryHasAnOutcome) {
  const std::vector<NewJob> jobs = Jobs(1, 2);
  const FirstAttempts::BatchId batch = attempts_.Start(jobs).first;
  std::thread worker([&] {
    ASSERT_TRUE(clock_.AwaitWaiters(1));
    attempts_.Report(jobs[0].delivery.id, Done());
    attempts_.Report(jobs[1].delivery.id, Done());
  });
  // The deadline never comes on the fake clock: only the outcomes end the wait.
  EXPECT_TRUE(attempts_.WaitSettled(batch, clock_.SteadyNow() + 1h, 1h));
  worker.join();
  EXPECT_EQ(attempts_.Seal(batch).done, 2u);
}

// Outcomes stop coming (the rest wait on a slow destination): the wait ends after the quiet
// spell, long before the deadline, and what is left is written as running.
TEST_F(FirstAttemptsTest, WaitSettledEndsWhenOutcomesStopComing) {
  const std::vector<NewJob> jobs = Jobs(1, 3);
  const FirstAttempts::BatchId batch = attempts_.Start(jobs).first;
  bool settled = true;
  std::thread waiter([&] { settled = attempts_.WaitSettled(batch, clock_.SteadyNow() + 1h, 100ms); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(60ms);
  attempts_.Report(jobs[0].delivery.id, Done());  // progress: the quiet spell starts again
  clock_.Advance(60ms);                           // 120 ms since the start, 60 since the outcome
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(40ms);                           // 100 ms without an outcome
  waiter.join();
  EXPECT_FALSE(settled);
  FirstAttempts::ToWrite sealed = attempts_.Seal(batch);
  EXPECT_EQ(sealed.done, 1u);
  EXPECT_EQ(sealed.jobs.size(), 2u);
}

TEST_F(FirstAttemptsTest, AnEmptyBatchIsSettled) {
  const FirstAttempts::BatchId batch = attempts_.Start({}).first;
  EXPECT_TRUE(attempts_.WaitSettled(batch, clock_.SteadyNow(), 1h));
  EXPECT_TRUE(attempts_.Seal(batch).jobs.empty());
}

TEST_F(FirstAttemptsTest, AnAbandonedBatchDropsItsOutcomesAndARereadAdoptsItsRunningAttempts) {
  const std::vector<NewJob> jobs = Jobs(1, 3);
  const FirstAttempts::BatchId first = attempts_.Start(jobs).first;
  attempts_.Report(jobs[0].delivery.id, Done());
  attempts_.Seal(first);
  attempts_.Abandon(first);  // the commit failed: the batch is read again

  // jobs[1] finishes as an orphan: dropped (the re-read delivers it again).
  EXPECT_FALSE(attempts_.Report(jobs[1].delivery.id, Done()).has_value());

  // The re-read starts jobs[0] and jobs[1] again, and adopts jobs[2], still running.
  auto [second, to_start] = attempts_.Start(jobs);
  ASSERT_EQ(to_start.size(), 2u);
  EXPECT_EQ(to_start[0].id, jobs[0].delivery.id);
  EXPECT_EQ(to_start[1].id, jobs[1].delivery.id);
  EXPECT_FALSE(attempts_.WaitSettled(second, clock_.SteadyNow(), 1h));
  attempts_.Report(jobs[2].delivery.id, GivenBack(jobs[2].delivery, clock_.Now()));  // the adopted one's outcome
  attempts_.Report(jobs[0].delivery.id, Done());
  attempts_.Report(jobs[1].delivery.id, Done());
  EXPECT_TRUE(attempts_.WaitSettled(second, clock_.SteadyNow(), 1h));
  FirstAttempts::ToWrite sealed = attempts_.Seal(second);
  EXPECT_EQ(sealed.done, 2u);
  ASSERT_EQ(sealed.jobs.size(), 1u);
  EXPECT_EQ(sealed.jobs[0].delivery.id, jobs[2].delivery.id);
  EXPECT_TRUE(sealed.jobs[0].run_at.has_value());
}

TEST_F(FirstAttemptsTest, ADeliveryListedTwiceRunsOnce) {
  std::vector<NewJob> jobs = Jobs(1, 1);
  jobs.push_back(jobs[0]);
  auto [batch, to_start] = attempts_.Start(jobs);
  EXPECT_EQ(to_start.size(), 1u);
  attempts_.Report(jobs[0].delivery.id, Done());
  EXPECT_TRUE(attempts_.WaitSettled(batch, clock_.SteadyNow(), 1h));
}

TEST_F(FirstAttemptsTest, AWakeMakesAGivenBackDeliveryDueNow) {
  const std::vector<NewJob> jobs = Jobs(1, 1);
  const FirstAttempts::BatchId batch = attempts_.Start(jobs).first;
  attempts_.Report(jobs[0].delivery.id, GivenBack(jobs[0].delivery, clock_.Now() + 1h));
  const std::string id = jobs[0].delivery.id;
  attempts_.Wake(std::span(&id, 1), clock_.Now());
  FirstAttempts::ToWrite sealed = attempts_.Seal(batch);
  ASSERT_EQ(sealed.jobs.size(), 1u);
  EXPECT_EQ(sealed.jobs[0].run_at, clock_.Now());
}

TEST_F(FirstAttemptsTest, ContainsOnlyDeliveriesWithoutARowYet) {
  const std::vector<NewJob> jobs = Jobs(1, 1);
  const FirstAttempts::BatchId batch = attempts_.Start(jobs).first;
  EXPECT_TRUE(attempts_.Contains(jobs[0].delivery.id));
  attempts_.Seal(batch);
  attempts_.Written(batch);
  EXPECT_FALSE(attempts_.Contains(jobs[0].delivery.id));
}

}  // namespace
}  // namespace fraiseql::testing
