// DeliveryStack: the delivery half of the process built from a Config — the curl-multi HTTP
// engine with the SSRF guard, a worker pool for blocking actions, every observer's actions, and
// the delivery engine — started and torn down in the one order that is safe.
// Thread-safety: create, start and shut down from one thread; the engine runs on its own.
#pragma once

#include <chrono>
#include <memory>

#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "executor/action_table.h"
#include "executor/delivery_engine.h"
#include "executor/worker_pool.h"
#include "http/curl_engine.h"
#include "queue/job_queue.h"

namespace fraiseql {

struct DeliveryStackOptions {
  // Reads an environment variable (DATABASE_URL for database actions); default: the process's.
  std::function<std::optional<std::string>(std::string_view)> getenv;
  // Passed to the engine (DeliveryEngineOptions::on_finished).
  std::function<void(const Delivery&, FinalOutcome)> on_finished;
  size_t blocking_threads = 8;  // SMTP sessions and SQL calls running at once
};

class DeliveryStack {
 public:
  // Everything is borrowed and must outlive the stack. Errors name each action that cannot be
  // built (e.g. an email action without an [email] section) or a bad allow-list.
  static Result<std::unique_ptr<DeliveryStack>> Create(const Config& config, JobQueue& queue, Clock& clock,
                                                       DeliveryStackOptions options = {});
  ~DeliveryStack();  // Shutdown(0ms) if not done
  DeliveryStack(const DeliveryStack&) = delete;
  DeliveryStack& operator=(const DeliveryStack&) = delete;

  void Start();
  // Stops the engine (see DeliveryEngine::Stop), then the worker pool and the HTTP engine.
  // Returns the attempts abandoned at the timeout. Idempotent.
  size_t Shutdown(std::chrono::milliseconds timeout);

  const ActionTable& actions() const { return *actions_; }

 private:
  DeliveryStack() = default;

  // Declared in construction order; Shutdown() destroys them in the reverse order explicitly:
  // the engine first (no new attempts), then the pool (its queued SMTP/SQL calls finish, reporting
  // into the stopped engine), then the HTTP engine (fails what is left), and the actions last,
  // because every one of those may still be running action code.
  std::unique_ptr<WorkerPool> blocking_;
  std::unique_ptr<HttpClient> http_;  // [performance] http_threads CurlEngines, round robin
  std::unique_ptr<ActionTable> actions_;
  std::unique_ptr<DeliveryEngine> engine_;
  bool shut_down_ = false;
};

}  // namespace fraiseql
