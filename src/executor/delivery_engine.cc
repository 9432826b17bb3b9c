#include "executor/delivery_engine.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/mutex.h"
#include "common/random.h"
#include "common/thread_annotations.h"
#include "common/url.h"
#include "executor/retry_schedule.h"
#include "metrics/families.h"
#include "resilience/circuit_breaker.h"

namespace fraiseql {
namespace {

using std::chrono::steady_clock;
using std::chrono::system_clock;

// A parked delivery is remembered by id so it can be woken when its breaker closes; past this
// many per breaker the rest simply wait for their parked time.
constexpr size_t kMaxRememberedParked = 100'000;

double GaugeValueOf(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed: return 0;
    case CircuitBreaker::State::kOpen: return 1;
    case CircuitBreaker::State::kHalfOpen: return 2;
  }
  return 0;
}

CircuitBreaker::Outcome BreakerOutcomeOf(DeliveryOutcomeKind kind) {
  switch (kind) {
    case DeliveryOutcomeKind::kSuccess: return CircuitBreaker::Outcome::kSuccess;
    case DeliveryOutcomeKind::kRetryable: return CircuitBreaker::Outcome::kRetryableFailure;
    case DeliveryOutcomeKind::kPermanent: return CircuitBreaker::Outcome::kIgnored;
  }
  return CircuitBreaker::Outcome::kIgnored;
}

// The breaker's next probe time on the wall clock, where reschedules are expressed.
system_clock::time_point WallTimeOf(steady_clock::time_point steady, Clock& clock) {
  const auto delay = std::max(steady - clock.SteadyNow(), steady_clock::duration::zero());
  return clock.Now() + std::chrono::duration_cast<system_clock::duration>(delay);
}

}  // namespace

class DeliveryEngine::Core {
 public:
  Core(const ActionTable& actions, JobQueue& queue, Clock& clock, DeliveryEngineOptions options)
      : actions_(actions),
        queue_(queue),
        clock_(clock),
        options_(std::move(options)),
        random_(options_.jitter_seed),
        in_flight_gauge_(metrics::DeliveriesInFlight().Get()) {
    options_.max_in_flight = std::max<uint32_t>(options_.max_in_flight, 1);
    options_.max_in_flight_per_target = std::max<uint32_t>(options_.max_in_flight_per_target, 1);
    options_.claim_batch = std::max<uint32_t>(options_.claim_batch, 1);
    refill_step_ = std::max<size_t>(1, std::min(options_.claim_batch, options_.max_in_flight) / 4);
    for (const ActionTable::Entry& entry : actions_.entries()) AddRoute(entry);
  }

  void RunDispatcher(const std::stop_token& stop) {
    // A stop ends the wait for room at once (the claim's wait ends through the same token).
    std::stop_callback wake(stop, [this] {
      MutexLock lock(&mu_);
      room_freed_.notify_all();
    });
    while (!stop.stop_requested()) {
      size_t room = 0;
      {
        MutexLock lock(&mu_);
        // Claims wait for a quarter batch of room: one wake-up and one claim per delivery that
        // finishes would cost more than the deliveries themselves at full speed.
        while (held_ + refill_step_ > options_.max_in_flight && !stop.stop_requested()) {
          clock_.WaitUntil(mu_, room_freed_, clock_.SteadyNow() + options_.claim_wait);
        }
        room = std::min<size_t>(options_.max_in_flight - held_, options_.claim_batch);
      }
      if (stop.stop_requested()) break;
      std::vector<Delivery> batch = queue_.Claim(room, clock_.SteadyNow() + options_.claim_wait, stop);
      for (Delivery& delivery : batch) Dispatch(std::move(delivery));
    }
  }

  // Called once the dispatcher has stopped claiming.
  size_t Drain(std::chrono::milliseconds timeout) {
    std::vector<Delivery> unstarted;
    {
      MutexLock lock(&mu_);
      stopping_ = true;
      for (auto& [name, target] : targets_) {
        for (Pending& pending : target.waiting) unstarted.push_back(std::move(pending.delivery));
        held_ -= target.waiting.size();
        target.waiting.clear();
      }
    }
    const auto now = clock_.Now();
    for (Delivery& delivery : unstarted) queue_.Reschedule(std::move(delivery), now);

    const auto deadline = clock_.SteadyNow() + timeout;
    MutexLock lock(&mu_);
    while (running_ > 0) {
      if (!clock_.WaitUntil(mu_, room_freed_, deadline)) break;
    }
    detached_ = true;  // results arriving from now on are dropped
    return running_;
  }

  size_t running() const {
    MutexLock lock(&mu_);
    return running_;
  }

 private:
  // A circuit breaker and the deliveries it parked.
  struct Breaker {
    std::string target;
    std::unique_ptr<CircuitBreaker> breaker;
    metrics::Gauge* state_gauge = nullptr;
    std::vector<std::string> parked_ids;  // guarded by Core::mu_
  };

  struct Pending;

  // Per destination: the per-target cap and the deliveries waiting for one of its slots.
  struct Target {
    uint32_t running = 0;
    std::deque<Pending> waiting;
  };

  // Everything the engine needs per configured action, resolved once.
  struct Route {
    const ActionTable::Entry* entry = nullptr;
    Target* target = nullptr;
    Breaker* breaker = nullptr;
    metrics::Counter* executed = nullptr;
    metrics::Histogram* duration = nullptr;
    metrics::Counter* jobs_executed = nullptr;   // deliveries that succeeded
    metrics::Histogram* job_duration = nullptr;  // first attempt to the end, retry waits included
    metrics::Counter* attempts_by_outcome[3] = {nullptr, nullptr, nullptr};
    metrics::Counter* retries = nullptr;  // retries scheduled
    std::string_view type_name;
  };

  struct Pending {
    const Route* route = nullptr;
    Delivery delivery;
  };

  void AddRoute(const ActionTable::Entry& entry) {
    const std::string& destination = entry.action->destination();
    Route route;
    route.entry = &entry;
    route.target = &targets_[destination];
    // Actions with their own breaker settings get their own breaker for the same destination.
    const std::string breaker_key =
        entry.config->circuit_breaker ? destination + "#" + entry.observer->name + "/" + std::to_string(entry.index)
                                      : destination;
    auto [found, inserted] = breakers_.try_emplace(breaker_key);
    if (inserted) {
      found->second.target = destination;
      found->second.breaker = std::make_unique<CircuitBreaker>(
          entry.config->circuit_breaker.value_or(options_.circuit_breaker), clock_);
      found->second.state_gauge = &metrics::CircuitState().WithLabels({destination});
      found->second.state_gauge->Set(0);
    }
    route.breaker = &found->second;
    route.type_name = ActionTypeName(entry.config->type);
    route.executed = &metrics::ActionExecutedTotal().WithLabels({route.type_name});
    route.duration = &metrics::ActionDurationSeconds().WithLabels({route.type_name});
    route.jobs_executed = &metrics::JobExecutedTotal().WithLabels({route.type_name});
    route.job_duration = &metrics::JobDurationSeconds().WithLabels({route.type_name});
    route.retries = &metrics::JobRetryAttemptsTotal().WithLabels({route.type_name});
    for (const DeliveryOutcomeKind kind :
         {DeliveryOutcomeKind::kSuccess, DeliveryOutcomeKind::kRetryable, DeliveryOutcomeKind::kPermanent}) {
      route.attempts_by_outcome[static_cast<size_t>(kind)] =
          &metrics::DeliveryAttemptsTotal().WithLabels({route.type_name, DeliveryOutcomeKindName(kind)});
    }
    routes_.emplace(&entry, route);
  }

  void Dispatch(Delivery delivery) {
    const ActionTable::Entry* entry = actions_.Find(delivery.observer, delivery.action_index);
    if (entry == nullptr) {
      // The observer or action is gone from the configuration: nothing can perform it, so keep
      // it where an operator sees it rather than dropping it.
      const std::string reason = "observer '" + delivery.observer + "' has no enabled action " +
                                 std::to_string(delivery.action_index) + " in the current configuration";
      Finish(delivery, FinalOutcome::kDeadLettered);
      queue_.CompleteWithDeadLetter(delivery, DeadLetterOf(delivery, "", reason));
      return;
    }
    const Route* route = &routes_.at(entry);
    {
      MutexLock lock(&mu_);
      ++held_;
      if (route->target->running >= options_.max_in_flight_per_target) {
        route->target->waiting.push_back(Pending{route, std::move(delivery)});
        return;
      }
      ++route->target->running;
    }
    Launch(Pending{route, std::move(delivery)});
  }

  // Runs attempts one after another on this thread. An action may finish synchronously, inside
  // Execute, and its completion may hand the next waiting delivery to Launch: the trampoline
  // turns that recursion into a loop.
  void Launch(Pending pending) {
    if (trampoline_owner_ == this) {
      trampoline_->push_back(std::move(pending));
      return;
    }
    std::vector<Pending> queue;
    queue.push_back(std::move(pending));
    const Core* saved_owner = trampoline_owner_;
    std::vector<Pending>* saved_queue = trampoline_;
    trampoline_owner_ = this;
    trampoline_ = &queue;
    while (!queue.empty()) {
      Pending next = std::move(queue.back());
      queue.pop_back();
      StartAttempt(std::move(next));
    }
    trampoline_owner_ = saved_owner;
    trampoline_ = saved_queue;
  }

  // REQUIRES: the delivery holds a slot of its target (target->running was incremented for it).
  void StartAttempt(Pending pending) {
    const Route& route = *pending.route;
    std::optional<CircuitBreaker::Permit> permit = route.breaker->breaker->TryAcquirePermission();
    UpdateBreakerGauge(*route.breaker);
    if (!permit) {
      Park(std::move(pending));
      return;
    }
    {
      MutexLock lock(&mu_);
      ++running_;
    }
    in_flight_gauge_.Increment();
    const ObserverConfig& observer = *route.entry->observer;
    ActionCall call{pending.delivery.event, pending.delivery.id, pending.delivery.attempt_count() + 1,
                    observer.retry.max_delay};
    const auto started_at = clock_.Now();
    const auto started = clock_.SteadyNow();
    // The callback keeps the core alive: an attempt may outlive the engine's Stop() timeout.
    route.entry->action->Execute(
        call, [core = shared_from_core(), pending = std::move(pending), permit = *permit, started_at,
               started](DeliveryOutcome outcome) mutable {
          core->OnAttemptDone(std::move(pending), permit, started_at, started, std::move(outcome));
        });
  }

  void Park(Pending pending) {
    const Route& route = *pending.route;
    const auto probe = route.breaker->breaker->next_probe_time();
    std::optional<Pending> next;
    {
      MutexLock lock(&mu_);
      if (route.breaker->parked_ids.size() < kMaxRememberedParked) {
        route.breaker->parked_ids.push_back(pending.delivery.id);
      }
      next = ReleaseSlotLocked(*route.target);
    }
    queue_.Reschedule(std::move(pending.delivery), WallTimeOf(probe, clock_));
    room_freed_.notify_all();
    if (next) Launch(std::move(*next));
  }

  void OnAttemptDone(Pending pending, const CircuitBreaker::Permit& permit, system_clock::time_point started_at,
                     steady_clock::time_point started, DeliveryOutcome outcome) {
    const Route& route = *pending.route;
    const auto elapsed = clock_.SteadyNow() - started;
    Breaker& breaker = *route.breaker;
    const CircuitBreaker::State before = breaker.breaker->state();
    breaker.breaker->OnResult(permit, BreakerOutcomeOf(outcome.kind), elapsed);
    const CircuitBreaker::State after = UpdateBreakerGauge(breaker);
    RecordMetrics(route, outcome, elapsed);

    Delivery& delivery = pending.delivery;
    // Every action's message passes through here on its way to logs, job rows and dead
    // letters: a URL it quotes loses its credentials once, for all of them.
    delivery.attempts.push_back(AttemptRecord{started_at, outcome.kind, outcome.http_status,
                                              outcome.kind == DeliveryOutcomeKind::kSuccess
                                                  ? ""
                                                  : RedactUrlsIn(outcome.message),
                                              std::chrono::duration_cast<std::chrono::microseconds>(elapsed)});

    std::vector<std::string> to_wake;
    std::optional<Pending> next;
    std::optional<std::chrono::milliseconds> retry_delay;
    bool room_to_claim = false;
    {
      MutexLock lock(&mu_);
      --running_;
      if (detached_) {
        room_freed_.notify_all();
        return;
      }
      if (after == CircuitBreaker::State::kClosed && before != CircuitBreaker::State::kClosed) {
        to_wake.swap(breaker.parked_ids);
      }
      if (outcome.kind == DeliveryOutcomeKind::kRetryable &&
          ShouldRetry(route.entry->observer->retry, delivery.attempt_count())) {
        retry_delay = outcome.retry_after ? *outcome.retry_after
                                          : RetryDelay(route.entry->observer->retry, delivery.attempt_count(), random_);
      }
      next = ReleaseSlotLocked(*route.target);
      --held_;
      // The dispatcher waits for refill_step_ of room; Drain waits for every attempt.
      room_to_claim = stopping_ || held_ + refill_step_ <= options_.max_in_flight;
    }
    in_flight_gauge_.Decrement();
    if (room_to_claim) room_freed_.notify_all();

    if (outcome.kind == DeliveryOutcomeKind::kSuccess) {
      route.jobs_executed->Increment();
      RecordJobDuration(route, delivery);
      Finish(delivery, FinalOutcome::kSuccess);
      queue_.Complete(delivery);
    } else if (retry_delay) {
      route.retries->Increment();
      queue_.Reschedule(std::move(delivery), clock_.Now() + *retry_delay);
    } else {
      FailForGood(route, delivery, outcome);
    }
    if (!to_wake.empty()) queue_.Wake(to_wake);
    if (next) Launch(std::move(*next));
  }

  // Frees the target slot the finished delivery held and, unless stopping, hands it straight to
  // the next delivery waiting for that target (which then holds it).
  std::optional<Pending> ReleaseSlotLocked(Target& target) EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (target.waiting.empty() || stopping_) {
      --target.running;
      return std::nullopt;
    }
    Pending next = std::move(target.waiting.front());
    target.waiting.pop_front();
    return next;
  }

  void FailForGood(const Route& route, const Delivery& delivery, const DeliveryOutcome& last) {
    const ObserverConfig& observer = *route.entry->observer;
    const FinalOutcome final_outcome = observer.on_failure == FailurePolicy::kDlq ? FinalOutcome::kDeadLettered
                                       : last.kind == DeliveryOutcomeKind::kRetryable ? FinalOutcome::kRetryable
                                                                                       : FinalOutcome::kPermanent;
    const std::string reason = RedactUrlsIn(
        last.kind == DeliveryOutcomeKind::kRetryable
            ? "gave up after " + std::to_string(delivery.attempt_count()) + " attempts: " + last.message
            : last.message);
    metrics::JobFailedTotal()
        .WithLabels({route.type_name, last.error_type.empty() ? std::string_view("unknown")
                                                               : std::string_view(last.error_type)})
        .Increment();
    RecordJobDuration(route, delivery);
    Finish(delivery, final_outcome);
    switch (observer.on_failure) {
      case FailurePolicy::kDlq:
        // The dead letter and the delivery's end are one step of the queue: a durable queue that
        // crashes in between replays the delivery rather than losing it.
        queue_.CompleteWithDeadLetter(delivery, DeadLetterOf(delivery, route.type_name, reason));
        return;
      case FailurePolicy::kLog:
        log::Write(log::Level::kWarn, "delivery failed", FailureFields(route, delivery, reason));
        break;
      case FailurePolicy::kAlert:
        // A stable marker that alerting rules on the log stream match.
        log::Write(log::Level::kError, "ALERT delivery failed", FailureFields(route, delivery, reason));
        break;
    }
    queue_.Complete(delivery);
  }

  static std::vector<log::Field> FailureFields(const Route& route, const Delivery& delivery, const std::string& reason) {
    return {{"observer", delivery.observer},
            {"action_index", std::to_string(delivery.action_index)},
            {"action_type", std::string(route.type_name)},
            {"delivery_id", delivery.id},
            {"event_id", delivery.event ? delivery.event->id : ""},
            {"attempts", std::to_string(delivery.attempt_count())},
            {"reason", reason}};
  }

  void RecordJobDuration(const Route& route, const Delivery& delivery) {
    if (delivery.attempts.empty()) return;
    route.job_duration->Observe(std::chrono::duration<double>(clock_.Now() - delivery.attempts.front().started_at).count());
  }

  void Finish(const Delivery& delivery, FinalOutcome outcome) {
    if (options_.on_finished) options_.on_finished(delivery, outcome);
  }

  CircuitBreaker::State UpdateBreakerGauge(Breaker& breaker) {
    const CircuitBreaker::State state = breaker.breaker->state();
    breaker.state_gauge->Set(GaugeValueOf(state));
    return state;
  }

  void RecordMetrics(const Route& route, const DeliveryOutcome& outcome, steady_clock::duration elapsed) {
    route.executed->Increment();
    route.duration->Observe(std::chrono::duration<double>(elapsed).count());
    route.attempts_by_outcome[static_cast<size_t>(outcome.kind)]->Increment();
    if (outcome.kind != DeliveryOutcomeKind::kSuccess) {
      metrics::ActionErrorsTotal()
          .WithLabels({route.type_name, outcome.error_type.empty() ? std::string_view("unknown")
                                                                   : std::string_view(outcome.error_type)})
          .Increment();
    }
  }

 public:
  // Set once by the owning DeliveryEngine right after construction.
  std::weak_ptr<Core> self_;

 private:
  std::shared_ptr<Core> shared_from_core() { return self_.lock(); }

  const ActionTable& actions_;
  JobQueue& queue_;
  Clock& clock_;
  DeliveryEngineOptions options_;

  // Built in the constructor, then only read (their Breakers' parked_ids are guarded by mu_).
  std::map<std::string, Target> targets_;
  std::map<std::string, Breaker> breakers_;
  std::map<const ActionTable::Entry*, Route> routes_;

  mutable Mutex mu_;
  std::condition_variable room_freed_;
  size_t refill_step_ = 1;  // the room the dispatcher waits for before it claims again
  size_t held_ GUARDED_BY(mu_) = 0;     // claimed and not yet finished or given back
  size_t running_ GUARDED_BY(mu_) = 0;  // attempts in flight
  bool stopping_ GUARDED_BY(mu_) = false;
  bool detached_ GUARDED_BY(mu_) = false;
  Random random_ GUARDED_BY(mu_);
  metrics::Gauge& in_flight_gauge_;

  static thread_local const Core* trampoline_owner_;
  static thread_local std::vector<Pending>* trampoline_;
};

thread_local const DeliveryEngine::Core* DeliveryEngine::Core::trampoline_owner_ = nullptr;
thread_local std::vector<DeliveryEngine::Core::Pending>* DeliveryEngine::Core::trampoline_ = nullptr;

DeliveryEngine::DeliveryEngine(const ActionTable& actions, JobQueue& queue, Clock& clock, DeliveryEngineOptions options)
    : core_(std::make_shared<Core>(actions, queue, clock, std::move(options))) {
  core_->self_ = core_;
}

DeliveryEngine::~DeliveryEngine() { Stop(std::chrono::milliseconds(0)); }

void DeliveryEngine::Start() {
  dispatcher_ = std::jthread([core = core_](const std::stop_token& stop) { core->RunDispatcher(stop); });
}

size_t DeliveryEngine::Stop(std::chrono::milliseconds timeout) {
  if (!dispatcher_.joinable()) return core_->running();
  dispatcher_.request_stop();
  dispatcher_.join();
  return core_->Drain(timeout);
}

size_t DeliveryEngine::in_flight() const { return core_->running(); }

}  // namespace fraiseql
