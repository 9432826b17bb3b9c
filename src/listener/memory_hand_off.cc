#include "listener/memory_hand_off.h"

#include <utility>
#include <vector>

namespace fraiseql {

Result<HandOffOutcome> MemoryHandOff::Commit(const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) {
  // Everything that could refuse the batch is checked before anything changes.
  FRAISEQL_RETURN_IF_ERROR(dead_letter_internal::Validate(batch.dead_letters));
  std::vector<Delivery> deliveries;
  deliveries.reserve(batch.jobs.size());
  for (const NewJob& job : batch.jobs) {
    if (job.delivery.event == nullptr) return Error::InvalidArgument("job " + job.delivery.id + " has no event");
    deliveries.push_back(job.delivery);
  }
  Result<bool> swapped = Error::Internal("not run");
  const bool held = leases_.RunWhileHeld(lease, [&] {
    swapped = checkpoints_.CompareAndSwap(lease.listener_id, expected_epoch, batch.from, batch.next);
    if (!swapped || !*swapped) return;
    queue_.Push(std::move(deliveries));
    [[maybe_unused]] Result<void> added = dead_letters_.Add(batch.dead_letters);  // validated above
  });
  if (!held) return HandOffOutcome::kLeaseLost;
  if (!swapped) {
    // A checkpoint the store refuses is the listener's bug, not the batch's data.
    Error error = std::move(swapped).error();
    if (error.code == ErrorCode::kInvalidArgument) error.code = ErrorCode::kInternal;
    return error;
  }
  return *swapped ? HandOffOutcome::kCommitted : HandOffOutcome::kCheckpointMoved;
}

}  // namespace fraiseql
