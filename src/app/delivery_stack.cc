#include "app/delivery_stack.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "config/database_url.h"
#include "http/round_robin_http_client.h"

namespace fraiseql {

Result<std::unique_ptr<DeliveryStack>> DeliveryStack::Create(const Config& config, JobQueue& queue, Clock& clock,
                                                             DeliveryStackOptions options) {
  std::unique_ptr<DeliveryStack> stack(new DeliveryStack());
  stack->blocking_ = std::make_unique<WorkerPool>(options.blocking_threads);

  Result<SsrfGuard> guard = SsrfGuard::Create(config.security.allow_private_targets);
  if (!guard) return Error::InvalidArgument("[security] allow_private_targets: " + guard.error().message);
  const uint32_t http_threads = config.performance.http_threads;
  std::vector<std::unique_ptr<HttpClient>> engines;
  for (uint32_t n = 0; n < http_threads; ++n) {
    CurlEngineOptions http_options;
    http_options.guard = *guard;
    http_options.max_connections_per_host = config.performance.max_in_flight_per_target;
    // The engines share the process's file descriptors.
    http_options.max_total_connections = std::max<uint32_t>(http_options.max_total_connections / http_threads, 16);
    Result<std::unique_ptr<CurlEngine>> http = CurlEngine::Create(std::move(http_options), clock);
    if (!http) return http.error();
    engines.push_back(std::move(*http));
  }
  if (engines.size() == 1) {
    stack->http_ = std::move(engines.front());
  } else {
    stack->http_ = std::make_unique<RoundRobinHttpClient>(std::move(engines));
  }

  ActionDependencies deps(clock);
  deps.http = stack->http_.get();
  deps.blocking = stack->blocking_.get();
  deps.email = config.email ? &*config.email : nullptr;
  // Without one, only a database action fails to build, naming what to set.
  if (Result<Secret> url = ResolveDatabaseUrl(std::nullopt, &config.database, options.getenv)) {
    deps.database_url = std::move(*url);
  }
  deps.database_pool_size = config.database.pool_size;
  Result<ActionTable> actions = ActionTable::Build(config, deps);
  if (!actions) return actions.error();
  stack->actions_ = std::make_unique<ActionTable>(std::move(*actions));

  DeliveryEngineOptions engine_options;
  engine_options.max_in_flight = config.performance.max_in_flight;
  engine_options.max_in_flight_per_target = config.performance.max_in_flight_per_target;
  engine_options.claim_batch = config.job_queue.value_or(JobQueueConfig{}).batch_size;
  engine_options.circuit_breaker = config.circuit_breaker;
  engine_options.on_finished = std::move(options.on_finished);
  stack->engine_ = std::make_unique<DeliveryEngine>(*stack->actions_, queue, clock, std::move(engine_options));
  return stack;
}

DeliveryStack::~DeliveryStack() { Shutdown(std::chrono::milliseconds(0)); }

void DeliveryStack::Start() { engine_->Start(); }

size_t DeliveryStack::Shutdown(std::chrono::milliseconds timeout) {
  if (shut_down_) return 0;
  shut_down_ = true;
  const size_t abandoned = engine_ ? engine_->Stop(timeout) : 0;
  blocking_.reset();
  http_.reset();
  engine_.reset();
  actions_.reset();
  return abandoned;
}

}  // namespace fraiseql
