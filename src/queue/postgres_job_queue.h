// PostgresJobQueue: the durable DeliverySource and DeadLetterSink over observer_jobs and
// observer_dead_letters (migrations/004), shared safely by any number of processes.
// Thread-safety: every method may be called from any thread, concurrently.
//
// How a job moves (docs/queue.md has the whole story):
//   the listener inserts it (InsertJobs, in its batch transaction), maybe already claimed by this
//   process (NewClaimStamp) and then handed over in memory (HandOver): no claim round trip;
//   otherwise Claim takes due rows with FOR UPDATE SKIP LOCKED and stamps them locked_by =
//   holder, locked_until = now() + lock_timeout, so no other process gets them;
//   Complete / Reschedule / Add (dead letter) are buffered and written by one flusher thread,
//   a batch per transaction, a few milliseconds after the first of them (or at once when
//   flush_batch are pending). A failed write is retried after reconnecting, never dropped.
//   Jobs held longer than lock_timeout / 3 get their lock extended (one statement per round),
//   so deliveries waiting behind a slow destination are not stolen; a job whose holder died is
//   claimable again once its locked_until passed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/thread_annotations.h"
#include "db/connection.h"
#include "executor/delivery_source.h"
#include "queue/job_rows.h"

namespace fraiseql {

struct PostgresJobQueueOptions {
  Secret database_url;                            // [database] url (or DATABASE_URL)
  std::string listener_id = "default";            // [database] listener_id: only its jobs are claimed
  std::string holder;                             // unique per process; MakeHolderName() when empty
  std::chrono::milliseconds lock_timeout{60000};  // [job_queue] lock_timeout_ms
  std::chrono::milliseconds poll_interval{1000};  // [job_queue] poll_interval_ms: the fallback look
  bool synchronous_commit = true;                 // [database] synchronous_commit (off is safe: see docs)
  // How long a buffered Complete / Reschedule / dead letter may wait for company before it is
  // written, and how many make a write start at once.
  std::chrono::milliseconds flush_interval{5};
  size_t flush_batch = 1000;
  // Deliveries HandOver() holds for Claim before HandOverRoom() reports no room.
  size_t max_handed_over = 10000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds max_backoff{5000};        // reconnects and failed writes back off up to this
  std::chrono::milliseconds stats_interval{5000};     // how often the depth and DLQ gauges are counted
  std::chrono::milliseconds shutdown_timeout{10000};  // the destructor's bound on the final flush
};

// "<hostname>:<pid>:<random hex>": unique per process, readable in observer_jobs.locked_by.
std::string MakeHolderName();

class PostgresJobQueue final : public DeliverySource, public DeadLetterSink {
 public:
  // Starts the flusher thread; connects lazily (Claim and the flusher each keep a connection and
  // reconnect with capped backoff). `clock` gives wall time for claim stamps and woken parked
  // deliveries; borrowed, must outlive the queue.
  PostgresJobQueue(PostgresJobQueueOptions options, Clock* clock);
  // Writes what is buffered (bounded by shutdown_timeout), first giving handed-over deliveries
  // nobody claimed back to the queue, due now. REQUIRES: no call is running or will be made.
  ~PostgresJobQueue() override;

  // DeliverySource. Claim hands out handed-over deliveries first, else runs one claim statement;
  // when nothing is due it waits (until `deadline`, `stop`, HandOver, Poke, a due reschedule of
  // this process or the poll interval) and looks again. A row that does not decode is
  // dead-lettered with the reason and deleted, and Claim goes on with the others.
  std::vector<Delivery> Claim(size_t max, std::chrono::steady_clock::time_point deadline,
                              std::stop_token stop) override LOCKS_EXCLUDED(mu_, claim_mu_);
  void Complete(const Delivery& delivery) override LOCKS_EXCLUDED(mu_);
  void Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) override LOCKS_EXCLUDED(mu_);
  void Wake(std::span<const std::string> delivery_ids) override LOCKS_EXCLUDED(mu_);

  // DeadLetterSink: written in the same transaction as the Complete that follows it, when that
  // comes within the flush interval (the engine calls them back to back).
  void Add(DeadLetter letter) override LOCKS_EXCLUDED(mu_);

  // The stamp a local listener passes to InsertJobs so the rows are claimed by this process
  // from the start: {holder, clock.Now() + lock_timeout}.
  ClaimStamp NewClaimStamp() const;
  // Deliveries the listener inserted with NewClaimStamp() and committed: Claim returns them
  // before looking at the table. They count as held (their locks are extended) from now on.
  void HandOver(std::vector<Delivery> deliveries) LOCKS_EXCLUDED(mu_);
  // How many more deliveries HandOver should be given (max_handed_over minus those waiting);
  // insert the rest unclaimed and Poke().
  size_t HandOverRoom() const LOCKS_EXCLUDED(mu_);
  // Blocks until HandOverRoom() > 0 (true), or `deadline` passes or InterruptHandOverWaits() was
  // called (false): how the listener waits for the workers to catch up (guarantee 5).
  bool WaitForHandOverRoom(std::chrono::steady_clock::time_point deadline) LOCKS_EXCLUDED(mu_);
  // The same without a deadline: returns false only once interrupted (or the queue is stopping).
  bool WaitForHandOverRoom() LOCKS_EXCLUDED(mu_);
  // Ends every WaitForHandOverRoom, now and from now on (shutdown: nobody will make room).
  void InterruptHandOverWaits() LOCKS_EXCLUDED(mu_);
  // Jobs were inserted unclaimed (by this process): the next Claim looks at once.
  void Poke() LOCKS_EXCLUDED(mu_);

  // Waits until everything buffered before the call is written. kUnavailable (with the last
  // write error) when `timeout` passed first; the buffered work stays and is written later.
  Result<void> Flush(std::chrono::milliseconds timeout) LOCKS_EXCLUDED(mu_);

  const std::string& holder() const { return options_.holder; }
  // Buffered Complete / Reschedule / Wake / dead letters not yet written.
  size_t pending_writes() const LOCKS_EXCLUDED(mu_);
  // Deliveries claimed or handed over and neither completed nor rescheduled yet.
  size_t held() const LOCKS_EXCLUDED(mu_);

 private:
  // A Reschedule as written; a Complete is an op without one.
  struct RescheduleOp {
    std::chrono::system_clock::time_point run_at;
    uint32_t attempt = 0;
    nlohmann::json attempts;
    std::optional<std::string> last_error;
  };
  // What one flush writes. Ops are keyed by delivery id (the later op for a delivery wins), so a
  // batch never updates a row twice in its one statement.
  struct Batch {
    std::vector<nlohmann::json> dead_letters;  // DeadLetterRecordToJson, in arrival order
    std::unordered_map<std::string, std::optional<RescheduleOp>> ops;
    std::unordered_set<std::string> wakes;
    size_t size() const { return dead_letters.size() + ops.size() + wakes.size(); }
    bool empty() const { return size() == 0; }
    void AddOp(const std::string& id, std::optional<RescheduleOp> op);
    void AddWake(const std::string& id, std::chrono::system_clock::time_point now);
    void Merge(Batch&& later, std::chrono::system_clock::time_point now);
  };
  struct FlushCounts {
    uint64_t dead_letters = 0, completed = 0, rescheduled = 0, woken = 0, extended = 0;
  };
  using SteadyTime = std::chrono::steady_clock::time_point;

  Result<std::vector<Delivery>> ClaimFromDatabase(size_t max) LOCKS_EXCLUDED(mu_, claim_mu_);
  // Connects `conn` if it is missing or broken. REQUIRES: the caller owns `conn`.
  Result<void> EnsureConnected(std::optional<PgConnection>& conn, const char* role);
  // Around every change to pending_: the first starts the flush interval; the second counts the
  // change and says whether the flusher must be woken.
  bool BeforeEnqueueLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AfterEnqueueLocked(bool was_empty) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void RunFlusher() LOCKS_EXCLUDED(mu_);
  // Writes `batch` plus lock extensions in one statement on the flusher's connection.
  Result<FlushCounts> WriteBatch(const Batch& batch, const std::vector<std::string>& extend);
  // After a write failed for a reason retrying cannot fix: each part alone, dropping (and
  // logging) only the parts that still fail.
  void WriteEachAlone(const Batch& batch);
  void RefreshGauges();

  PostgresJobQueueOptions options_;
  Clock* const clock_;
  std::string claim_sql_;

  mutable Mutex mu_;
  std::condition_variable claim_changed_;  // Claim waiters: handed over, poked, woken, stopping
  std::condition_variable flusher_wake_;   // the flusher: work arrived, flush requested, stopping
  std::condition_variable flushed_;        // Flush() waiters
  std::condition_variable hand_over_room_; // WaitForHandOverRoom: Claim took handed-over deliveries
  std::deque<Delivery> handed_over_ GUARDED_BY(mu_);
  std::unordered_map<std::string, SteadyTime> held_ GUARDED_BY(mu_);  // id -> when last locked
  Batch pending_ GUARDED_BY(mu_);
  SteadyTime pending_since_ GUARDED_BY(mu_);
  uint64_t enqueued_seq_ GUARDED_BY(mu_) = 0;  // counts changes to pending_
  uint64_t written_seq_ GUARDED_BY(mu_) = 0;   // every change up to this one is written
  uint64_t flush_requests_ GUARDED_BY(mu_) = 0;
  std::string last_write_error_ GUARDED_BY(mu_);
  bool poll_now_ GUARDED_BY(mu_) = true;
  SteadyTime next_poll_ GUARDED_BY(mu_);
  std::chrono::milliseconds claim_backoff_ GUARDED_BY(mu_){0};
  // When reschedules this process wrote become due: Claim looks then rather than at the poll.
  std::priority_queue<SteadyTime, std::vector<SteadyTime>, std::greater<>> local_due_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  bool hand_over_interrupted_ GUARDED_BY(mu_) = false;

  Mutex claim_mu_;  // one claim statement at a time on the claim connection
  std::optional<PgConnection> claim_conn_ GUARDED_BY(claim_mu_);

  std::optional<PgConnection> flush_conn_;  // the flusher thread's alone
  std::jthread flusher_;
};

}  // namespace fraiseql
