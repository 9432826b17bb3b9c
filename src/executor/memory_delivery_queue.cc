#include "executor/memory_delivery_queue.h"

#include <algorithm>
#include <utility>

namespace fraiseql {

MemoryDeliveryQueue::MemoryDeliveryQueue(Clock* clock) : clock_(clock) {}

void MemoryDeliveryQueue::Push(std::vector<Delivery> deliveries) {
  {
    MutexLock lock(&mu_);
    const auto now = clock_->Now();
    for (Delivery& delivery : deliveries) InsertLocked(std::move(delivery), now);
  }
  changed_.notify_all();
}

void MemoryDeliveryQueue::InsertLocked(Delivery delivery, std::chrono::system_clock::time_point run_at) {
  std::string id = delivery.id;
  by_id_[std::move(id)] = waiting_.emplace(run_at, std::move(delivery));
}

std::vector<Delivery> MemoryDeliveryQueue::Claim(size_t max, std::chrono::steady_clock::time_point deadline,
                                                 std::stop_token stop) {
  // Wakes the wait below when a stop is requested; taking the mutex first means the notification
  // cannot fall between the waiter's check and its wait.
  std::stop_callback on_stop(stop, [this] {
    MutexLock lock(&mu_);
    changed_.notify_all();
  });
  std::vector<Delivery> claimed;
  MutexLock lock(&mu_);
  for (;;) {
    const auto now = clock_->Now();
    while (claimed.size() < max && !waiting_.empty() && waiting_.begin()->first <= now) {
      auto first = waiting_.begin();
      by_id_.erase(first->second.id);
      claimed.push_back(std::move(first->second));
      waiting_.erase(first);
    }
    if (!claimed.empty() || max == 0 || stop.stop_requested()) break;
    const auto steady_now = std::chrono::steady_clock::now();
    if (steady_now >= deadline) break;
    auto wake_at = deadline;
    if (!waiting_.empty()) {
      const auto due_in = waiting_.begin()->first - now;
      wake_at = std::min(wake_at, steady_now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(due_in));
    }
    mu_.WaitUntil(changed_, wake_at);
  }
  claimed_ += claimed.size();
  return claimed;
}

void MemoryDeliveryQueue::Complete(const Delivery& /*delivery*/) {
  {
    MutexLock lock(&mu_);
    if (claimed_ > 0) --claimed_;
  }
  changed_.notify_all();
}

void MemoryDeliveryQueue::Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) {
  {
    MutexLock lock(&mu_);
    if (claimed_ > 0) --claimed_;
    InsertLocked(std::move(delivery), run_at);
  }
  changed_.notify_all();
}

void MemoryDeliveryQueue::Wake(std::span<const std::string> delivery_ids) {
  {
    MutexLock lock(&mu_);
    const auto now = clock_->Now();
    for (const std::string& id : delivery_ids) {
      const auto found = by_id_.find(id);
      if (found == by_id_.end() || found->second->first <= now) continue;
      Delivery delivery = std::move(found->second->second);
      waiting_.erase(found->second);
      by_id_.erase(found);
      InsertLocked(std::move(delivery), now);
    }
  }
  changed_.notify_all();
}

size_t MemoryDeliveryQueue::outstanding() const {
  MutexLock lock(&mu_);
  return waiting_.size() + claimed_;
}

size_t MemoryDeliveryQueue::waiting() const {
  MutexLock lock(&mu_);
  return waiting_.size();
}

bool MemoryDeliveryQueue::WaitUntilIdle(std::chrono::steady_clock::time_point deadline) const {
  MutexLock lock(&mu_);
  while (!waiting_.empty() || claimed_ > 0) {
    if (!mu_.WaitUntil(changed_, deadline) && std::chrono::steady_clock::now() >= deadline) {
      return waiting_.empty() && claimed_ == 0;
    }
  }
  return true;
}

void MemoryDeadLetterSink::Add(DeadLetter letter) {
  MutexLock lock(&mu_);
  letters_.push_back(std::move(letter));
}

std::vector<DeadLetter> MemoryDeadLetterSink::letters() const {
  MutexLock lock(&mu_);
  return letters_;
}

}  // namespace fraiseql
