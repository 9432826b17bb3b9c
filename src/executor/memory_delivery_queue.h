// MemoryDeliveryQueue and MemoryDeadLetterSink: the in-memory DeliverySource and DeadLetterSink,
// for `debug-event --execute`, tests, and deployments that accept losing queued work on a crash.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <span>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "executor/delivery_source.h"

namespace fraiseql {

class MemoryDeliveryQueue final : public DeliverySource {
 public:
  // `clock` decides when a rescheduled delivery is due; borrowed, must outlive the queue.
  explicit MemoryDeliveryQueue(Clock* clock);

  // Adds deliveries, due now.
  void Push(std::vector<Delivery> deliveries) LOCKS_EXCLUDED(mu_);

  std::vector<Delivery> Claim(size_t max, std::chrono::steady_clock::time_point deadline,
                              std::stop_token stop) override LOCKS_EXCLUDED(mu_);
  void Complete(const Delivery& delivery) override LOCKS_EXCLUDED(mu_);
  void Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) override
      LOCKS_EXCLUDED(mu_);
  void Wake(std::span<const std::string> delivery_ids) override LOCKS_EXCLUDED(mu_);

  // Deliveries not yet completed: waiting plus claimed.
  size_t outstanding() const LOCKS_EXCLUDED(mu_);
  // Deliveries waiting to be claimed (due or not).
  size_t waiting() const LOCKS_EXCLUDED(mu_);
  // Waits until nothing is outstanding; false when `deadline` passed first.
  bool WaitUntilIdle(std::chrono::steady_clock::time_point deadline) const LOCKS_EXCLUDED(mu_);

 private:
  using WaitingMap = std::multimap<std::chrono::system_clock::time_point, Delivery>;

  void InsertLocked(Delivery delivery, std::chrono::system_clock::time_point run_at)
      EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock* const clock_;
  mutable Mutex mu_;
  mutable std::condition_variable changed_;
  WaitingMap waiting_ GUARDED_BY(mu_);
  std::unordered_map<std::string, WaitingMap::iterator> by_id_ GUARDED_BY(mu_);
  size_t claimed_ GUARDED_BY(mu_) = 0;
};

class MemoryDeadLetterSink final : public DeadLetterSink {
 public:
  void Add(DeadLetter letter) override LOCKS_EXCLUDED(mu_);

  std::vector<DeadLetter> letters() const LOCKS_EXCLUDED(mu_);

 private:
  mutable Mutex mu_;
  std::vector<DeadLetter> letters_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
