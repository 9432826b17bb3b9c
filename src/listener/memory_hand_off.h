// MemoryHandOff: the HandOff contract in one process: under the lease of a MemoryLeaseStore, the
// checkpoint's compare-and-swap, then the jobs into a MemoryJobQueue and the dead letters into a
// DeadLetterStore, none of them visible without the others. The listener loop's tests run on it.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stop_token>
#include <string_view>

#include "checkpoint/checkpoint_store.h"
#include "dlq/dead_letter_store.h"
#include "listener/hand_off.h"
#include "listener/memory_lease.h"
#include "queue/memory_job_queue.h"

namespace fraiseql {

class MemoryHandOff final : public HandOff {
 public:
  // Everything is borrowed and must outlive the hand-off. WaitForRoom waits while `capacity`
  // deliveries wait in `queue` to be claimed.
  MemoryHandOff(MemoryLeaseStore& leases, CheckpointStore& checkpoints, MemoryJobQueue& queue,
                DeadLetterStore& dead_letters, size_t capacity)
      : leases_(leases), checkpoints_(checkpoints), queue_(queue), dead_letters_(dead_letters), capacity_(capacity) {}

  Result<std::optional<Checkpoint>> LoadCheckpoint(std::string_view listener_id) override {
    return checkpoints_.Load(listener_id);
  }
  Result<HandOffOutcome> Commit(const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) override;
  bool WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) override {
    return queue_.WaitUntilWaitingBelow(capacity_, deadline, std::move(stop));
  }

 private:
  MemoryLeaseStore& leases_;
  CheckpointStore& checkpoints_;
  MemoryJobQueue& queue_;
  DeadLetterStore& dead_letters_;
  const size_t capacity_;
};

}  // namespace fraiseql
