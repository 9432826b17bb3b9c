// WriteBehind: the flusher's timing as a pure function (NextFlusherStep), and the flusher thread
// on a FakeClock with a scripted writer (a fake for pure logic: the SQL it drives is tested
// against PostgreSQL in postgres_job_queue_test.cc). No test sleeps: time moves only by Advance.
#include "queue/write_behind.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/delivery_builder.h"
#include "testing/poll.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using SteadyTime = std::chrono::steady_clock::time_point;

// ---- NextFlusherStep ----

const SteadyTime kT0{1h};

FlusherState Idle() {
  FlusherState state;
  state.next_extend = kT0 + 10s;
  state.next_stats = kT0 + 5s;
  return state;
}

FlusherTiming Timing() {
  FlusherTiming timing;
  timing.flush_interval = 5ms;
  timing.flush_batch = 100;
  return timing;
}

TEST(NextFlusherStepTest, IdleSleepsUntilTheNextPeriodicTask) {
  const FlusherStep step = NextFlusherStep(Idle(), kT0, Timing());
  EXPECT_FALSE(step.acts());
  EXPECT_EQ(step.wake_at, kT0 + 5s);
}

TEST(NextFlusherStepTest, APendingWriteWaitsForTheFlushIntervalThenIsWritten) {
  FlusherState state = Idle();
  state.pending = 1;
  state.pending_since = kT0;
  FlusherStep step = NextFlusherStep(state, kT0 + 4ms, Timing());
  EXPECT_FALSE(step.write);
  EXPECT_EQ(step.wake_at, kT0 + 5ms);
  step = NextFlusherStep(state, kT0 + 5ms, Timing());
  EXPECT_TRUE(step.write);
}

TEST(NextFlusherStepTest, AFullBatchOrAFlushRequestIsWrittenAtOnce) {
  FlusherState state = Idle();
  state.pending = 100;
  state.pending_since = kT0;
  EXPECT_TRUE(NextFlusherStep(state, kT0, Timing()).write);
  state.pending = 1;
  state.flush_requested = true;
  EXPECT_TRUE(NextFlusherStep(state, kT0, Timing()).write);
}

TEST(NextFlusherStepTest, ACarriedBatchWaitsForItsRetryWhateverIsPending) {
  FlusherState state = Idle();
  state.carrying = true;
  state.retry_at = kT0 + 200ms;
  state.pending = 1000;  // newer writes wait behind the carried batch
  state.pending_since = kT0 - 1s;
  state.flush_requested = true;
  FlusherStep step = NextFlusherStep(state, kT0 + 100ms, Timing());
  EXPECT_FALSE(step.write);
  EXPECT_EQ(step.wake_at, kT0 + 200ms);
  EXPECT_TRUE(NextFlusherStep(state, kT0 + 200ms, Timing()).write);
}

TEST(NextFlusherStepTest, ExtensionsAndStatsRunWhenDueButNotWhileStopping) {
  FlusherState state = Idle();
  FlusherStep step = NextFlusherStep(state, kT0 + 10s, Timing());
  EXPECT_TRUE(step.extend);
  EXPECT_TRUE(step.stats);
  state.stopping = true;
  state.pending = 1;
  state.give_up_at = kT0 + 30s;
  step = NextFlusherStep(state, kT0 + 10s, Timing());
  EXPECT_FALSE(step.extend);
  EXPECT_FALSE(step.stats);
  EXPECT_TRUE(step.write);  // stopping writes what is pending at once
}

TEST(NextFlusherStepTest, StoppingExitsWhenNothingIsLeftOrGivesUpAtTheDeadline) {
  FlusherState state = Idle();
  state.stopping = true;
  state.give_up_at = kT0 + 1s;
  EXPECT_TRUE(NextFlusherStep(state, kT0, Timing()).exit);
  state.carrying = true;
  state.retry_at = kT0 + 5s;
  FlusherStep step = NextFlusherStep(state, kT0, Timing());
  EXPECT_FALSE(step.acts());
  EXPECT_EQ(step.wake_at, kT0 + 1s);
  EXPECT_TRUE(NextFlusherStep(state, kT0 + 1s, Timing()).give_up);
}

// ---- PendingWrites ----

TEST(PendingWritesTest, TheLaterOpForADeliveryWinsAndAWakeBringsAnUnwrittenRescheduleForward) {
  const auto now = std::chrono::system_clock::time_point{std::chrono::hours(500000)};
  PendingWrites writes;
  writes.AddOp("a", RescheduleWrite{now + 1h, 1, nlohmann::json::array(), std::nullopt});
  writes.AddWake("a", now);
  ASSERT_TRUE(writes.ops.at("a").has_value());
  EXPECT_EQ(writes.ops.at("a")->run_at, now);  // woken before it was even written
  EXPECT_TRUE(writes.wakes.empty());
  writes.AddWake("b", now);
  writes.AddOp("b", std::nullopt);  // completed after all: the wake is moot
  EXPECT_TRUE(writes.wakes.empty());
  EXPECT_EQ(writes.size(), 2u);
}

// ---- the flusher thread ----

// Records every write and answers from a script (default: success).
class ScriptedWriter {
 public:
  struct Call {
    PendingWrites writes;
    std::vector<std::string> extend;
  };

  WriteBehind::Writer AsWriter() {
    return [this](const PendingWrites& writes, std::span<const std::string> extend) -> Result<WriteCounts> {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({writes, std::vector<std::string>(extend.begin(), extend.end())});
      if (!script_.empty()) {
        std::optional<Error> error = script_.front();
        script_.pop_front();
        if (error) return *error;
      }
      return WriteCounts{writes.dead_letters.size(), writes.ops.size(), 0, writes.wakes.size(), extend.size()};
    };
  }
  void Script(std::vector<std::optional<Error>> results) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.assign(results.begin(), results.end());
  }
  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  size_t count() { return calls().size(); }

 private:
  std::mutex mu_;
  std::deque<std::optional<Error>> script_;
  std::vector<Call> calls_;
};

WriteBehind::Options FlusherOptions() {
  WriteBehind::Options options;
  options.timing.flush_interval = 5ms;
  options.timing.flush_batch = 3;
  options.lock_timeout = 60s;      // extensions due 20 s after a lock, checked every 10 s
  options.stats_interval = 1h;     // out of the way
  options.max_backoff = 400ms;
  options.shutdown_timeout = 2s;
  return options;
}

class WriteBehindTest : public ::testing::Test {
 protected:
  // The flusher waits on the clock with nothing to do: whatever the test does next is what wakes it.
  void AwaitFlusherIdle() { ASSERT_TRUE(clock_.AwaitWaiters(1)); }

  FakeClock clock_;
  ScriptedWriter writer_;
  std::optional<WriteBehind> writes_;

  void Start(WriteBehind::Options options = FlusherOptions()) {
    writes_.emplace(options, clock_, writer_.AsWriter(), nullptr, nullptr);
    AwaitFlusherIdle();
  }
};

TEST_F(WriteBehindTest, AWriteWaitsForTheFlushIntervalOnTheClock) {
  Start();
  writes_->Complete("a");
  AwaitFlusherIdle();  // woken by the first write of a batch, it sleeps the flush interval
  EXPECT_EQ(writer_.count(), 0u);
  clock_.Advance(4ms);
  AwaitFlusherIdle();
  EXPECT_EQ(writer_.count(), 0u);
  clock_.Advance(1ms);
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 1; }));
  EXPECT_THAT(writer_.calls()[0].writes.ops, SizeIs(1));
  EXPECT_EQ(writes_->pending(), 0u);
}

TEST_F(WriteBehindTest, AFullBatchIsWrittenWithoutWaiting) {
  Start();
  writes_->Complete("a");
  writes_->Complete("b");
  writes_->Complete("c");  // flush_batch
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 1; }));
  EXPECT_THAT(writer_.calls()[0].writes.ops, SizeIs(3));
}

TEST_F(WriteBehindTest, ADeadLetterAndTheJobsDeleteGoInOneWrite) {
  Start();
  Delivery delivery = NewDelivery(NewEvent("Order", 1), "obs");
  writes_->Hold(std::vector<std::string>{delivery.id}, clock_.SteadyNow());
  EXPECT_EQ(writes_->held(), 1u);
  writes_->AddDeadLetter(DeadLetterOf(delivery, "webhook", "HTTP 400"));
  EXPECT_EQ(writes_->held(), 0u);
  ASSERT_TRUE(writes_->Flush(1h));  // a flush request writes at once, whatever the interval
  const std::vector<ScriptedWriter::Call> calls = writer_.calls();
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_THAT(calls[0].writes.dead_letters, SizeIs(1));
  ASSERT_TRUE(calls[0].writes.ops.contains(delivery.id));
  EXPECT_FALSE(calls[0].writes.ops.at(delivery.id).has_value());  // the delete
}

TEST_F(WriteBehindTest, AFailedWriteIsRetriedAtOnceThenWithBackoffAndNothingIsLost) {
  Start();
  writer_.Script({Error::Unavailable("connection lost"), Error::Unavailable("still down"), std::nullopt});
  writes_->Complete("a");
  writes_->Complete("b");
  writes_->Complete("c");
  // The first retry is immediate (a broken connection is simply replaced).
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 2; }));
  AwaitFlusherIdle();
  writes_->Complete("d");  // newer writes wait behind the carried batch
  AwaitFlusherIdle();
  EXPECT_EQ(writer_.count(), 2u);
  clock_.Advance(49ms);
  AwaitFlusherIdle();
  EXPECT_EQ(writer_.count(), 2u);
  clock_.Advance(1ms);  // the first backoff: 50 ms
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 3; }));
  // The retried batch carries everything, the newer write merged in.
  EXPECT_THAT(writer_.calls()[2].writes.ops, SizeIs(4));
  ASSERT_TRUE(writes_->Flush(1s));
}

TEST_F(WriteBehindTest, FlushTimesOutOnTheClockWithTheLastErrorAndKeepsTheWrites) {
  Start();
  writer_.Script({Error::Unavailable("down"), Error::Unavailable("down"), Error::Unavailable("down")});
  writes_->Complete("a");
  Result<void> flushed = Error::Internal("not run");
  std::jthread flusher([&] { flushed = writes_->Flush(100ms); });
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 2; }));  // the write and its immediate retry
  ASSERT_TRUE(clock_.AwaitWaiters(2));                            // the flusher and the Flush() caller
  clock_.Advance(100ms);
  flusher.join();
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(flushed.error().message, ::testing::HasSubstr("down"));
  writer_.Script({});
  clock_.Advance(1s);  // past the next backoff: written after all
  ASSERT_TRUE(PollUntil([&] { return writer_.calls().back().writes.ops.contains("a") && writes_->Flush(0ms); }));
}

TEST_F(WriteBehindTest, ARefusedBatchIsWrittenPartByPartAndOnlyTheRefusedPartIsDropped) {
  Start();
  writer_.Script({Error::InvalidArgument("22P02: bad value"), std::nullopt, Error::InvalidArgument("bad again"),
                  std::nullopt});
  writes_->Complete("a");
  writes_->Complete("b");
  writes_->Complete("c");
  ASSERT_TRUE(writes_->Flush(1s));
  const std::vector<ScriptedWriter::Call> calls = writer_.calls();
  ASSERT_THAT(calls, SizeIs(4));  // the batch, then each of its three parts alone
  for (size_t i = 1; i < 4; ++i) EXPECT_THAT(calls[i].writes.ops, SizeIs(1));
}

TEST_F(WriteBehindTest, LocksHeldForAThirdOfTheTimeoutAreExtended) {
  Start();
  writes_->Hold(std::vector<std::string>{"a", "b"}, clock_.SteadyNow());
  clock_.Advance(10s);  // the first check: nothing is 20 s old yet
  AwaitFlusherIdle();
  EXPECT_EQ(writer_.count(), 0u);
  writes_->Complete("b");
  ASSERT_TRUE(writes_->Flush(1s));
  clock_.Advance(10s);
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 2; }));
  EXPECT_THAT(writer_.calls()[1].extend, ElementsAre("a"));
  EXPECT_TRUE(writer_.calls()[1].writes.empty());
}

TEST_F(WriteBehindTest, AFailedExtensionStaysDueAndIsRetriedSoon) {
  Start();
  writes_->Hold(std::vector<std::string>{"a"}, clock_.SteadyNow());
  writer_.Script({Error::Unavailable("connection lost")});
  clock_.Advance(20s);  // the check at 20 s: "a" is due, and its extension fails
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 1; }));
  AwaitFlusherIdle();
  clock_.Advance(50ms);  // not a sixth of the timeout later: after the first backoff
  ASSERT_TRUE(PollUntil([&] { return writer_.count() == 2; }));
  EXPECT_THAT(writer_.calls()[1].extend, ElementsAre("a"));
  AwaitFlusherIdle();
  clock_.Advance(10s);  // written at 20.05 s: not due again before 40.05 s
  AwaitFlusherIdle();
  EXPECT_EQ(writer_.count(), 2u);
}

TEST_F(WriteBehindTest, AnErrorThatIsNotAboutTheContentIsRetriedWholeNotSplit) {
  Start();
  writer_.Script({Error::FailedPrecondition("SQLSTATE 42501: permission denied")});
  writes_->Complete("a");
  writes_->Complete("b");
  writes_->Complete("c");
  ASSERT_TRUE(writes_->Flush(1s));
  const std::vector<ScriptedWriter::Call> calls = writer_.calls();
  ASSERT_THAT(calls, SizeIs(2));  // the batch, then the same batch again: nothing dropped
  EXPECT_THAT(calls[1].writes.ops, SizeIs(3));
}

TEST_F(WriteBehindTest, APartOfARefusedBatchThatMeetsALostConnectionIsRetriedNotDropped) {
  Start();
  writer_.Script({Error::InvalidArgument("22P02: bad value"), Error::Unavailable("connection lost"),
                  Error::Unavailable("connection lost"), Error::Unavailable("connection lost")});
  writes_->Complete("a");
  writes_->Complete("b");
  writes_->Complete("c");
  // The batch is refused, then each of its parts meets a lost connection: they are carried and
  // written with the next retry (immediate), in one write.
  ASSERT_TRUE(writes_->Flush(1s));
  const std::vector<ScriptedWriter::Call> calls = writer_.calls();
  ASSERT_THAT(calls, SizeIs(5));
  EXPECT_THAT(calls[4].writes.ops, SizeIs(3));
}

TEST_F(WriteBehindTest, DestructionWritesWhatIsPending) {
  Start();
  writes_->Complete("a");
  writes_.reset();  // no time passes: stopping writes at once
  ASSERT_THAT(writer_.calls(), SizeIs(1));
  EXPECT_TRUE(writer_.calls()[0].writes.ops.contains("a"));
}

TEST_F(WriteBehindTest, DestructionGivesUpAfterTheShutdownTimeout) {
  Start();
  std::vector<std::optional<Error>> failures(1000, Error::Unavailable("down"));
  writer_.Script(failures);
  writes_->Complete("a");
  std::atomic<bool> destroyed{false};
  std::jthread advancer([&] {
    // Moves time while the destructor waits for the failing writes, past shutdown_timeout.
    while (!destroyed) {
      if (clock_.AwaitWaiters(1, 10ms)) clock_.Advance(100ms);
    }
  });
  writes_.reset();
  destroyed = true;
  EXPECT_GE(writer_.count(), 2u);
  EXPECT_GE(clock_.SteadyNow(), SteadyTime{} + 2s);  // it gave up on the clock, not before
}

}  // namespace
}  // namespace fraiseql::testing
