#include "cli/delivery_run.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include "app/delivery_stack.h"
#include "dlq/memory_dead_letter_store.h"
#include "matcher/matcher.h"
#include "queue/memory_job_queue.h"

namespace fraiseql::cli {
namespace {

using std::chrono::milliseconds;

// How long one delivery may take at most: every attempt running to its timeout, every wait at
// the longest delay (jitter adds up to 25%), and an open breaker's longest wait on top.
milliseconds LongestRun(const Config& config, const ObserverConfig& observer) {
  milliseconds longest{0};
  for (const ActionConfig& action : observer.actions) {
    const CircuitBreakerSettings& breaker = action.circuit_breaker.value_or(config.circuit_breaker);
    const auto attempts = static_cast<int64_t>(observer.retry.max_attempts);
    const milliseconds run = attempts * action.timeout + attempts * observer.retry.max_delay * 5 / 4 +
                             (breaker.enabled ? breaker.max_wait_in_open : milliseconds(0));
    longest = std::max(longest, run);
  }
  return longest;
}

}  // namespace

Result<std::vector<DeliveryReport>> RunDeliveries(const Config& config, std::shared_ptr<const EntityEvent> event,
                                                  const std::vector<const ObserverConfig*>& observers) {
  Clock& clock = RealClock();
  MemoryDeadLetterStore dead_letters(clock);
  MemoryJobQueue queue(clock, dead_letters);
  std::mutex mu;
  std::map<std::string, FinalOutcome> outcomes;  // by delivery id
  std::map<std::string, Delivery> finished;

  DeliveryStackOptions options;
  options.on_finished = [&](const Delivery& delivery, FinalOutcome outcome) {
    std::lock_guard<std::mutex> lock(mu);
    outcomes[delivery.id] = outcome;
    finished[delivery.id] = delivery;
  };
  Result<std::unique_ptr<DeliveryStack>> stack = DeliveryStack::Create(config, queue, clock, options);
  if (!stack) return stack.error();

  std::vector<Delivery> deliveries = DeliveriesFor(std::move(event), observers);
  milliseconds budget{5000};
  for (const ObserverConfig* observer : observers) budget += LongestRun(config, *observer);
  queue.Push(deliveries);
  (*stack)->Start();
  queue.WaitUntilIdle(clock.SteadyNow() + budget);
  (*stack)->Shutdown(milliseconds(0));

  std::vector<DeliveryReport> reports;
  std::lock_guard<std::mutex> lock(mu);
  for (Delivery& delivery : deliveries) {
    DeliveryReport report;
    const ObserverConfig* observer = *std::find_if(observers.begin(), observers.end(),
                                                   [&](const ObserverConfig* o) { return o->name == delivery.observer; });
    report.action_type = observer->actions[delivery.action_index].type;
    const auto outcome = outcomes.find(delivery.id);
    if (outcome == outcomes.end()) {
      report.finished = false;
      report.delivery = std::move(delivery);
    } else {
      report.outcome = outcome->second;
      report.delivery = std::move(finished[delivery.id]);
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

nlohmann::json DeliveryReportToJson(const DeliveryReport& report) {
  nlohmann::json attempts = nlohmann::json::array();
  for (const AttemptRecord& attempt : report.delivery.attempts) attempts.push_back(AttemptToJson(attempt));
  return {{"observer", report.delivery.observer},
          {"action_index", report.delivery.action_index},
          {"action_type", ActionTypeName(report.action_type)},
          {"delivery_id", report.delivery.id},
          {"outcome", report.finished ? std::string(FinalOutcomeName(report.outcome)) : "unfinished"},
          {"attempts", std::move(attempts)}};
}

}  // namespace fraiseql::cli
