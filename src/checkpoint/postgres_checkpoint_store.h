// PostgresCheckpointStore: the CheckpointStore contract on observer_checkpoints (migrations/003),
// plus the in-transaction compare-and-swap the listener's hand-off commits with (guarantee 3),
// which runs the same statements as CompareAndSwap.
// Thread-safety: methods are safe concurrently (one connection, one mutex); statics use the caller's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_store.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/thread_annotations.h"
#include "db/connection.h"
#include "db/session.h"

namespace fraiseql {

class PostgresCheckpointStore final : public CheckpointStore {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{5000};
    // synchronous_commit of the store's own connection. Off: a crash of PostgreSQL may lose the
    // newest writes, i.e. the checkpoint goes back and a listener replays; nothing is lost.
    bool synchronous_commit = true;
  };

  // Connects on first use, and again (once per call) when it finds the connection lost.
  explicit PostgresCheckpointStore(Secret url) : PostgresCheckpointStore(std::move(url), Options()) {}
  PostgresCheckpointStore(Secret url, Options options);

  Result<std::optional<Checkpoint>> Load(std::string_view listener_id) override LOCKS_EXCLUDED(mu_);
  Result<void> Save(const Checkpoint& checkpoint) override LOCKS_EXCLUDED(mu_);
  Result<bool> CompareAndSwap(std::string_view listener_id, int64_t expected_epoch,
                              ChangeLogPosition expected_position, const Checkpoint& next) override
      LOCKS_EXCLUDED(mu_);
  Result<bool> Delete(std::string_view listener_id) override LOCKS_EXCLUDED(mu_);
  Result<void> MoveTo(std::string_view listener_id, ChangeLogPosition position, std::string_view reason) override
      LOCKS_EXCLUDED(mu_);
  Result<std::vector<CheckpointHistoryEntry>> History(std::string_view listener_id, size_t limit) override
      LOCKS_EXCLUDED(mu_);

  // Load, on the caller's connection (inside or outside a transaction).
  static Result<std::optional<Checkpoint>> LoadWith(PgConnection& conn, std::string_view listener_id);

  // CompareAndSwap as one statement inside the caller's open transaction: the new position is
  // visible, with the batch's jobs, when the caller commits, and not at all if it rolls back.
  // Same contract as CompareAndSwap (false = fenced: roll back). A concurrent writer of the same
  // row makes this statement wait for it (row lock) and then re-check.
  static Result<bool> CompareAndSwapInTransaction(PgConnection& tx, std::string_view listener_id,
                                                  int64_t expected_epoch, ChangeLogPosition expected_position,
                                                  const Checkpoint& next);

 private:
  Mutex mu_;
  PgSession session_ GUARDED_BY(mu_);
};

}  // namespace fraiseql
