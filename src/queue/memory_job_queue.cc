#include "queue/memory_job_queue.h"

#include <algorithm>
#include <utility>

#include "common/log.h"

namespace fraiseql {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

}  // namespace

MemoryJobQueue::MemoryJobQueue(Clock& clock, DeadLetterStore& dead_letters)
    : clock_(clock), dead_letters_(dead_letters) {}

void MemoryJobQueue::NotifyChanged() const {
  // Taking the mutex first means the notification cannot fall between a waiter's check and its
  // wait.
  MutexLock lock(&mu_);
  changed_.notify_all();
}

bool MemoryJobQueue::InsertLocked(Delivery delivery, std::chrono::system_clock::time_point run_at) {
  if (by_id_.contains(delivery.id) || claimed_.contains(delivery.id)) return false;
  std::string id = delivery.id;
  by_id_.emplace(std::move(id), waiting_.emplace(run_at, std::move(delivery)));
  return true;
}

size_t MemoryJobQueue::Push(std::vector<Delivery> deliveries) {
  size_t added = 0;
  {
    MutexLock lock(&mu_);
    const auto now = clock_.Now();
    for (Delivery& delivery : deliveries) {
      if (InsertLocked(std::move(delivery), now)) ++added;
    }
  }
  changed_.notify_all();
  return added;
}

std::vector<Delivery> MemoryJobQueue::Claim(size_t max, SteadyTime deadline, std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] { NotifyChanged(); });
  std::vector<Delivery> claimed;
  MutexLock lock(&mu_);
  for (;;) {
    const auto now = clock_.Now();
    while (claimed.size() < max && !waiting_.empty() && waiting_.begin()->first <= now) {
      auto first = waiting_.begin();
      by_id_.erase(first->second.id);
      claimed_.insert(first->second.id);
      claimed.push_back(std::move(first->second));
      waiting_.erase(first);
    }
    if (!claimed.empty()) {
      changed_.notify_all();  // room for a producer waiting in WaitUntilWaitingBelow
      break;
    }
    if (max == 0 || stop.stop_requested()) break;
    SteadyTime wake_at = deadline;
    if (!waiting_.empty()) {
      // The first waiting delivery becomes due then; Reschedule and Push notify earlier ones.
      const auto due_in = std::chrono::duration_cast<std::chrono::steady_clock::duration>(waiting_.begin()->first - now);
      wake_at = std::min(wake_at, clock_.SteadyNow() + due_in);
    }
    if (!clock_.WaitUntil(mu_, changed_, wake_at) && wake_at == deadline) break;
  }
  return claimed;
}

void MemoryJobQueue::Complete(const Delivery& delivery) {
  {
    MutexLock lock(&mu_);
    claimed_.erase(delivery.id);
  }
  changed_.notify_all();
}

void MemoryJobQueue::Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) {
  {
    MutexLock lock(&mu_);
    if (claimed_.erase(delivery.id) == 0) return;  // not ours: completed meanwhile, or never claimed
    InsertLocked(std::move(delivery), run_at);
  }
  changed_.notify_all();
}

void MemoryJobQueue::CompleteWithDeadLetter(const Delivery& delivery, DeadLetter letter) {
  // The delivery leaves the queue first, so a Retry running in between finds neither it nor its
  // letter (nothing to do yet), never the letter with the delivery still claimed (which it would
  // take for queued, drop the letter, and lose both). It counts as outstanding until the letter
  // is stored, so whoever waits for the queue to be idle sees the letter.
  {
    MutexLock lock(&mu_);
    claimed_.erase(delivery.id);
    ++finishing_;
  }
  // Outside mu_: the store calls back into Enqueue (under its own lock) when it re-drives.
  if (Result<void> added = dead_letters_.Add({&letter, 1}); !added) {
    log::Error("memory job queue: a dead letter was refused",
               {{"delivery_id", delivery.id}, {"error", added.error().message}});
  }
  {
    MutexLock lock(&mu_);
    --finishing_;
  }
  changed_.notify_all();
}

void MemoryJobQueue::Wake(std::span<const std::string> delivery_ids) {
  {
    MutexLock lock(&mu_);
    const auto now = clock_.Now();
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

bool MemoryJobQueue::Contains(std::string_view delivery_id) const {
  MutexLock lock(&mu_);
  const std::string id(delivery_id);
  return by_id_.contains(id) || claimed_.contains(id);
}

bool MemoryJobQueue::Enqueue(Delivery delivery) {
  bool added = false;
  {
    MutexLock lock(&mu_);
    added = InsertLocked(std::move(delivery), clock_.Now());
  }
  changed_.notify_all();
  return added;
}

size_t MemoryJobQueue::outstanding() const {
  MutexLock lock(&mu_);
  return waiting_.size() + claimed_.size() + finishing_;
}

size_t MemoryJobQueue::waiting() const {
  MutexLock lock(&mu_);
  return waiting_.size();
}

bool MemoryJobQueue::WaitUntilIdle(SteadyTime deadline) const {
  MutexLock lock(&mu_);
  auto idle = [&]() EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waiting_.empty() && claimed_.empty() && finishing_ == 0; };
  while (!idle()) {
    if (!clock_.WaitUntil(mu_, changed_, deadline)) return idle();
  }
  return true;
}

bool MemoryJobQueue::WaitUntilWaitingBelow(size_t limit, SteadyTime deadline, std::stop_token stop) const {
  std::stop_callback on_stop(stop, [this] { NotifyChanged(); });
  MutexLock lock(&mu_);
  while (waiting_.size() >= limit) {
    if (stop.stop_requested()) return false;
    if (!clock_.WaitUntil(mu_, changed_, deadline)) return waiting_.size() < limit;
  }
  return true;
}

}  // namespace fraiseql
