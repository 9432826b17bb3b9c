// LockKeeper: which jobs this process holds, and when each one's lock must be extended so that a
// delivery waiting behind a slow destination is not claimed by another process meanwhile: a job
// whose lock was set lock_timeout / 3 ago is due, and due jobs are looked for every lock_timeout / 6.
// Thread-safety: none; its owner (WriteBehind) uses it under its own mutex.
#pragma once

#include <algorithm>
#include <chrono>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace fraiseql {

class LockKeeper {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // REQUIRES: lock_timeout > 0.
  LockKeeper(std::chrono::milliseconds lock_timeout, SteadyTime now);

  // The job's lock was set at `locked_at` (when its claim or insert was sent: no later than the
  // database set it, so the keeper errs early).
  void Hold(const std::string& delivery_id, SteadyTime locked_at);
  // The job is no longer ours to keep (completed, rescheduled or dead-lettered).
  void Release(const std::string& delivery_id);
  size_t size() const { return held_.size(); }

  // When the owner should look for due extensions next.
  SteadyTime next_check() const { return next_check_; }
  // Looked at `now`: the next look is lock_timeout / 6 later.
  void Checked(SteadyTime now) { next_check_ = now + check_every_; }
  // Look again no later than `when` (an extension failed to be written).
  void CheckAgainBy(SteadyTime when) { next_check_ = std::min(next_check_, when); }
  // The held jobs whose extension is due at `now`. Nothing is stamped: a failed extension stays
  // due, and the next write carries it again (one failure must not let a lock expire).
  std::vector<std::string> Due(SteadyTime now) const;
  // These jobs' extensions were written, sent at `at`; released ones stay released.
  void Extended(std::span<const std::string> delivery_ids, SteadyTime at);

 private:
  const std::chrono::milliseconds extend_after_;
  const std::chrono::milliseconds check_every_;
  std::unordered_map<std::string, SteadyTime> held_;  // id -> when its lock was last set
  SteadyTime next_check_;
};

}  // namespace fraiseql
