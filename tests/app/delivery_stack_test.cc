// The delivery stack end to end: config -> actions -> delivery engine -> curl engine -> real HTTP
// receivers on loopback, with faults injected by the receivers (503s, 400s, Retry-After, delays).
#include "app/delivery_stack.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dlq/memory_dead_letter_store.h"
#include "matcher/matcher.h"
#include "metrics/families.h"
#include "queue/memory_job_queue.h"
#include "testing/event_builder.h"
#include "testing/http_receiver.h"
#include "testing/poll.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::HttpReceiver;
using testing::ReceivedRequest;
using testing::ScriptedReply;

struct Finished {
  Delivery delivery;
  FinalOutcome outcome;
};

// A stack over an in-memory queue, built from TOML.
class StackFixture {
 public:
  explicit StackFixture(const std::string& toml) {
    LoadResult loaded = LoadConfigString(toml, "delivery_stack_test.toml");
    for (const Diagnostic& d : loaded.diagnostics) ADD_FAILURE() << d.ToString();
    config_ = std::move(*loaded.config);
    DeliveryStackOptions options;
    options.on_finished = [this](const Delivery& delivery, FinalOutcome outcome) {
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back({delivery, outcome});
    };
    Result<std::unique_ptr<DeliveryStack>> stack =
        DeliveryStack::Create(config_, queue_, RealClock(), std::move(options));
    EXPECT_TRUE(stack.has_value()) << stack.error().message;
    stack_ = std::move(*stack);
  }

  ~StackFixture() { stack_->Shutdown(5s); }

  // Queues one event (with entity id number `n`) for every observer, and starts the engine once.
  void Deliver(int n = 0) {
    auto event = std::make_shared<EntityEvent>(testing::MakeOrderUpdate({{"id", n}}, nullptr));
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    event->id = id;
    std::vector<const ObserverConfig*> observers;
    for (const ObserverConfig& observer : config_.observers) observers.push_back(&observer);
    queue_.Push(DeliveriesFor(event, observers));
  }
  void Start() { stack_->Start(); }

  bool WaitIdle(std::chrono::seconds timeout = 30s) {
    return queue_.WaitUntilIdle(RealClock().SteadyNow() + timeout);
  }
  std::vector<Finished> finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }
  // The dead letters stored so far, in arrival order.
  std::vector<DeadLetter> dead_letters() {
    std::vector<StoredDeadLetter> stored = dead_letters_.List({}).value();
    std::vector<DeadLetter> letters;
    for (StoredDeadLetter& one : stored) letters.push_back(std::move(one.letter));
    return letters;
  }

 private:
  Config config_;
  MemoryDeadLetterStore dead_letters_{RealClock()};
  MemoryJobQueue queue_{RealClock(), dead_letters_};
  std::mutex mu_;
  std::vector<Finished> finished_;
  std::unique_ptr<DeliveryStack> stack_;
};

std::string Webhook(const HttpReceiver& receiver) {
  return "\n[[observers.actions]]\ntype = \"webhook\"\nurl = \"" + receiver.url() + "\"\n";
}

std::string Observer(const std::string& actions, const std::string& retry = "", const std::string& extra = "") {
  return R"(
[security]
allow_private_targets = ["127.0.0.0/8"]
)" + extra + R"(
[[observers]]
name = "orders"
entity = "Order"
event_type = "*"
)" + retry + actions;
}

const char* kFastRetry = R"(
[observers.retry]
max_attempts = 3
initial_delay_ms = 50
max_delay_ms = 200
backoff_strategy = "exponential"
)";

std::chrono::duration<double, std::milli> Gap(const ReceivedRequest& a, const ReceivedRequest& b) {
  return b.received_at - a.received_at;
}

TEST(DeliveryStackTest, ActionsOfOneEventRunConcurrently) {
  std::vector<std::unique_ptr<HttpReceiver>> receivers;
  std::string actions;
  for (int i = 0; i < 5; ++i) {
    receivers.push_back(std::make_unique<HttpReceiver>());
    ScriptedReply held = ScriptedReply::Status(200);
    held.wait_for_gate = true;
    receivers.back()->SetDefault(held);
    actions += Webhook(*receivers.back());
  }
  StackFixture stack(Observer(actions));
  stack.Start();
  stack.Deliver();
  // Every receiver holds its answer: all five requests can arrive only if they are in flight at
  // once (one after another, the second would wait forever for the first's answer).
  EXPECT_TRUE(testing::PollUntil([&] {
    return std::all_of(receivers.begin(), receivers.end(), [](const auto& r) { return r->request_count() == 1; });
  }));
  EXPECT_TRUE(stack.finished().empty());
  for (const auto& receiver : receivers) receiver->OpenGate();
  ASSERT_TRUE(stack.WaitIdle());
  for (const auto& receiver : receivers) EXPECT_EQ(receiver->request_count(), 1u);
  ASSERT_EQ(stack.finished().size(), 5u);
  for (const Finished& finished : stack.finished()) EXPECT_EQ(finished.outcome, FinalOutcome::kSuccess);
}

// [performance] http_threads: requests alternate between engines, every one arrives once, a
// retry included, whichever engine's thread reports it.
TEST(DeliveryStackTest, SeveralHttpEnginesDeliverEverythingOnce) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Status(503)});  // the first request, then 200s
  StackFixture stack(Observer(Webhook(receiver), kFastRetry, "\n[performance]\nhttp_threads = 3\n"));
  stack.Start();
  for (int n = 0; n < 20; ++n) stack.Deliver(n);
  ASSERT_TRUE(stack.WaitIdle());
  EXPECT_EQ(receiver.request_count(), 21u);
  ASSERT_EQ(stack.finished().size(), 20u);
  for (const Finished& finished : stack.finished()) EXPECT_EQ(finished.outcome, FinalOutcome::kSuccess);
}

TEST(DeliveryStackTest, RetriesA503TwiceThenSucceedsWithBackoff) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Status(503), ScriptedReply::Status(503)});
  StackFixture stack(Observer(Webhook(receiver), kFastRetry));
  stack.Start();
  stack.Deliver();
  ASSERT_TRUE(stack.WaitIdle());
  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  // The same delivery, so the same idempotency key, every time.
  EXPECT_EQ(requests[0].Header("webhook-id"), requests[2].Header("webhook-id"));
  // Backoff: at least 0.75 x 50 ms, then 0.75 x 100 ms (jitter's lower bound).
  EXPECT_GE(Gap(requests[0], requests[1]).count(), 37);
  EXPECT_GE(Gap(requests[1], requests[2]).count(), 75);
  const std::vector<Finished> finished = stack.finished();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].outcome, FinalOutcome::kSuccess);
  ASSERT_EQ(finished[0].delivery.attempts.size(), 3u);
  EXPECT_EQ(finished[0].delivery.attempts[0].status, 503);
  EXPECT_EQ(finished[0].delivery.attempts[2].status, 200);
}

TEST(DeliveryStackTest, A400IsDeadLetteredAfterOneAttempt) {
  HttpReceiver receiver;
  receiver.SetDefault(ScriptedReply::Status(400));
  StackFixture stack(Observer(Webhook(receiver), kFastRetry));
  stack.Start();
  stack.Deliver();
  ASSERT_TRUE(stack.WaitIdle());
  EXPECT_EQ(receiver.request_count(), 1u);
  const std::vector<DeadLetter> letters = stack.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].action_type, "webhook");
  EXPECT_THAT(letters[0].reason, HasSubstr("HTTP 400"));
  ASSERT_EQ(letters[0].attempts.size(), 1u);
  EXPECT_EQ(letters[0].attempts[0].status, 400);
  EXPECT_GT(letters[0].attempts[0].duration.count(), 0);
}

TEST(DeliveryStackTest, ExhaustedRetriesAreDeadLetteredWithEveryAttempt) {
  HttpReceiver receiver;
  receiver.SetDefault(ScriptedReply::Status(502));
  StackFixture stack(Observer(Webhook(receiver), kFastRetry));
  stack.Start();
  stack.Deliver();
  ASSERT_TRUE(stack.WaitIdle());
  EXPECT_EQ(receiver.request_count(), 3u);
  const std::vector<DeadLetter> letters = stack.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0].reason, HasSubstr("gave up after 3 attempts"));
  ASSERT_EQ(letters[0].attempts.size(), 3u);
  for (const AttemptRecord& attempt : letters[0].attempts) EXPECT_EQ(attempt.status, 502);
}

TEST(DeliveryStackTest, RetryAfterSetsTheNextAttempt) {
  HttpReceiver receiver;
  ScriptedReply busy = ScriptedReply::Status(503);
  busy.headers = {{"Retry-After", "2"}};
  receiver.Script({busy});
  StackFixture stack(Observer(Webhook(receiver), R"(
[observers.retry]
max_attempts = 2
initial_delay_ms = 10
max_delay_ms = 10000
)"));
  stack.Start();
  stack.Deliver();
  ASSERT_TRUE(stack.WaitIdle());
  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  // The server's 2 s, not the policy's 10 ms (a lower bound: no assertion on how fast we are).
  EXPECT_GE(Gap(requests[0], requests[1]).count(), 1900);
}

TEST(DeliveryStackTest, OpenBreakerSendsOnlyProbesAndParkedDeliveriesKeepTheirAttempts) {
  HttpReceiver receiver;
  // The endpoint is down for 4 requests and the first probe, then recovers.
  receiver.Script({ScriptedReply::Status(503), ScriptedReply::Status(503), ScriptedReply::Status(503),
                   ScriptedReply::Status(503), ScriptedReply::Status(503)});
  StackFixture stack(Observer(Webhook(receiver), R"(
[observers.retry]
max_attempts = 10
initial_delay_ms = 1
max_delay_ms = 5
backoff_strategy = "fixed"
)",
                              R"(
[performance]
max_in_flight_per_target = 1

[circuit_breaker]
window_size = 4
minimum_calls = 4
wait_in_open_ms = 300
max_wait_in_open_ms = 1000
permitted_calls_in_half_open = 1
)"));
  for (int i = 0; i < 20; ++i) stack.Deliver(i);
  stack.Start();
  ASSERT_TRUE(stack.WaitIdle());
  // 4 failures open the breaker; 1 failed probe re-opens it; then 20 successes. Anything more
  // would be a request sent while the breaker was open.
  EXPECT_EQ(receiver.request_count(), 25u);
  const std::vector<Finished> finished = stack.finished();
  ASSERT_EQ(finished.size(), 20u);
  size_t attempts = 0;
  size_t untouched = 0;  // deliveries that waited out the outage without a single failed attempt
  for (const Finished& record : finished) {
    EXPECT_EQ(record.outcome, FinalOutcome::kSuccess);
    attempts += record.delivery.attempts.size();
    if (record.delivery.attempts.size() == 1) ++untouched;
  }
  EXPECT_EQ(attempts, 25u);
  EXPECT_GE(untouched, 15u);
  EXPECT_EQ(metrics::CircuitState().WithLabels({"http://127.0.0.1:" + std::to_string(receiver.port())}).Value(), 0);
}

TEST(DeliveryStackTest, LoopbackTargetIsRefusedWithoutTheAllowList) {
  HttpReceiver receiver;
  StackFixture stack(R"(
[[observers]]
name = "orders"
entity = "Order"
event_type = "*"
)" + Webhook(receiver));
  stack.Start();
  stack.Deliver();
  ASSERT_TRUE(stack.WaitIdle());
  EXPECT_EQ(receiver.request_count(), 0u);
  const std::vector<DeadLetter> letters = stack.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_THAT(letters[0].reason, HasSubstr("loopback"));
  EXPECT_THAT(letters[0].reason, HasSubstr("allow_private_targets"));
}

TEST(DeliveryStackTest, ActionThatCannotBeBuiltIsReported) {
  LoadResult loaded = LoadConfigString(R"(
[[observers]]
name = "mailer"
entity = "Order"
event_type = "*"

[[observers.actions]]
type = "database"
function_name = "app.on_order"
)",
                                       "t.toml");
  ASSERT_TRUE(loaded.ok());
  MemoryDeadLetterStore dead_letters(RealClock());
  MemoryJobQueue queue(RealClock(), dead_letters);
  DeliveryStackOptions options;
  options.getenv = [](std::string_view) { return std::optional<std::string>(); };
  Result<std::unique_ptr<DeliveryStack>> stack = DeliveryStack::Create(*loaded.config, queue, RealClock(), options);
  ASSERT_FALSE(stack.has_value());
  EXPECT_THAT(stack.error().message, HasSubstr("observer 'mailer' action 0 (database)"));
}

}  // namespace
}  // namespace fraiseql
