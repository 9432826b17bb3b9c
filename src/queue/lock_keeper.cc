#include "queue/lock_keeper.h"

#include <algorithm>

namespace fraiseql {

LockKeeper::LockKeeper(std::chrono::milliseconds lock_timeout, SteadyTime now)
    : extend_after_(lock_timeout / 3),
      check_every_(std::max(lock_timeout / 6, std::chrono::milliseconds(1))),
      next_check_(now + check_every_) {}

void LockKeeper::Hold(const std::string& delivery_id, SteadyTime locked_at) { held_[delivery_id] = locked_at; }

void LockKeeper::Release(const std::string& delivery_id) { held_.erase(delivery_id); }

std::vector<std::string> LockKeeper::Due(SteadyTime now) const {
  std::vector<std::string> due;
  for (const auto& [id, locked_at] : held_) {
    if (now - locked_at >= extend_after_) due.push_back(id);
  }
  return due;
}

void LockKeeper::Extended(std::span<const std::string> delivery_ids, SteadyTime at) {
  for (const std::string& id : delivery_ids) {
    if (auto held = held_.find(id); held != held_.end()) held->second = std::max(held->second, at);
  }
}

}  // namespace fraiseql
