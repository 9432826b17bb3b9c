// MemoryJobQueue: the JobQueue contract in memory, for one process (`debug-event --execute`, the
// in-memory pipeline of tests): nothing survives the process. Dead letters go to a DeadLetterStore.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "dlq/dead_letter_store.h"
#include "dlq/memory_dead_letter_store.h"
#include "queue/job_queue.h"

namespace fraiseql {

class MemoryJobQueue final : public JobQueue, public RedriveTarget {
 public:
  // `clock` decides when a delivery is due and bounds Claim's wait; `dead_letters` keeps what
  // CompleteWithDeadLetter hands it. Both borrowed; they must outlive the queue.
  MemoryJobQueue(Clock& clock, DeadLetterStore& dead_letters);

  // Adds deliveries, due now. One whose id is queued already (waiting or claimed) is left out,
  // as the PostgreSQL queue's insert leaves it: returns how many were added.
  size_t Push(std::vector<Delivery> deliveries) LOCKS_EXCLUDED(mu_);

  // JobQueue.
  std::vector<Delivery> Claim(size_t max, std::chrono::steady_clock::time_point deadline,
                              std::stop_token stop) override LOCKS_EXCLUDED(mu_);
  void Complete(const Delivery& delivery) override LOCKS_EXCLUDED(mu_);
  void Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) override LOCKS_EXCLUDED(mu_);
  void CompleteWithDeadLetter(const Delivery& delivery, DeadLetter letter) override LOCKS_EXCLUDED(mu_);
  void Wake(std::span<const std::string> delivery_ids) override LOCKS_EXCLUDED(mu_);

  // RedriveTarget (the memory dead-letter store's Retry).
  bool Contains(std::string_view delivery_id) const override LOCKS_EXCLUDED(mu_);
  bool Enqueue(Delivery delivery) override LOCKS_EXCLUDED(mu_);

  // Deliveries not yet finished: waiting plus claimed (plus those whose dead letter is being stored).
  size_t outstanding() const LOCKS_EXCLUDED(mu_);
  // Deliveries waiting to be claimed (due or not).
  size_t waiting() const LOCKS_EXCLUDED(mu_);
  // Waits until nothing is outstanding; false when `deadline` (on the clock) passed first.
  bool WaitUntilIdle(std::chrono::steady_clock::time_point deadline) const LOCKS_EXCLUDED(mu_);
  // Waits until fewer than `limit` deliveries wait to be claimed: the backpressure of a producer
  // that must not run ahead of the workers. False when `deadline` passed or `stop` was requested.
  bool WaitUntilWaitingBelow(size_t limit, std::chrono::steady_clock::time_point deadline, std::stop_token stop) const
      LOCKS_EXCLUDED(mu_);

 private:
  using WaitingMap = std::multimap<std::chrono::system_clock::time_point, Delivery>;

  bool InsertLocked(Delivery delivery, std::chrono::system_clock::time_point run_at) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes waiters of changed_, also when `stop` is requested while one waits.
  void NotifyChanged() const LOCKS_EXCLUDED(mu_);

  Clock& clock_;
  DeadLetterStore& dead_letters_;
  mutable Mutex mu_;
  mutable std::condition_variable changed_;
  WaitingMap waiting_ GUARDED_BY(mu_);
  std::unordered_map<std::string, WaitingMap::iterator> by_id_ GUARDED_BY(mu_);
  std::unordered_set<std::string> claimed_ GUARDED_BY(mu_);
  size_t finishing_ GUARDED_BY(mu_) = 0;  // dead-lettered, their letters not yet stored
};

}  // namespace fraiseql
