#include "queue/hand_over_buffer.h"

#include <algorithm>
#include <utility>

namespace fraiseql {

HandOverBuffer::HandOverBuffer(size_t capacity, Clock& clock) : capacity_(std::max<size_t>(capacity, 1)), clock_(clock) {}

void HandOverBuffer::Push(std::vector<Delivery> deliveries) {
  MutexLock lock(&mu_);
  for (Delivery& delivery : deliveries) deliveries_.push_back(std::move(delivery));
}

std::vector<Delivery> HandOverBuffer::Take(size_t max) {
  std::vector<Delivery> out;
  {
    MutexLock lock(&mu_);
    while (out.size() < max && !deliveries_.empty()) {
      out.push_back(std::move(deliveries_.front()));
      deliveries_.pop_front();
    }
    if (!out.empty()) room_freed_.notify_all();
  }
  return out;
}

std::vector<Delivery> HandOverBuffer::TakeAll() { return Take(static_cast<size_t>(-1)); }

size_t HandOverBuffer::size() const {
  MutexLock lock(&mu_);
  return deliveries_.size();
}

size_t HandOverBuffer::Room() const {
  MutexLock lock(&mu_);
  return deliveries_.size() >= capacity_ ? 0 : capacity_ - deliveries_.size();
}

bool HandOverBuffer::WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] {
    MutexLock lock(&mu_);
    room_freed_.notify_all();
  });
  MutexLock lock(&mu_);
  while (deliveries_.size() >= capacity_) {
    if (stop.stop_requested()) return false;
    if (!clock_.WaitUntil(mu_, room_freed_, deadline)) return deliveries_.size() < capacity_;
  }
  return true;
}

}  // namespace fraiseql
