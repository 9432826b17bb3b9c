// Listener: while it holds its listener id's lease, reads the change log gaplessly and hands each
// batch of deliveries to the job queue in the transaction that advances its fenced checkpoint.
// Thread-safety: Start/Stop/status may be called from any thread; the loop runs on one thread.
//
// Usage:
//   PostgresLease lease(url);
//   auto listener = Listener::Create(ListenerOptionsFrom(config.database, url), index, lease,
//                                    clock, [&](std::vector<Delivery> d) { local_queue.Add(d); });
//   (*listener)->Start();   ...   (*listener)->Stop();   // Stop releases the lease
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint_store.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/thread_annotations.h"
#include "config/sections.h"
#include "delivery/delivery.h"
#include "listener/change_log_reader.h"
#include "listener/lease.h"
#include "listener/notify_wakeup.h"
#include "matcher/matcher.h"

namespace fraiseql {

struct ListenerOptions {
  Secret database_url;
  std::string listener_id = "default";
  std::string change_log_table = "core.tb_entity_change_log";
  uint32_t batch_size = 1000;  // clamped to [1, 10000] (the checkpoint's CHECK)
  // The fallback when no NOTIFY comes (e.g. a NOTIFY lost while the LISTEN connection was down).
  std::chrono::milliseconds poll_interval{1000};
  // For the batch transaction only (SET LOCAL). Off is safe: a transaction lost in a crash of
  // PostgreSQL only moves the checkpoint back, so its batch is read and enqueued again.
  bool synchronous_commit = true;
  // Lease holder and claim-stamp holder: unique per process. Empty: DefaultLeaseHolder().
  std::string holder;
  // The lease is renewed every ttl/3; a standby process tries to take it over at that cadence.
  std::chrono::milliseconds lease_ttl{15000};
  // Jobs handed to on_committed are inserted already claimed by `holder` for this long, so
  // other processes' workers leave them to the local queue; if this process dies they become
  // due again when the claim ends. nullopt, or no on_committed callback: inserted unclaimed.
  std::optional<std::chrono::milliseconds> claim_for = std::chrono::minutes(5);
  std::chrono::milliseconds connect_timeout{5000};
  // Reconnects and retries after errors back off exponentially between these bounds.
  std::chrono::milliseconds retry_backoff_min{100};
  std::chrono::milliseconds retry_backoff_max{10000};
  // When committed rows wait behind an older running transaction (no NOTIFY will say when it
  // ends), the change log is looked at again after this, doubling up to poll_interval.
  std::chrono::milliseconds held_back_poll{10};
  // The backlog and lag gauges are refreshed at most this often.
  std::chrono::milliseconds stats_interval{1000};
};

// The options [database] gives; `url` is the resolved database URL.
ListenerOptions ListenerOptionsFrom(const DatabaseConfig& database, Secret url);

class Listener {
 public:
  // Called on the listener thread after each committed batch with its deliveries (in change-log
  // order), at most once per commit. Not called when the commit's outcome is unknown (the
  // connection broke during COMMIT): those jobs, if committed, run when their claim ends.
  using OnCommitted = std::function<void(std::vector<Delivery>)>;

  // A snapshot for health checks, the admin API and tests.
  struct Status {
    bool leading = false;
    int64_t lease_epoch = 0;          // of the lease held now, 0 when not leading
    ChangeLogPosition position;       // the checkpoint as this listener last committed or loaded it
    uint64_t reads = 0;               // change-log reads done
    uint64_t batches_committed = 0;
    uint64_t rows_committed = 0;      // rows handed off (jobs, dead letters or nothing matched)
    uint64_t dead_letters = 0;
    uint64_t reconnects = 0;          // new database connections after the first
    uint64_t fenced = 0;              // batches rolled back because the lease or checkpoint moved
    std::string last_error;           // empty when the last step succeeded
  };

  // `index` (and the Config it was built from), `lease` and `clock` are borrowed and must
  // outlive the listener. Errors: kInvalidArgument for unusable options (empty listener id,
  // non-positive intervals); kInternal when no eventfd can be made.
  static Result<std::unique_ptr<Listener>> Create(ListenerOptions options, const ObserverIndex& index,
                                                  PostgresLease& lease, Clock& clock, OnCommitted on_committed);

  ~Listener();  // Stop()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Starts the loop on a thread of its own. REQUIRES: not started yet.
  void Start();
  // Asks the loop to stop, waits for it (a batch in progress finishes or rolls back first) and
  // releases the lease so a standby takes over at once. Idempotent.
  void Stop();

  // The loop itself, on the calling thread, until `stop` is requested; for callers that own the
  // thread. Never throws. REQUIRES: not also Start()ed.
  void Run(std::stop_token stop);

  Status status() const LOCKS_EXCLUDED(mu_);
  const ListenerOptions& options() const { return options_; }

 private:
  class Loop;  // the loop's state, owned by the thread running it (listener.cc)

  Listener(ListenerOptions options, const ObserverIndex& index, PostgresLease& lease, Clock& clock,
           OnCommitted on_committed, NotifyWakeup wakeup);

  // For Loop: publishes progress.
  template <typename F>
  void UpdateStatus(F&& update) LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    update(status_);
  }

  const ListenerOptions options_;
  const ObserverIndex& index_;
  PostgresLease& lease_;
  Clock& clock_;
  const OnCommitted on_committed_;
  NotifyWakeup wakeup_;  // Interrupt() from Stop's thread; the rest from the loop's

  mutable Mutex mu_;
  Status status_ GUARDED_BY(mu_);
  std::jthread thread_;  // started and joined by Start/Stop (one caller at a time)
};

}  // namespace fraiseql
