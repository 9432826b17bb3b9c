// MemoryCheckpointStore: the CheckpointStore contract kept in process memory, for tests and for
// `--checkpoint memory` development runs; nothing survives the process (zero loss does not hold).
// Thread-safety: all methods may be called concurrently (one mutex).
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_store.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace fraiseql {

class MemoryCheckpointStore final : public CheckpointStore {
 public:
  // History rows kept per listener; older ones are dropped (bounded memory, guarantee 5).
  static constexpr size_t kMaxHistoryPerListener = 1000;

  // `clock` stamps updated_at and history rows; borrowed, must outlive the store.
  explicit MemoryCheckpointStore(Clock& clock) : clock_(clock) {}

  Result<std::optional<Checkpoint>> Load(std::string_view listener_id) override LOCKS_EXCLUDED(mu_);
  Result<void> Save(const Checkpoint& checkpoint) override LOCKS_EXCLUDED(mu_);
  Result<bool> CompareAndSwap(std::string_view listener_id, int64_t expected_epoch,
                              ChangeLogPosition expected_position, const Checkpoint& next) override
      LOCKS_EXCLUDED(mu_);
  Result<bool> Delete(std::string_view listener_id) override LOCKS_EXCLUDED(mu_);
  Result<void> MoveTo(std::string_view listener_id, ChangeLogPosition position, std::string_view reason) override
      LOCKS_EXCLUDED(mu_);
  Result<std::vector<CheckpointHistoryEntry>> History(std::string_view listener_id, size_t limit) override
      LOCKS_EXCLUDED(mu_);

 private:
  CheckpointHistoryEntry HistoryOf(const Checkpoint& before, std::string reason, std::optional<std::string> by);
  void AppendHistory(CheckpointHistoryEntry entry) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  Mutex mu_;
  std::map<std::string, Checkpoint, std::less<>> checkpoints_ GUARDED_BY(mu_);
  std::map<std::string, std::deque<CheckpointHistoryEntry>, std::less<>> history_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
