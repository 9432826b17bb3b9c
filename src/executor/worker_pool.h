// WorkerPool: a fixed set of threads running posted tasks in FIFO order; the TaskRunner that
// blocking actions (email, database functions) run on.
// Thread-safety: Post() from any thread. The destructor runs every task already posted, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/task_runner.h"
#include "common/thread_annotations.h"

namespace fraiseql {

class WorkerPool final : public TaskRunner {
 public:
  // REQUIRES: threads >= 1.
  explicit WorkerPool(size_t threads);
  ~WorkerPool() override;

  void Post(std::function<void()> task) override LOCKS_EXCLUDED(mu_);

  // Tasks posted and not yet started.
  size_t pending() const LOCKS_EXCLUDED(mu_);

 private:
  void Run();

  mutable Mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::jthread> threads_;
};

}  // namespace fraiseql
