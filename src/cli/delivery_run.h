// RunDeliveries: performs one event's deliveries for real, in this process, through the same
// delivery stack the daemon uses (in-memory queue and dead letters), and reports how each ended.
// Used by `debug-event --execute`. Thread-safety: call from one thread.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "config/config.h"
#include "delivery/delivery.h"

namespace fraiseql::cli {

struct DeliveryReport {
  Delivery delivery;  // with every attempt
  ActionType action_type = ActionType::kLog;
  FinalOutcome outcome = FinalOutcome::kPermanent;
  bool finished = true;  // false when the run's deadline passed first
};

// Runs the deliveries of `event` for `observers` (which must belong to `config`), retries
// included, and waits until every one has finished. The wait is bounded by what the observers'
// retry policies and timeouts allow (see docs/cli.md). Errors: actions that cannot be built.
Result<std::vector<DeliveryReport>> RunDeliveries(const Config& config, std::shared_ptr<const EntityEvent> event,
                                                  const std::vector<const ObserverConfig*>& observers);

// {"observer", "action_index", "action_type", "delivery_id", "outcome", "attempts": [...]}.
nlohmann::json DeliveryReportToJson(const DeliveryReport& report);

}  // namespace fraiseql::cli
