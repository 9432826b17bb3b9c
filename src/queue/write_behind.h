// WriteBehind: the durable job queue's buffered writes. Completions, reschedules, wakes and dead
// letters are collected and written by one flusher thread, a batch per transaction, a few
// milliseconds after the first of them (or at once when a batch is full), and the locks of the
// jobs this process holds are extended meanwhile (LockKeeper). A failed write is retried with
// backoff, never dropped. Only a write the database refuses for its content (kInvalidArgument)
// is split into its parts, and only the parts it still refuses are dropped (and logged).
// Thread-safety: every public method may be called from any thread.
//
// The flusher's timing is NextFlusherStep, a pure function of its state and the time, so it is
// tested without threads; the thread itself waits on the injected Clock (tested on a FakeClock).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "delivery/dead_letter.h"
#include "queue/lock_keeper.h"

namespace fraiseql {

// A reschedule as it is written; a completion is a write without one.
struct RescheduleWrite {
  std::chrono::system_clock::time_point run_at;
  uint32_t attempt = 0;
  nlohmann::json attempts;  // AttemptToJson of each
  std::optional<std::string> last_error;

  static RescheduleWrite Of(const Delivery& delivery, std::chrono::system_clock::time_point run_at);
};

// What one write carries. Completions and reschedules are keyed by delivery id (the later one
// for a delivery wins), so a write never updates a job row twice in its one statement.
struct PendingWrites {
  std::vector<nlohmann::json> dead_letters;  // DeadLetterToJson, in arrival order
  std::unordered_map<std::string, std::optional<RescheduleWrite>> ops;  // nullopt: completed
  std::unordered_set<std::string> wakes;

  size_t size() const { return dead_letters.size() + ops.size() + wakes.size(); }
  bool empty() const { return size() == 0; }
  void AddOp(const std::string& delivery_id, std::optional<RescheduleWrite> op);
  // A wake of a delivery whose reschedule is not written yet makes that reschedule due `now`.
  void AddWake(const std::string& delivery_id, std::chrono::system_clock::time_point now);
  void Merge(PendingWrites&& later, std::chrono::system_clock::time_point now);
};

// What a write changed (rows affected), for metrics and the "no longer ours" warning.
struct WriteCounts {
  uint64_t dead_letters = 0, completed = 0, rescheduled = 0, woken = 0, extended = 0;
};

// ---- The flusher's timing ----

struct FlusherState {
  size_t pending = 0;                   // writes buffered and not yet taken
  std::chrono::steady_clock::time_point pending_since;  // when the oldest of them arrived
  bool flush_requested = false;         // a Flush() waits
  bool carrying = false;                // a taken batch failed and waits for its retry
  std::chrono::steady_clock::time_point retry_at;
  std::chrono::steady_clock::time_point next_extend;  // LockKeeper::next_check()
  std::chrono::steady_clock::time_point next_stats;
  bool stopping = false;
  std::chrono::steady_clock::time_point give_up_at = std::chrono::steady_clock::time_point::max();
};

struct FlusherTiming {
  std::chrono::milliseconds flush_interval{5};
  size_t flush_batch = 1000;
};

struct FlusherStep {
  bool exit = false;     // stopping, and nothing is left to write
  bool give_up = false;  // stopping, and the shutdown deadline passed with writes unwritten
  bool write = false;    // take what is pending (merged into a carried batch) and write it
  bool extend = false;   // extend the locks that are due
  bool stats = false;    // run the periodic task (the queue's gauges)
  // When none of the above: sleep until then, or until something is enqueued.
  std::chrono::steady_clock::time_point wake_at = std::chrono::steady_clock::time_point::max();

  bool acts() const { return exit || give_up || write || extend || stats; }
};

// While stopping, nothing but writing counts: no extensions (the locks are about to be given
// up or to expire), no periodic task.
FlusherStep NextFlusherStep(const FlusherState& state, std::chrono::steady_clock::time_point now,
                            const FlusherTiming& timing);

// ---- The buffer and its thread ----

class WriteBehind {
 public:
  struct Options {
    FlusherTiming timing;
    std::chrono::milliseconds lock_timeout{60000};      // LockKeeper's
    std::chrono::milliseconds max_backoff{5000};        // failed writes back off up to this
    std::chrono::milliseconds stats_interval{5000};     // how often `periodic` runs
    std::chrono::milliseconds shutdown_timeout{10000};  // the destructor's bound on the final writes
  };
  // Writes `writes` and extends the locks of `extend`, in one transaction. Runs on the flusher
  // thread only. kInvalidArgument means the database refuses the content (the batch is split);
  // every other error is retried with backoff (a lost connection, a database not ready).
  using Writer = std::function<Result<WriteCounts>(const PendingWrites& writes, std::span<const std::string> extend)>;
  // After `writes` were written (on the flusher thread).
  using OnWritten = std::function<void(const PendingWrites& writes, const WriteCounts& counts)>;

  // Starts the flusher thread. `clock` is borrowed and must outlive this.
  WriteBehind(Options options, Clock& clock, Writer writer, OnWritten on_written, std::function<void()> periodic);
  // Writes what is buffered, bounded by shutdown_timeout. REQUIRES: no other call runs or follows.
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // This process holds these jobs from now on (claimed or handed over), their locks set at
  // `locked_at` (when the claim or insert was sent): their locks are kept.
  void Hold(std::span<const std::string> delivery_ids, std::chrono::steady_clock::time_point locked_at)
      LOCKS_EXCLUDED(mu_);
  void Complete(const std::string& delivery_id) LOCKS_EXCLUDED(mu_);
  void Reschedule(const std::string& delivery_id, RescheduleWrite op) LOCKS_EXCLUDED(mu_);
  void Wake(std::span<const std::string> delivery_ids) LOCKS_EXCLUDED(mu_);
  // The dead letter and, in the same write, the delivery's completion (or, without a delivery
  // id, the dead letter alone).
  void AddDeadLetter(const DeadLetter& letter) LOCKS_EXCLUDED(mu_);

  // Waits until everything enqueued before the call is written. kUnavailable (with the last
  // write error) when `timeout` passed first; the writes stay buffered and are written later.
  Result<void> Flush(std::chrono::milliseconds timeout) LOCKS_EXCLUDED(mu_);

  size_t pending() const LOCKS_EXCLUDED(mu_);
  size_t held() const LOCKS_EXCLUDED(mu_);

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // Runs `change` on pending_ and wakes the flusher when that starts a batch or fills one.
  template <typename F>
  void Enqueue(F&& change) LOCKS_EXCLUDED(mu_);
  void Run() LOCKS_EXCLUDED(mu_);
  // After the database refused `writes` for its content: each part alone. Returns the parts to
  // retry (refused for another reason); the parts it refuses again are dropped and logged.
  PendingWrites WriteEachAlone(const PendingWrites& writes);

  const Options options_;
  Clock& clock_;
  const Writer writer_;
  const OnWritten on_written_;
  const std::function<void()> periodic_;

  mutable Mutex mu_;
  std::condition_variable wake_;     // the flusher: work arrived, a flush requested, stopping
  std::condition_variable flushed_;  // Flush() waiters
  PendingWrites pending_ GUARDED_BY(mu_);
  SteadyTime pending_since_ GUARDED_BY(mu_);
  uint64_t enqueued_seq_ GUARDED_BY(mu_) = 0;  // counts changes to pending_
  uint64_t written_seq_ GUARDED_BY(mu_) = 0;   // every change up to this one is written
  uint64_t flush_requests_ GUARDED_BY(mu_) = 0;
  std::string last_write_error_ GUARDED_BY(mu_);
  LockKeeper locks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;

  std::jthread flusher_;
};

}  // namespace fraiseql
