// Listener: while it holds its listener id's lease, reads the change log gaplessly, turns rows into
// deliveries (matching and conditions) and commits each batch through the HandOff seam, which
// queues the deliveries and advances the fenced checkpoint as one step (guarantees 1, 3, 4, 7).
// Thread-safety: Start/Stop/status may be called from any thread; the loop runs on one thread.
//
// One turn of the loop: lead (acquire or renew the lease) -> take over the checkpoint when the
// epoch is new -> wait for the workers' room (never past the next renewal: backpressure must not
// cost the lease) -> read a batch -> commit it, or wait for news of rows. Every wait is on the
// injected Clock or the source's news, so the loop runs on a FakeClock in tests.
//
// Usage (app/daemon.cc wires the PostgreSQL backends):
//   auto listener = Listener::Create(ListenerOptionsFrom(config.database), index, change_log,
//                                    leases, hand_off, clock);
//   (*listener)->Start();   ...   (*listener)->Stop();   // Stop releases the lease
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "checkpoint/checkpoint_store.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "config/sections.h"
#include "listener/change_log_source.h"
#include "listener/hand_off.h"
#include "listener/lease.h"
#include "matcher/matcher.h"

namespace fraiseql {

struct ListenerOptions {
  std::string listener_id = "default";
  uint32_t batch_size = 1000;  // REQUIRES: [1, 10000] (the checkpoint's CHECK)
  // A batch also ends once its rows add up to this many bytes (a single larger row is read
  // alone). REQUIRES: >= 1.
  size_t batch_max_bytes = size_t{32} << 20;
  // The fallback when no news comes (e.g. a NOTIFY lost while the LISTEN connection was down).
  std::chrono::milliseconds poll_interval{1000};
  // Lease holder: unique per process (UniqueHolderName()). Empty: one is made.
  std::string holder;
  // The lease is renewed every ttl/3; a standby tries to take it over at that cadence.
  std::chrono::milliseconds lease_ttl{15000};
  // Retries after errors back off exponentially between these bounds.
  std::chrono::milliseconds retry_backoff_min{100};
  std::chrono::milliseconds retry_backoff_max{10000};
  // When committed rows wait behind an older open transaction (no news will say when it ends),
  // the change log is looked at again after this, doubling up to poll_interval.
  std::chrono::milliseconds held_back_poll{10};
  // The backlog and lag gauges are refreshed at most this often.
  std::chrono::milliseconds stats_interval{1000};
  // A warning is logged when the backlog grows past this many rows (0: never), and an info line
  // when it is back under.
  uint32_t backlog_alert_threshold = 0;
};

// The options [database] and [performance] give.
ListenerOptions ListenerOptionsFrom(const DatabaseConfig& database, const PerformanceConfig& performance);

class Listener {
 public:
  // A snapshot for health checks, the admin API and tests.
  struct Status {
    bool leading = false;
    int64_t lease_epoch = 0;          // of the lease held now, 0 when not leading
    ChangeLogPosition position;       // the checkpoint as this listener last committed or loaded it
    uint64_t reads = 0;               // change-log reads done
    uint64_t lease_attempts = 0;      // tries to take the lease while another process held it
    uint64_t batches_committed = 0;
    uint64_t rows_committed = 0;      // rows handed off (jobs, dead letters or nothing matched)
    uint64_t dead_letters = 0;
    uint64_t fenced = 0;              // batches rolled back because the lease or checkpoint moved
    uint64_t batches_split = 0;       // batches the database refused, read again in halves
    uint64_t backpressure_waits = 0;  // waits for the workers' room that reached the renewal
    std::string last_error;           // empty when the last step succeeded
  };

  // Everything is borrowed and must outlive the listener (`index` with the Config it was built
  // from). Errors: kInvalidArgument for unusable options (empty listener id, batch size out of
  // range, non-positive intervals).
  static Result<std::unique_ptr<Listener>> Create(ListenerOptions options, const ObserverIndex& index,
                                                  ChangeLogSource& change_log, LeaseStore& leases, HandOff& hand_off,
                                                  Clock& clock);

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

  Listener(ListenerOptions options, const ObserverIndex& index, ChangeLogSource& change_log, LeaseStore& leases,
           HandOff& hand_off, Clock& clock);

  // For Loop: publishes progress.
  template <typename F>
  void UpdateStatus(F&& update) LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    update(status_);
  }

  const ListenerOptions options_;
  const ObserverIndex& index_;
  ChangeLogSource& change_log_;
  LeaseStore& leases_;
  HandOff& hand_off_;
  Clock& clock_;

  mutable Mutex mu_;
  Status status_ GUARDED_BY(mu_);
  std::jthread thread_;  // started and joined by Start/Stop (one caller at a time)
};

}  // namespace fraiseql
