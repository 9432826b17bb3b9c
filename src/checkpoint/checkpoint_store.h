// CheckpointStore: where a listener's position in the change log survives restarts, written only
// under its lease epoch (compare-and-swap, guarantee 4) and audited on resets, failovers and moves.
// Thread-safety: every implementation is safe to call from several threads at once.
//
// Usage (the listener's batch loop, simplified):
//   Result<bool> moved = store.CompareAndSwap(id, my_epoch, checkpoint.position, next);
//   if (moved && !*moved) { /* fenced: another epoch or position is stored; reload, maybe stop */ }
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fraiseql {

// A place in the change log, in the order the gapless reader reads it: by the writer's
// transaction id (xid8), then by pk_entity_change_log. {0, 0} is "before every row".
struct ChangeLogPosition {
  uint64_t txid = 0;
  int64_t pk = 0;

  friend auto operator<=>(const ChangeLogPosition&, const ChangeLogPosition&) = default;
  friend bool operator==(const ChangeLogPosition&, const ChangeLogPosition&) = default;
};

// "txid/pk", e.g. "7421/1003": how positions appear in logs, history reasons and the CLI.
std::string PositionToString(ChangeLogPosition position);
// Parses PositionToString's form. kInvalidArgument otherwise.
Result<ChangeLogPosition> ParsePosition(std::string_view text);

// The bounds the observer_checkpoints CHECK constraints impose (migrations/003), enforced by
// every backend alike (kInvalidArgument), so the memory backend cannot accept what PostgreSQL
// would refuse.
inline constexpr uint32_t kMinCheckpointBatchSize = 1;
inline constexpr uint32_t kMaxCheckpointBatchSize = 10000;
inline constexpr size_t kMaxHistoryReasonBytes = 255;

struct Checkpoint {
  std::string listener_id;
  ChangeLogPosition position;   // the last row handed off (its jobs are in the queue)
  int64_t lease_epoch = 0;      // the lease epoch of the writer; 0 = never written under a lease
  uint32_t batch_size = 100;    // the writer's batch size, for operators
  uint32_t event_count = 0;     // rows in the last batch
  int64_t total_events = 0;     // rows handed off since the checkpoint was created
  uint32_t consecutive_errors = 0;
  std::optional<std::string> last_error;
  std::optional<std::string> updated_by;  // the lease holder (process) that wrote it
  // Set by the store on every write (PostgreSQL: the database's now(); memory: its Clock).
  // Ignored on input.
  std::chrono::system_clock::time_point updated_at;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// One row of observer_checkpoints_history: the checkpoint as it was just BEFORE a reset, a
// failover (a write under a new lease epoch) or a manual move, so each row is an undo point.
// Ordinary saves write none.
struct CheckpointHistoryEntry {
  std::string listener_id;
  ChangeLogPosition position;
  std::optional<int64_t> lease_epoch;
  std::optional<uint32_t> batch_size;
  std::optional<uint32_t> event_count;
  std::optional<std::string> updated_by;  // who made the change that this row records
  std::chrono::system_clock::time_point recorded_at;
  // "reset", "failover: epoch 3 -> 4", "manual move to 7421/1003: <operator's reason>".
  std::string reason;
};

class CheckpointStore {
 public:
  CheckpointStore() = default;
  virtual ~CheckpointStore() = default;
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  // The stored checkpoint, or nullopt when there is none (first start, or after Delete).
  // Errors: kUnavailable when the backend cannot be reached.
  virtual Result<std::optional<Checkpoint>> Load(std::string_view listener_id) = 0;

  // Unconditional upsert of `checkpoint` (keyed by checkpoint.listener_id); for tools and tests,
  // never for the listener's own progress (that is CompareAndSwap). Writes a history row only
  // when it changes the lease epoch of an existing checkpoint.
  // Errors: kInvalidArgument when a field is out of the bounds above (negative pk, batch size
  // outside [1, 10000], empty listener id); kUnavailable as Load.
  virtual Result<void> Save(const Checkpoint& checkpoint) = 0;

  // Writes `next` only if the stored checkpoint of `listener_id` has exactly `expected_epoch`
  // and `expected_position`; when none is stored, only if expected is (0, {0, 0}) (first write).
  // True when written; false when fenced (another epoch or position is there, or a concurrent
  // first write won). A write whose next.lease_epoch differs from expected_epoch is a failover
  // and appends a history row.
  // REQUIRES: next.listener_id == listener_id; next.lease_epoch >= expected_epoch (else
  // kInvalidArgument, as for Save's bounds).
  virtual Result<bool> CompareAndSwap(std::string_view listener_id, int64_t expected_epoch,
                                      ChangeLogPosition expected_position, const Checkpoint& next) = 0;

  // Removes the checkpoint (the listener starts from the beginning of the change log next time),
  // recording it in the history with reason "reset". False when there was none (no history row).
  virtual Result<bool> Delete(std::string_view listener_id) = 0;

  // Operator's move (skip ahead, replay): sets the position whatever the epoch, keeps the epoch,
  // and records the previous state with "manual move to <position>: <reason>". Creates the
  // checkpoint (epoch 0) when there is none. A running leader's next compare-and-swap then fails
  // on the position, and it reloads and continues from here.
  virtual Result<void> MoveTo(std::string_view listener_id, ChangeLogPosition position,
                              std::string_view reason) = 0;

  // The newest `limit` history rows of `listener_id`, newest first.
  virtual Result<std::vector<CheckpointHistoryEntry>> History(std::string_view listener_id, size_t limit) = 0;
};

namespace checkpoint_internal {

// The bounds check every backend applies to a checkpoint it is asked to write.
Result<void> ValidateCheckpoint(const Checkpoint& checkpoint);
// "failover: epoch 3 -> 4", "manual move to 7421/1003: reason" (truncated to
// kMaxHistoryReasonBytes, whole UTF-8 characters).
std::string FailoverReason(int64_t from_epoch, int64_t to_epoch);
std::string MoveReason(ChangeLogPosition to, std::string_view reason);
inline constexpr std::string_view kResetReason = "reset";

}  // namespace checkpoint_internal

}  // namespace fraiseql
