#include "checkpoint/memory_checkpoint_store.h"

#include <utility>

namespace fraiseql {

using checkpoint_internal::ValidateCheckpoint;

Result<std::optional<Checkpoint>> MemoryCheckpointStore::Load(std::string_view listener_id) {
  MutexLock lock(&mu_);
  auto it = checkpoints_.find(listener_id);
  if (it == checkpoints_.end()) return std::optional<Checkpoint>();
  return std::optional<Checkpoint>(it->second);
}

Result<void> MemoryCheckpointStore::Save(const Checkpoint& checkpoint) {
  FRAISEQL_RETURN_IF_ERROR(ValidateCheckpoint(checkpoint));
  MutexLock lock(&mu_);
  Checkpoint stored = checkpoint;
  stored.updated_at = clock_.Now();
  auto it = checkpoints_.find(checkpoint.listener_id);
  if (it == checkpoints_.end()) {
    checkpoints_.emplace(checkpoint.listener_id, std::move(stored));
    return Ok();
  }
  if (it->second.lease_epoch != checkpoint.lease_epoch) {
    AppendHistory(HistoryOf(it->second,
                            checkpoint_internal::FailoverReason(it->second.lease_epoch, checkpoint.lease_epoch),
                            checkpoint.updated_by));
  }
  it->second = std::move(stored);
  return Ok();
}

Result<bool> MemoryCheckpointStore::CompareAndSwap(std::string_view listener_id, int64_t expected_epoch,
                                                   ChangeLogPosition expected_position, const Checkpoint& next) {
  FRAISEQL_RETURN_IF_ERROR(ValidateCheckpoint(next));
  if (next.listener_id != listener_id) {
    return Error::InvalidArgument("compare-and-swap of '" + std::string(listener_id) +
                                  "' with a checkpoint of '" + next.listener_id + "'");
  }
  if (next.lease_epoch < expected_epoch) {
    return Error::InvalidArgument("compare-and-swap of '" + std::string(listener_id) + "' would lower the epoch from " +
                                  std::to_string(expected_epoch) + " to " + std::to_string(next.lease_epoch));
  }
  MutexLock lock(&mu_);
  Checkpoint stored = next;
  stored.updated_at = clock_.Now();
  auto it = checkpoints_.find(listener_id);
  if (it == checkpoints_.end()) {
    if (expected_epoch != 0 || expected_position != ChangeLogPosition{}) return false;
    checkpoints_.emplace(std::string(listener_id), std::move(stored));
    return true;
  }
  if (it->second.lease_epoch != expected_epoch || it->second.position != expected_position) return false;
  if (next.lease_epoch != expected_epoch) {
    AppendHistory(HistoryOf(it->second, checkpoint_internal::FailoverReason(expected_epoch, next.lease_epoch),
                            next.updated_by));
  }
  it->second = std::move(stored);
  return true;
}

Result<bool> MemoryCheckpointStore::Delete(std::string_view listener_id) {
  MutexLock lock(&mu_);
  auto it = checkpoints_.find(listener_id);
  if (it == checkpoints_.end()) return false;
  AppendHistory(HistoryOf(it->second, std::string(checkpoint_internal::kResetReason), std::nullopt));
  checkpoints_.erase(it);
  return true;
}

Result<void> MemoryCheckpointStore::MoveTo(std::string_view listener_id, ChangeLogPosition position,
                                           std::string_view reason) {
  Checkpoint created;
  created.listener_id = std::string(listener_id);
  created.position = position;
  FRAISEQL_RETURN_IF_ERROR(ValidateCheckpoint(created));
  MutexLock lock(&mu_);
  auto it = checkpoints_.find(listener_id);
  if (it == checkpoints_.end()) {
    // Nothing was stored: the history row records "the beginning", without the other fields.
    AppendHistory(CheckpointHistoryEntry{created.listener_id, {}, std::nullopt, std::nullopt, std::nullopt,
                                         std::nullopt, clock_.Now(),
                                         checkpoint_internal::MoveReason(position, reason)});
    created.updated_at = clock_.Now();
    checkpoints_.emplace(created.listener_id, std::move(created));
    return Ok();
  }
  AppendHistory(HistoryOf(it->second, checkpoint_internal::MoveReason(position, reason), std::nullopt));
  it->second.position = position;
  it->second.updated_at = clock_.Now();
  return Ok();
}

Result<std::vector<CheckpointHistoryEntry>> MemoryCheckpointStore::History(std::string_view listener_id,
                                                                           size_t limit) {
  MutexLock lock(&mu_);
  std::vector<CheckpointHistoryEntry> entries;
  auto it = history_.find(listener_id);
  if (it == history_.end()) return entries;
  for (auto entry = it->second.rbegin(); entry != it->second.rend() && entries.size() < limit; ++entry) {
    entries.push_back(*entry);
  }
  return entries;
}

CheckpointHistoryEntry MemoryCheckpointStore::HistoryOf(const Checkpoint& before, std::string reason,
                                                        std::optional<std::string> by) {
  return CheckpointHistoryEntry{before.listener_id, before.position, before.lease_epoch, before.batch_size,
                                before.event_count, std::move(by), clock_.Now(), std::move(reason)};
}

void MemoryCheckpointStore::AppendHistory(CheckpointHistoryEntry entry) {
  std::deque<CheckpointHistoryEntry>& rows = history_[entry.listener_id];
  rows.push_back(std::move(entry));
  while (rows.size() > kMaxHistoryPerListener) rows.pop_front();
}

}  // namespace fraiseql
