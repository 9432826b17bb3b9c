// MemoryChangeLog: a ChangeLogSource held in memory: rows are appended as committed, each with a
// transaction id of its own, read back in order, and their news wakes a listening waiter on the
// injected Clock. The listener loop's tests run on it with a FakeClock; outages are injected.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "listener/change_log_source.h"

namespace fraiseql {

class MemoryChangeLog final : public ChangeLogSource {
 public:
  explicit MemoryChangeLog(Clock& clock) : clock_(clock) {}

  // Appends a committed row; its pk (when 0) and txid are the next numbers. Returns its position.
  ChangeLogPosition Append(ChangeLogRow row) LOCKS_EXCLUDED(mu_);
  // Appends a row that could not be converted (as a legacy column's bad value would be read).
  ChangeLogPosition AppendUnreadable(Error why, nlohmann::json raw) LOCKS_EXCLUDED(mu_);
  // While set, every call fails kUnavailable (an outage of the database).
  void SetUnavailable(bool unavailable) LOCKS_EXCLUDED(mu_);
  size_t reads() const LOCKS_EXCLUDED(mu_);

  Result<std::vector<ChangeLogEntry>> Read(ChangeLogPosition after, ReadLimits limits) override LOCKS_EXCLUDED(mu_);
  Result<bool> HasHeldBackRows(ChangeLogPosition after) override LOCKS_EXCLUDED(mu_);
  Result<BacklogEstimate> EstimateBacklog(ChangeLogPosition after) override LOCKS_EXCLUDED(mu_);
  // Rows keep one txid each, equal to their pk: the position right at the id.
  Result<ChangeLogPosition> LegacyPosition(int64_t last_processed_id) override LOCKS_EXCLUDED(mu_);
  Result<void> Listen() override LOCKS_EXCLUDED(mu_);
  void StopListening() override LOCKS_EXCLUDED(mu_);
  Result<Wake> WaitForNews(std::chrono::steady_clock::time_point deadline, std::stop_token stop) override
      LOCKS_EXCLUDED(mu_);

 private:
  ChangeLogPosition AppendLocked(ChangeLogEntry entry) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static size_t EntryBytes(const ChangeLogEntry& entry);
  Result<void> CheckAvailableLocked() const EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  mutable Mutex mu_;
  std::condition_variable changed_;
  std::vector<ChangeLogEntry> entries_ GUARDED_BY(mu_);
  int64_t next_ GUARDED_BY(mu_) = 1;
  bool listening_ GUARDED_BY(mu_) = false;
  bool news_ GUARDED_BY(mu_) = false;
  bool unavailable_ GUARDED_BY(mu_) = false;
  size_t reads_ GUARDED_BY(mu_) = 0;
};

}  // namespace fraiseql
