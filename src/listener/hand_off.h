// HandOff: the one seam through which the listener commits a batch: its deliveries queued, its
// dead letters kept and its checkpoint advanced as one step, fenced by the lease (guarantees 3
// and 4); and the backpressure of the workers behind it (guarantee 5). Backends: PostgresHandOff
// (one transaction; jobs handed to this process's queue) and MemoryHandOff (one process).
// Thread-safety: one listener thread commits; implementations say what else is safe.
//
// The contract (tests/listener/hand_off_contract.cc runs it over both backends):
//   - Commit changes nothing unless `lease` is still current and the checkpoint still holds
//     `expected_epoch` at `batch.from` (or there is none and both are zero): kLeaseLost or
//     kCheckpointMoved then, and the caller reloads;
//   - on kCommitted the jobs, the dead letters and the checkpoint `batch.next` are all stored;
//     a job whose delivery is queued already is left alone (a replayed batch adds nothing). A
//     backend that makes first attempts before it commits (PostgresHandOff with a deadline)
//     stores the jobs of the deliveries that did not finish, and their dead letters: every
//     delivery is done or stored when the checkpoint passes its row;
//   - an error means the outcome is unknown (a connection lost during COMMIT): reload.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_store.h"
#include "common/result.h"
#include "delivery/dead_letter.h"
#include "listener/lease.h"
#include "queue/job_rows.h"

namespace fraiseql {

struct HandOffBatch {
  std::vector<NewJob> jobs;  // in change-log order
  std::vector<DeadLetter> dead_letters;
  ChangeLogPosition from;  // the checkpoint's position the batch was read after
  Checkpoint next;         // the checkpoint after the batch (its lease_epoch is the lease's)
  // Optional. A backend that delivers before it commits (PostgresHandOff's first attempts) calls
  // it once, on the committing thread, while the deliveries run: the listener reads its next
  // batch meanwhile. Others never call it.
  std::function<void()> while_delivering;
};

enum class HandOffOutcome { kCommitted, kLeaseLost, kCheckpointMoved };

class HandOff {
 public:
  HandOff() = default;
  virtual ~HandOff() = default;
  HandOff(const HandOff&) = delete;
  HandOff& operator=(const HandOff&) = delete;

  // The stored checkpoint of `listener_id`, nullopt when there is none.
  virtual Result<std::optional<Checkpoint>> LoadCheckpoint(std::string_view listener_id) = 0;

  // Commits `batch` as one step, under `lease` and the checkpoint's compare-and-swap from
  // (`expected_epoch`, batch.from) (see the contract above). A batch with no jobs and no dead
  // letters moves the checkpoint alone (a takeover under a new epoch).
  // Errors: kInvalidArgument when the backend refuses the batch's content (the caller isolates
  // the row); kUnavailable/kAborted to retry; the outcome of a failed commit is unknown.
  virtual Result<HandOffOutcome> Commit(const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) = 0;

  // Waits until the workers behind this hand-off have room for more (true), or `deadline`
  // passes or `stop` is requested (false): the listener reads on only with room.
  virtual bool WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) = 0;
};

}  // namespace fraiseql
