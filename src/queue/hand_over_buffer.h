// HandOverBuffer: the bounded buffer through which a local listener hands its committed jobs to
// this process's workers without a claim round trip (PostgresJobQueue::HandOver). Its when-full
// policy is "block the producer": the listener waits for room (guarantee 5, backpressure), with a
// deadline so that waiting never keeps it from renewing its lease.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <stop_token>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "delivery/delivery.h"

namespace fraiseql {

class HandOverBuffer {
 public:
  // Room() is 0 once `capacity` deliveries wait. `clock` bounds WaitForRoom; borrowed.
  HandOverBuffer(size_t capacity, Clock& clock);

  // Appends, even past the capacity (the jobs are committed: they must run); producers keep to
  // the capacity by waiting for room first.
  void Push(std::vector<Delivery> deliveries) LOCKS_EXCLUDED(mu_);
  // Up to `max` deliveries, oldest first; frees room.
  std::vector<Delivery> Take(size_t max) LOCKS_EXCLUDED(mu_);
  std::vector<Delivery> TakeAll() LOCKS_EXCLUDED(mu_);

  size_t size() const LOCKS_EXCLUDED(mu_);
  bool empty() const { return size() == 0; }
  // How many more deliveries fit: capacity minus those waiting, or 0.
  size_t Room() const LOCKS_EXCLUDED(mu_);
  // Blocks until Room() > 0 (true), or `deadline` passes or `stop` is requested (false).
  bool WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) LOCKS_EXCLUDED(mu_);

 private:
  const size_t capacity_;
  Clock& clock_;
  mutable Mutex mu_;
  std::condition_variable room_freed_;
  std::deque<Delivery> deliveries_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
