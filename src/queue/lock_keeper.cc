#include "queue/lock_keeper.h"

#include <algorithm>

namespace fraiseql {

LockKeeper::LockKeeper(std::chrono::milliseconds lock_timeout, SteadyTime now)
    : extend_after_(lock_timeout / 3),
      check_every_(std::max(lock_timeout / 6, std::chrono::milliseconds(1))),
      next_check_(now + check_every_) {}

void LockKeeper::Hold(const std::string& delivery_id, SteadyTime now) { held_[delivery_id] = now; }

void LockKeeper::Release(const std::string& delivery_id) { held_.erase(delivery_id); }

std::vector<std::string> LockKeeper::TakeDue(SteadyTime now) {
  std::vector<std::string> due;
  if (now < next_check_) return due;
  for (auto& [id, locked_at] : held_) {
    if (now - locked_at >= extend_after_) {
      due.push_back(id);
      locked_at = now;
    }
  }
  next_check_ = now + check_every_;
  return due;
}

}  // namespace fraiseql
