// The delivery engine's logic (retries, dead letters, failure policies, caps, breaker parking,
// shutdown) driven by scripted actions on a FakeClock: pure logic, no I/O, no real waiting (time
// moves only when a test advances it). The same behaviours against real HTTP servers are in
// tests/app/delivery_stack_test.cc.
#include "executor/delivery_engine.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "config/config.h"
#include "dlq/memory_dead_letter_store.h"
#include "matcher/matcher.h"
#include "metrics/families.h"
#include "queue/memory_job_queue.h"
#include "testing/delivery_builder.h"
#include "testing/event_builder.h"
#include "testing/poll.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::PollUntil;

// An action whose outcomes are scripted per call, and which can hold calls open until the test
// releases them (to observe concurrency without timing).
class ScriptedAction final : public Action {
 public:
  explicit ScriptedAction(std::string destination) : destination_(std::move(destination)) {}

  const std::string& destination() const override { return destination_; }

  void Execute(const ActionCall& call, ActionCallback done) override {
    DeliveryOutcome outcome;
    bool hold = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(call.delivery_id + "#" + std::to_string(call.attempt));
      ++running_;
      max_running_ = std::max(max_running_, running_);
      outcome = script_.empty() ? default_outcome_ : script_.front();
      if (!script_.empty()) script_.pop_front();
      hold = hold_;
      if (hold) held_.push_back({std::move(done), outcome});
    }
    if (!hold) Finish(std::move(done), std::move(outcome));
  }

  void Script(std::vector<DeliveryOutcome> outcomes) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.assign(outcomes.begin(), outcomes.end());
  }
  void SetDefault(DeliveryOutcome outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    default_outcome_ = std::move(outcome);
  }
  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  // Completes every held call with its scripted outcome, on a separate thread (as the HTTP
  // engine would).
  void ReleaseAll() {
    std::vector<HeldCall> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    std::thread([this, held = std::move(held)]() mutable {
      for (HeldCall& call : held) Finish(std::move(call.done), std::move(call.outcome));
    }).join();
  }
  size_t held_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  int max_running() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_running_;
  }

 private:
  struct HeldCall {
    ActionCallback done;
    DeliveryOutcome outcome;
  };

  void Finish(ActionCallback done, DeliveryOutcome outcome) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
    }
    done(std::move(outcome));
  }

  const std::string destination_;
  std::mutex mu_;
  std::deque<DeliveryOutcome> script_;
  DeliveryOutcome default_outcome_ = Success();
  bool hold_ = false;
  std::vector<HeldCall> held_;
  std::vector<std::string> calls_;
  int running_ = 0;
  int max_running_ = 0;

 public:
  static DeliveryOutcome Success() {
    DeliveryOutcome outcome;
    outcome.kind = DeliveryOutcomeKind::kSuccess;
    outcome.message = "ok";
    return outcome;
  }
};

DeliveryOutcome Retryable(std::string message = "HTTP 503 Service Unavailable (retryable)") {
  return RetryableOutcome("http_5xx", std::move(message));
}
DeliveryOutcome Permanent(std::string message = "HTTP 400 Bad Request (permanent)") {
  return PermanentOutcome("http_4xx", std::move(message));
}

std::string ObserverToml(const std::string& on_failure = "dlq", int max_attempts = 3, int actions = 1,
                         int delay_ms = 1) {
  std::string text = R"(
[[observers]]
name = "orders"
entity = "Order"
event_type = "*"
on_failure = ")" + on_failure + R"("

[observers.retry]
max_attempts = )" + std::to_string(max_attempts) + R"(
initial_delay_ms = )" + std::to_string(delay_ms) + R"(
max_delay_ms = )" + std::to_string(std::max(5, delay_ms)) + R"(
backoff_strategy = "fixed"
jitter = false
)";
  for (int i = 0; i < actions; ++i) {
    text += R"(
[[observers.actions]]
type = "log"
message_template = "m"
)";
  }
  return text;
}

struct FinishedRecord {
  Delivery delivery;
  FinalOutcome outcome;
};

// Config, scripted actions (one per destination name given), queue, dead letters and engine.
class EngineFixture {
 public:
  explicit EngineFixture(const std::string& toml, DeliveryEngineOptions options = {},
                         std::vector<std::string> destinations = {"dest-a"}) {
    LoadResult loaded = LoadConfigString(toml, "engine_test.toml");
    EXPECT_TRUE(loaded.ok());
    for (const Diagnostic& d : loaded.diagnostics) ADD_FAILURE() << d.ToString();
    config_ = std::move(*loaded.config);
    size_t next = 0;
    Result<ActionTable> table = ActionTable::BuildWith(config_, [&](const ActionConfig&) {
      auto action = std::make_unique<ScriptedAction>(destinations[next % destinations.size()]);
      actions_.push_back(action.get());
      ++next;
      return Result<std::unique_ptr<Action>>(std::unique_ptr<Action>(std::move(action)));
    });
    EXPECT_TRUE(table.has_value());
    table_ = std::make_unique<ActionTable>(std::move(*table));
    options.on_finished = [this](const Delivery& delivery, FinalOutcome outcome) {
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back({delivery, outcome});
    };
    engine_ = std::make_unique<DeliveryEngine>(*table_, queue_, clock_, options);
  }

  ~EngineFixture() { StopEngine(5s); }

  ScriptedAction& action(size_t i = 0) { return *actions_.at(i); }
  MemoryJobQueue& queue() { return queue_; }
  DeliveryEngine& engine() { return *engine_; }
  FakeClock& clock() { return clock_; }

  // The dead letters stored so far, in arrival order.
  std::vector<DeadLetter> dead_letters() {
    std::vector<StoredDeadLetter> stored = dead_letters_.List({}).value();
    std::vector<DeadLetter> letters;
    for (StoredDeadLetter& one : stored) letters.push_back(std::move(one.letter));
    return letters;
  }

  // Stop's wait for running attempts is on the clock: a helper thread moves it while Stop waits.
  size_t StopEngine(std::chrono::milliseconds timeout) {
    std::atomic<bool> stopped{false};
    std::jthread mover([&] {
      while (!stopped) {
        if (clock_.AwaitWaiters(1, 5ms)) clock_.Advance(1ms);
      }
    });
    const size_t abandoned = engine_->Stop(timeout);
    stopped = true;
    return abandoned;
  }

  // `count` events of one Order each, one delivery per action.
  void PushEvents(int count) {
    std::vector<const ObserverConfig*> observers;
    for (const ObserverConfig& observer : config_.observers) observers.push_back(&observer);
    for (int i = 0; i < count; ++i) {
      auto event = std::make_shared<EntityEvent>(testing::MakeOrderUpdate({{"id", i}}, nullptr));
      char id[40];
      std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
      event->id = id;
      queue_.Push(DeliveriesFor(event, observers));
    }
  }

  // Runs the engine to the end: whenever it waits for time (a retry's backoff, a breaker's
  // probe, the claim interval), moves the clock on by `step`, until every delivery is finished.
  bool RunUntilIdle(std::chrono::milliseconds step = 1ms) {
    return PollUntil([&] {
      if (queue_.outstanding() == 0) return true;
      if (clock_.AwaitWaiters(1, 1ms)) clock_.Advance(step);
      return false;
    });
  }

  std::vector<FinishedRecord> finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }

 private:
  Config config_;
  FakeClock clock_;
  std::vector<ScriptedAction*> actions_;
  std::unique_ptr<ActionTable> table_;
  MemoryDeadLetterStore dead_letters_{clock_};
  MemoryJobQueue queue_{clock_, dead_letters_};
  std::mutex mu_;
  std::vector<FinishedRecord> finished_;
  std::unique_ptr<DeliveryEngine> engine_;
};

TEST(DeliveryEngineTest, DeliversEveryDeliveryOnceOnSuccess) {
  EngineFixture fixture(ObserverToml("dlq", 3, 2));
  fixture.PushEvents(10);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_EQ(fixture.action(0).calls().size(), 10u);
  EXPECT_EQ(fixture.action(1).calls().size(), 10u);
  ASSERT_EQ(fixture.finished().size(), 20u);
  for (const FinishedRecord& record : fixture.finished()) {
    EXPECT_EQ(record.outcome, FinalOutcome::kSuccess);
    ASSERT_EQ(record.delivery.attempts.size(), 1u);
    EXPECT_EQ(record.delivery.attempts[0].outcome, DeliveryOutcomeKind::kSuccess);
    EXPECT_TRUE(record.delivery.attempts[0].error.empty());
  }
  EXPECT_TRUE(fixture.dead_letters().empty());
}

TEST(DeliveryEngineTest, RetriesRetryableFailuresUntilSuccess) {
  EngineFixture fixture(ObserverToml("dlq", 3));
  fixture.action().Script({Retryable(), Retryable(), ScriptedAction::Success()});
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  const std::vector<std::string> calls = fixture.action().calls();
  ASSERT_EQ(calls.size(), 3u);
  // The same delivery id every time, with the attempt number counting up.
  const std::string id = calls[0].substr(0, calls[0].find('#'));
  EXPECT_EQ(calls, (std::vector<std::string>{id + "#1", id + "#2", id + "#3"}));
  ASSERT_EQ(fixture.finished().size(), 1u);
  EXPECT_EQ(fixture.finished()[0].outcome, FinalOutcome::kSuccess);
  EXPECT_EQ(fixture.finished()[0].delivery.attempts.size(), 3u);
}

TEST(DeliveryEngineTest, ARetryWaitsExactlyItsBackoffOnTheClock) {
  EngineFixture fixture(ObserverToml("dlq", 3, 1, /*delay_ms=*/1000));
  fixture.action().Script({Retryable()});
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(PollUntil([&] { return fixture.action().calls().size() == 1; }));
  ASSERT_TRUE(fixture.clock().AwaitWaiters(1));
  fixture.clock().Advance(999ms);
  ASSERT_TRUE(fixture.clock().AwaitWaiters(1));  // waiting again, for the retry's due time
  EXPECT_EQ(fixture.action().calls().size(), 1u);
  fixture.clock().Advance(1ms);
  ASSERT_TRUE(PollUntil([&] { return fixture.action().calls().size() == 2; }));
  ASSERT_TRUE(PollUntil([&] { return fixture.queue().outstanding() == 0; }));
  EXPECT_EQ(fixture.finished()[0].outcome, FinalOutcome::kSuccess);
  EXPECT_EQ(fixture.finished()[0].delivery.attempts[1].started_at - fixture.finished()[0].delivery.attempts[0].started_at,
            1000ms);
}

TEST(DeliveryEngineTest, ExhaustedRetriesAreDeadLetteredWithEveryAttempt) {
  EngineFixture fixture(ObserverToml("dlq", 3));
  fixture.action().SetDefault(Retryable());
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_EQ(fixture.action().calls().size(), 3u);
  const std::vector<DeadLetter> letters = fixture.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].action_type, "log");
  EXPECT_THAT(letters[0].reason, HasSubstr("gave up after 3 attempts"));
  EXPECT_THAT(letters[0].reason, HasSubstr("HTTP 503"));
  ASSERT_EQ(letters[0].attempts.size(), 3u);
  for (const AttemptRecord& attempt : letters[0].attempts) {
    EXPECT_EQ(attempt.outcome, DeliveryOutcomeKind::kRetryable);
    EXPECT_THAT(attempt.error, HasSubstr("503"));
  }
  EXPECT_EQ(fixture.finished()[0].outcome, FinalOutcome::kDeadLettered);
}

TEST(DeliveryEngineTest, PermanentFailureIsDeadLetteredAfterOneAttempt) {
  EngineFixture fixture(ObserverToml("dlq", 5));
  fixture.action().SetDefault(Permanent());
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_EQ(fixture.action().calls().size(), 1u);
  const std::vector<DeadLetter> letters = fixture.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].reason, "HTTP 400 Bad Request (permanent)");
  EXPECT_EQ(letters[0].attempts.size(), 1u);
}

TEST(DeliveryEngineTest, AJobFailedForGoodIsCountedWithItsLastErrorType) {
  const double before = metrics::JobFailedTotal().WithLabels({"log", "http_4xx"}).Value();
  const double before_executed = metrics::JobExecutedTotal().WithLabels({"log"}).Value();
  EngineFixture fixture(ObserverToml("dlq", 3));
  fixture.action().SetDefault(Permanent());
  fixture.PushEvents(2);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_EQ(metrics::JobFailedTotal().WithLabels({"log", "http_4xx"}).Value(), before + 2);
  EXPECT_EQ(metrics::JobExecutedTotal().WithLabels({"log"}).Value(), before_executed);
}

TEST(DeliveryEngineTest, OnFailureLogWritesAWarningInsteadOfADeadLetter) {
  log::ScopedCapture capture;
  EngineFixture fixture(ObserverToml("log", 2));
  fixture.action().SetDefault(Retryable());
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_TRUE(fixture.dead_letters().empty());
  EXPECT_EQ(fixture.finished()[0].outcome, FinalOutcome::kRetryable);
  bool found = false;
  for (const log::Line& line : capture.lines()) {
    if (line.text.find("delivery failed") != std::string::npos) {
      found = true;
      EXPECT_EQ(line.level, log::Level::kWarn);
      EXPECT_THAT(line.text, HasSubstr("observer=orders"));
      EXPECT_THAT(line.text, HasSubstr("gave up after 2 attempts"));
      EXPECT_THAT(line.text, ::testing::Not(HasSubstr("ALERT")));
    }
  }
  EXPECT_TRUE(found);
}

TEST(DeliveryEngineTest, OnFailureAlertWritesAnErrorLineWithTheAlertMarker) {
  log::ScopedCapture capture;
  EngineFixture fixture(ObserverToml("alert", 3));
  fixture.action().SetDefault(Permanent());
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_TRUE(fixture.dead_letters().empty());
  EXPECT_EQ(fixture.finished()[0].outcome, FinalOutcome::kPermanent);
  bool found = false;
  for (const log::Line& line : capture.lines()) {
    if (line.text.find("ALERT delivery failed") != std::string::npos) {
      found = true;
      EXPECT_EQ(line.level, log::Level::kError);
    }
  }
  EXPECT_TRUE(found);
}

// An action's message may quote a URL (a transport error naming its target): what the engine
// keeps and logs has its credentials redacted, whatever the action.
TEST(DeliveryEngineTest, UrlsInOutcomeMessagesAreRedactedInAttemptsDeadLettersAndLogs) {
  const std::string leaky = "cannot reach https://ops:hunter2@hooks.example.com/x?token=abc123 (retryable)";
  const std::string redacted = "cannot reach https://<redacted>@hooks.example.com/x?token=<redacted> (retryable)";
  {
    EngineFixture fixture(ObserverToml("dlq", 2));
    fixture.action().SetDefault(Retryable(leaky));
    fixture.PushEvents(1);
    fixture.engine().Start();
    ASSERT_TRUE(fixture.RunUntilIdle());
    const std::vector<DeadLetter> letters = fixture.dead_letters();
    ASSERT_EQ(letters.size(), 1u);
    EXPECT_EQ(letters[0].reason, "gave up after 2 attempts: " + redacted);
    for (const AttemptRecord& attempt : letters[0].attempts) EXPECT_EQ(attempt.error, redacted);
  }
  log::ScopedCapture capture;
  EngineFixture fixture(ObserverToml("alert", 1));
  fixture.action().SetDefault(Retryable(leaky));
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  bool found = false;
  for (const log::Line& line : capture.lines()) {
    EXPECT_THAT(line.text, ::testing::Not(HasSubstr("hunter2")));
    EXPECT_THAT(line.text, ::testing::Not(HasSubstr("abc123")));
    found = found || line.text.find("<redacted>@hooks.example.com") != std::string::npos;
  }
  EXPECT_TRUE(found);
}

TEST(DeliveryEngineTest, NeverRunsMoreThanTheGlobalCap) {
  DeliveryEngineOptions options;
  options.max_in_flight = 4;
  options.max_in_flight_per_target = 100;
  EngineFixture fixture(ObserverToml(), options, {"a", "b", "c"});
  fixture.action().Hold(true);
  fixture.PushEvents(10);
  fixture.engine().Start();
  ASSERT_TRUE(PollUntil([&] { return fixture.action().held_count() == 4; }));
  // The cap holds: nothing more is claimed while four are in flight.
  EXPECT_EQ(fixture.queue().outstanding(), 10u);
  EXPECT_EQ(fixture.engine().in_flight(), 4u);
  fixture.action().Hold(false);
  fixture.action().ReleaseAll();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_EQ(fixture.action().calls().size(), 10u);
  EXPECT_EQ(fixture.action().max_running(), 4);
}

TEST(DeliveryEngineTest, NeverRunsMoreThanThePerTargetCap) {
  DeliveryEngineOptions options;
  options.max_in_flight = 64;
  options.max_in_flight_per_target = 2;
  EngineFixture fixture(ObserverToml(), options);
  fixture.action().Hold(true);
  fixture.PushEvents(6);
  fixture.engine().Start();
  ASSERT_TRUE(PollUntil([&] { return fixture.action().held_count() == 2; }));
  EXPECT_EQ(fixture.engine().in_flight(), 2u);
  fixture.action().Hold(false);
  fixture.action().ReleaseAll();
  ASSERT_TRUE(fixture.RunUntilIdle());
  EXPECT_EQ(fixture.action().calls().size(), 6u);
  EXPECT_EQ(fixture.action().max_running(), 2);
}

TEST(DeliveryEngineTest, OpenBreakerParksDeliveriesWithoutSpendingAttempts) {
  DeliveryEngineOptions options;
  options.max_in_flight_per_target = 1;  // one at a time: the breaker sees each result in order
  options.circuit_breaker.window_size = 4;
  options.circuit_breaker.minimum_calls = 4;
  options.circuit_breaker.wait_in_open = 300ms;
  options.circuit_breaker.permitted_calls_in_half_open = 1;
  EngineFixture fixture(ObserverToml("dlq", 10), options);
  // Four failures open the breaker; the destination then recovers.
  fixture.action().Script({Retryable(), Retryable(), Retryable(), Retryable()});
  fixture.PushEvents(20);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  const std::vector<FinishedRecord> finished = fixture.finished();
  ASSERT_EQ(finished.size(), 20u);
  size_t total_attempts = 0;
  for (const FinishedRecord& record : finished) {
    EXPECT_EQ(record.outcome, FinalOutcome::kSuccess);
    total_attempts += record.delivery.attempts.size();
  }
  // 4 failed attempts, then one success per delivery: while the breaker was open nobody was
  // attempted, so no delivery spent an attempt on being parked.
  EXPECT_EQ(total_attempts, 24u);
  EXPECT_EQ(fixture.action().calls().size(), 24u);
  EXPECT_TRUE(fixture.dead_letters().empty());
}

TEST(DeliveryEngineTest, StopGivesUnstartedDeliveriesBackAndWaitsForRunningOnes) {
  DeliveryEngineOptions options;
  options.max_in_flight = 8;
  options.max_in_flight_per_target = 2;
  EngineFixture fixture(ObserverToml(), options);
  fixture.action().Hold(true);
  fixture.PushEvents(8);
  fixture.engine().Start();
  ASSERT_TRUE(PollUntil([&] { return fixture.action().held_count() == 2; }));
  std::thread releaser([&] {
    // Completes the running attempts once Stop has given the unstarted ones back.
    PollUntil([&] { return fixture.queue().waiting() == 6; });
    fixture.action().ReleaseAll();
  });
  // StopEngine moves the fake clock on while Stop waits: a bound this far off in fake time is
  // never reached before the releaser acts, however slow the machine (10 s of it once was).
  const size_t abandoned = fixture.StopEngine(std::chrono::hours(1));
  releaser.join();
  EXPECT_EQ(abandoned, 0u);
  EXPECT_EQ(fixture.finished().size(), 2u);
  // The six that never started are back in the queue, unattempted.
  EXPECT_EQ(fixture.queue().outstanding(), 6u);
  EXPECT_EQ(fixture.action().calls().size(), 2u);
}

TEST(DeliveryEngineTest, DeliveryForAnUnknownObserverIsDeadLetteredWithAReason) {
  EngineFixture fixture(ObserverToml());
  Delivery orphan;
  orphan = testing::NewDelivery(testing::NewEvent("Order", 1), "removed");
  fixture.queue().Push({orphan});
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  const std::vector<DeadLetter> letters = fixture.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0].reason, HasSubstr("observer 'removed' has no enabled action 0"));
}

TEST(DeliveryEngineTest, UpdatesAttemptAndErrorMetrics) {
  const double before_success =
      metrics::DeliveryAttemptsTotal().WithLabels({"log", "success"}).Value();
  const double before_errors = metrics::ActionErrorsTotal().WithLabels({"log", "http_5xx"}).Value();
  const double before_in_flight = metrics::DeliveriesInFlight().Get().Value();
  const double before_jobs = metrics::JobExecutedTotal().WithLabels({"log"}).Value();
  const uint64_t before_durations = metrics::JobDurationSeconds().WithLabels({"log"}).Count();
  const double before_job_sum = metrics::JobDurationSeconds().WithLabels({"log"}).Sum();
  const double before_retries = metrics::JobRetryAttemptsTotal().WithLabels({"log"}).Value();
  EngineFixture fixture(ObserverToml("dlq", 3, 1, /*delay_ms=*/1000));
  fixture.action().Script({Retryable()});
  fixture.PushEvents(1);
  fixture.engine().Start();
  ASSERT_TRUE(fixture.RunUntilIdle());
  // One job, done after its retry: its duration counts the 1 s it waited for it.
  EXPECT_EQ(metrics::JobExecutedTotal().WithLabels({"log"}).Value(), before_jobs + 1);
  EXPECT_EQ(metrics::JobDurationSeconds().WithLabels({"log"}).Count(), before_durations + 1);
  EXPECT_GE(metrics::JobDurationSeconds().WithLabels({"log"}).Sum() - before_job_sum, 1.0);
  EXPECT_EQ(metrics::DeliveryAttemptsTotal().WithLabels({"log", "success"}).Value(), before_success + 1);
  EXPECT_EQ(metrics::ActionErrorsTotal().WithLabels({"log", "http_5xx"}).Value(), before_errors + 1);
  EXPECT_EQ(metrics::JobRetryAttemptsTotal().WithLabels({"log"}).Value(), before_retries + 1);
  EXPECT_EQ(metrics::DeliveriesInFlight().Get().Value(), before_in_flight);
  EXPECT_EQ(metrics::CircuitState().WithLabels({"dest-a"}).Value(), 0);
}

}  // namespace
}  // namespace fraiseql
