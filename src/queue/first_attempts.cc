#include "queue/first_attempts.h"

#include <algorithm>
#include <utility>

namespace fraiseql {

std::pair<FirstAttempts::BatchId, std::vector<Delivery>> FirstAttempts::Start(std::span<const NewJob> jobs) {
  MutexLock lock(&mu_);
  const BatchId id = next_batch_++;
  Batch& batch = batches_[id];
  batch.last_progress = clock_.SteadyNow();
  std::vector<Delivery> to_start;
  to_start.reserve(jobs.size());
  for (const NewJob& job : jobs) {
    auto [it, inserted] = entries_.try_emplace(job.delivery.id);
    Entry& entry = it->second;
    if (!inserted) {
      // Listed twice in this batch, or (never, with one listener thread) in another open one:
      // that batch writes it.
      if (entry.batch != 0) continue;
      // An orphan still running: this batch adopts its attempt.
      entry.batch = id;
      entry.job = job;
    } else {
      entry = Entry{id, job, std::nullopt, false};
      to_start.push_back(job.delivery);
    }
    batch.ids.push_back(job.delivery.id);
    ++batch.unsettled;
  }
  if (batch.unsettled == 0) settled_.notify_all();
  return {id, std::move(to_start)};
}

std::optional<FirstAttemptOutcome> FirstAttempts::Report(const std::string& delivery_id,
                                                         FirstAttemptOutcome outcome) {
  MutexLock lock(&mu_);
  auto it = entries_.find(delivery_id);
  if (it == entries_.end()) return outcome;
  Entry& entry = it->second;
  if (entry.batch == 0) {  // an orphan's outcome: its batch will be read again
    entries_.erase(it);
    return std::nullopt;
  }
  const bool first_outcome = !entry.outcome.has_value();
  entry.outcome = std::move(outcome);
  Batch& batch = batches_.at(entry.batch);
  if (first_outcome && !batch.sealed) {
    batch.last_progress = clock_.SteadyNow();
    if (--batch.unsettled == 0) settled_.notify_all();
  }
  return std::nullopt;
}

void FirstAttempts::Wake(std::span<const std::string> delivery_ids, std::chrono::system_clock::time_point now) {
  MutexLock lock(&mu_);
  for (const std::string& id : delivery_ids) {
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.outcome) continue;
    FirstAttemptOutcome& outcome = *it->second.outcome;
    if (outcome.kind == FirstAttemptOutcome::Kind::kGivenBack) outcome.run_at = std::min(outcome.run_at, now);
  }
}

bool FirstAttempts::WaitSettled(BatchId batch, std::chrono::steady_clock::time_point deadline,
                                std::chrono::steady_clock::duration stall) {
  MutexLock lock(&mu_);
  for (;;) {
    auto it = batches_.find(batch);
    if (it == batches_.end() || it->second.unsettled == 0) return true;
    // Woken by the last outcome, or at the deadline or the end of the quiet spell, whichever
    // is first; an outcome meanwhile moves the quiet spell's end, and the loop looks again.
    const auto wake_at = std::min(deadline, it->second.last_progress + stall);
    if (clock_.SteadyNow() >= wake_at) return false;
    clock_.WaitUntil(mu_, settled_, wake_at);
  }
}

FirstAttempts::ToWrite FirstAttempts::Seal(BatchId id) {
  MutexLock lock(&mu_);
  ToWrite out;
  auto found = batches_.find(id);
  if (found == batches_.end()) return out;
  Batch& batch = found->second;
  batch.sealed = true;
  for (const std::string& delivery_id : batch.ids) {
    Entry& entry = entries_.at(delivery_id);
    if (!entry.outcome) {
      entry.sealed_running = true;
      out.jobs.push_back(entry.job);
      continue;
    }
    FirstAttemptOutcome& outcome = *entry.outcome;
    switch (outcome.kind) {
      case FirstAttemptOutcome::Kind::kDone:
        ++out.done;
        break;
      case FirstAttemptOutcome::Kind::kGivenBack:
        out.jobs.push_back(NewJob{std::move(outcome.delivery), entry.job.change_log_pk, outcome.run_at});
        break;
      case FirstAttemptOutcome::Kind::kDeadLettered:
        if (outcome.letter) out.dead_letters.push_back(std::move(*outcome.letter));
        break;
    }
  }
  return out;
}

std::vector<FirstAttempts::Late> FirstAttempts::Written(BatchId id) {
  MutexLock lock(&mu_);
  std::vector<Late> late;
  auto found = batches_.find(id);
  if (found == batches_.end()) return late;
  for (const std::string& delivery_id : found->second.ids) {
    auto it = entries_.find(delivery_id);
    if (it == entries_.end()) continue;
    if (it->second.sealed_running && it->second.outcome) late.push_back({delivery_id, std::move(*it->second.outcome)});
    entries_.erase(it);
  }
  batches_.erase(found);
  return late;
}

void FirstAttempts::Abandon(BatchId id) {
  MutexLock lock(&mu_);
  auto found = batches_.find(id);
  if (found == batches_.end()) return;
  for (const std::string& delivery_id : found->second.ids) {
    auto it = entries_.find(delivery_id);
    if (it == entries_.end()) continue;
    if (it->second.outcome) {
      entries_.erase(it);
    } else {
      it->second.batch = 0;
      it->second.sealed_running = false;
    }
  }
  batches_.erase(found);
}

bool FirstAttempts::Contains(const std::string& delivery_id) const {
  MutexLock lock(&mu_);
  return entries_.contains(delivery_id);
}

size_t FirstAttempts::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace fraiseql
