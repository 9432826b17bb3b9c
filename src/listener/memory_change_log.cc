#include "listener/memory_change_log.h"

#include <utility>

namespace fraiseql {

ChangeLogPosition MemoryChangeLog::AppendLocked(ChangeLogEntry entry) {
  const int64_t n = entry.position.pk > 0 ? entry.position.pk : next_;
  next_ = n + 1;
  entry.position = ChangeLogPosition{static_cast<uint64_t>(n), n};
  if (entry.row) entry.row->pk = n;
  entries_.push_back(std::move(entry));
  if (listening_) news_ = true;
  changed_.notify_all();
  return entries_.back().position;
}

ChangeLogPosition MemoryChangeLog::Append(ChangeLogRow row) {
  MutexLock lock(&mu_);
  ChangeLogEntry entry;
  entry.position.pk = row.pk;
  entry.row = std::move(row);
  return AppendLocked(std::move(entry));
}

ChangeLogPosition MemoryChangeLog::AppendUnreadable(Error why, nlohmann::json raw) {
  MutexLock lock(&mu_);
  ChangeLogEntry entry;
  entry.row = std::move(why);
  entry.raw = std::move(raw);
  return AppendLocked(std::move(entry));
}

void MemoryChangeLog::SetUnavailable(bool unavailable) {
  MutexLock lock(&mu_);
  unavailable_ = unavailable;
}

size_t MemoryChangeLog::reads() const {
  MutexLock lock(&mu_);
  return reads_;
}

// What the row weighs as text, as PostgreSQL's reader would receive it.
size_t MemoryChangeLog::EntryBytes(const ChangeLogEntry& entry) {
  if (!entry.row) return entry.raw.dump().size();
  return ChangeLogRowToJson(*entry.row, entry.position).dump().size();
}

Result<void> MemoryChangeLog::CheckAvailableLocked() const {
  if (unavailable_) return Error::Unavailable("the change log is unavailable (an outage injected by a test)");
  return Ok();
}

Result<std::vector<ChangeLogEntry>> MemoryChangeLog::Read(ChangeLogPosition after, ReadLimits limits) {
  MutexLock lock(&mu_);
  FRAISEQL_RETURN_IF_ERROR(CheckAvailableLocked());
  ++reads_;
  std::vector<ChangeLogEntry> out;
  size_t bytes = 0;
  for (const ChangeLogEntry& entry : entries_) {
    if (out.size() >= limits.rows) break;
    if (entry.position <= after) continue;
    bytes += EntryBytes(entry);
    if (!out.empty() && bytes > limits.bytes) break;
    out.push_back(entry);
  }
  return out;
}

Result<bool> MemoryChangeLog::HasHeldBackRows(ChangeLogPosition /*after*/) {
  MutexLock lock(&mu_);
  FRAISEQL_RETURN_IF_ERROR(CheckAvailableLocked());
  return false;  // every row is committed when appended
}

Result<BacklogEstimate> MemoryChangeLog::EstimateBacklog(ChangeLogPosition after) {
  MutexLock lock(&mu_);
  FRAISEQL_RETURN_IF_ERROR(CheckAvailableLocked());
  BacklogEstimate estimate;
  for (const ChangeLogEntry& entry : entries_) {
    if (entry.position > after) ++estimate.rows;
  }
  return estimate;
}

Result<ChangeLogPosition> MemoryChangeLog::LegacyPosition(int64_t last_processed_id) {
  MutexLock lock(&mu_);
  FRAISEQL_RETURN_IF_ERROR(CheckAvailableLocked());
  return ChangeLogPosition{static_cast<uint64_t>(last_processed_id), last_processed_id};
}

Result<void> MemoryChangeLog::Listen() {
  MutexLock lock(&mu_);
  FRAISEQL_RETURN_IF_ERROR(CheckAvailableLocked());
  listening_ = true;
  news_ = false;
  return Ok();
}

void MemoryChangeLog::StopListening() {
  MutexLock lock(&mu_);
  listening_ = false;
  news_ = false;
}

Result<ChangeLogSource::Wake> MemoryChangeLog::WaitForNews(std::chrono::steady_clock::time_point deadline,
                                                           std::stop_token stop) {
  std::stop_callback interrupt(stop, [this] {
    MutexLock lock(&mu_);
    changed_.notify_all();
  });
  MutexLock lock(&mu_);
  for (;;) {
    if (stop.stop_requested()) return Wake::kInterrupted;
    if (news_) {
      news_ = false;
      return Wake::kNews;
    }
    if (!clock_.WaitUntil(mu_, changed_, deadline)) return stop.stop_requested() ? Wake::kInterrupted : Wake::kTimeout;
  }
}

}  // namespace fraiseql
