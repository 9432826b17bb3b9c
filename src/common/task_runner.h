// TaskRunner: somewhere to run blocking work (an SMTP session, a SQL call) off the threads that
// must never block (the HTTP engine's, the dispatcher's). executor/worker_pool.h implements it.
// Thread-safety: Post() may be called from any thread.
#pragma once

#include <functional>

namespace fraiseql {

class TaskRunner {
 public:
  TaskRunner() = default;
  virtual ~TaskRunner() = default;
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Runs `task` once, on some thread of the runner, as soon as one is free. Tasks posted before
  // the runner is destroyed still run (its destructor drains them).
  virtual void Post(std::function<void()> task) = 0;
};

}  // namespace fraiseql
