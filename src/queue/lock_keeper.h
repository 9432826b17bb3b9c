// LockKeeper: which jobs this process holds, and when each one's lock must be extended so that a
// delivery waiting behind a slow destination is not claimed by another process meanwhile: a job
// locked lock_timeout / 3 ago is due, and due jobs are looked for every lock_timeout / 6.
// Thread-safety: none; its owner (WriteBehind) uses it under its own mutex.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

namespace fraiseql {

class LockKeeper {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // REQUIRES: lock_timeout > 0.
  LockKeeper(std::chrono::milliseconds lock_timeout, SteadyTime now);

  // The job's lock was (re)set at `now`.
  void Hold(const std::string& delivery_id, SteadyTime now);
  // The job is no longer ours to keep (completed, rescheduled or dead-lettered).
  void Release(const std::string& delivery_id);
  size_t size() const { return held_.size(); }

  // When TakeDue has something to look at next.
  SteadyTime next_check() const { return next_check_; }
  // Held jobs whose lock is due for extension at `now`, stamped as extended now; empty before
  // next_check(). The caller extends them in the database (a failed extension is harmless: the
  // next round or the claim's own length covers it).
  std::vector<std::string> TakeDue(SteadyTime now);

 private:
  const std::chrono::milliseconds extend_after_;
  const std::chrono::milliseconds check_every_;
  std::unordered_map<std::string, SteadyTime> held_;  // id -> when its lock was last set
  SteadyTime next_check_;
};

}  // namespace fraiseql
