#include "app/daemon.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "app/delivery_stack.h"
#include "app/signals.h"
#include "common/log.h"
#include "config/database_url.h"
#include "db/connection.h"
#include "db/migrations.h"
#include "http/admin_server.h"
#include "common/holder_name.h"
#include "listener/listener.h"
#include "listener/postgres_change_log.h"
#include "listener/postgres_hand_off.h"
#include "listener/postgres_lease.h"
#include "matcher/matcher.h"
#include "metrics/families.h"
#include "queue/postgres_job_queue.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;

// Refuses to run against a database whose schema is older than this binary: the listener and the
// queue would fail on the first statement with a far less helpful message.
Result<void> CheckMigrated(const Secret& url) {
  Result<PgConnection> conn = PgConnection::Connect(url, milliseconds(10000));
  if (!conn) return conn.error();
  Result<std::vector<int>> pending = PendingMigrations(*conn);
  if (!pending) return pending.error();
  if (!pending->empty()) {
    return Error::FailedPrecondition(std::to_string(pending->size()) + " migration(s) of " + conn->description() +
                                     " are not applied yet: run 'fraiseql-observer migrate' first");
  }
  return Ok();
}

// Everything the daemon runs, in construction order; Shutdown() takes it apart in the order
// guarantee 6 needs.
class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Create(const Config& config, Secret url) {
    std::unique_ptr<Daemon> daemon(new Daemon(config));
    const JobQueueConfig job_queue = config.job_queue.value_or(JobQueueConfig{});

    PostgresJobQueueOptions queue_options;
    queue_options.database_url = url;
    queue_options.listener_id = config.database.listener_id;
    queue_options.holder = daemon->holder_;
    queue_options.lock_timeout = job_queue.lock_timeout;
    queue_options.poll_interval = job_queue.poll_interval;
    queue_options.synchronous_commit = config.database.synchronous_commit;
    queue_options.shutdown_timeout = config.performance.shutdown_timeout;
    // The listener hands at most this many committed deliveries to the local workers before it
    // waits for them (FraiseQL's listener-to-executor channel).
    queue_options.max_handed_over = config.performance.channel_capacity;
    daemon->queue_ = std::make_unique<PostgresJobQueue>(std::move(queue_options), daemon->clock_);

    Result<std::unique_ptr<DeliveryStack>> stack = DeliveryStack::Create(config, *daemon->queue_, daemon->clock_);
    if (!stack) return stack.error();
    daemon->stack_ = std::move(*stack);

    PostgresChangeLogOptions change_log_options;
    change_log_options.database_url = url;
    change_log_options.table = config.database.change_log_table;
    change_log_options.listener_id = config.database.listener_id;
    Result<std::unique_ptr<PostgresChangeLog>> change_log =
        PostgresChangeLog::Create(std::move(change_log_options), daemon->clock_);
    if (!change_log) return change_log.error();
    daemon->change_log_ = std::move(*change_log);
    daemon->leases_ = std::make_unique<PostgresLeaseStore>(url);
    PostgresHandOffOptions hand_off_options;
    hand_off_options.database_url = url;
    hand_off_options.listener_id = config.database.listener_id;
    hand_off_options.synchronous_commit = config.database.synchronous_commit;
    hand_off_options.first_attempt_deadline = config.performance.first_attempt_deadline;
    daemon->hand_off_ = std::make_unique<PostgresHandOff>(std::move(hand_off_options), daemon->queue_.get());

    ListenerOptions listener_options = ListenerOptionsFrom(config.database, config.performance);
    listener_options.holder = daemon->holder_;
    Result<std::unique_ptr<Listener>> listener =
        Listener::Create(std::move(listener_options), daemon->index_, *daemon->change_log_, *daemon->leases_,
                         *daemon->hand_off_, daemon->clock_);
    if (!listener) return listener.error();
    daemon->listener_ = std::move(*listener);

    AdminServerOptions admin_options;
    Result<ListenAddress> address = ParseListenAddress(config.metrics.listen);
    if (!address) return Error::InvalidArgument("[metrics] listen: " + address.error().message);
    admin_options.address = *address;
    admin_options.admin_token = config.security.admin_token;
    Listener* listener_ptr = daemon->listener_.get();
    admin_options.readiness = [listener_ptr] {
      const Listener::Status status = listener_ptr->status();
      if (!status.last_error.empty()) return Readiness{false, "listener: " + status.last_error};
      return Readiness{true, ""};
    };
    if (config.metrics.enabled) daemon->admin_ = std::make_unique<AdminServer>(std::move(admin_options));
    return daemon;
  }

  Result<void> Start() {
    if (admin_) {
      Result<void> started = admin_->Start();
      if (!started) return started;
    }
    stack_->Start();
    listener_->Start();
    log::Info("fraiseql-observer running",
              {{"listener_id", config_.database.listener_id},
               {"holder", queue_->holder()},
               {"observers", std::to_string(config_.observers.size())},
               {"metrics", admin_ ? admin_->address().ToString() : "disabled"}});
    return Ok();
  }

  // Graceful stop: no new reads (the listener releases its lease so a standby takes over at once),
  // no new claims, in-flight deliveries finish within shutdown_timeout, everything buffered is
  // written, and what was claimed but not started goes back to the queue, unlocked.
  void Shutdown() {
    listener_->Stop();  // also ends a wait for the workers' room, which nobody will make now
    const size_t abandoned = stack_->Shutdown(config_.performance.shutdown_timeout);
    if (abandoned > 0) {
      log::Warn("shutdown timeout: deliveries still in flight are left to their claim's expiry",
                {{"in_flight", std::to_string(abandoned)}});
    }
    queue_.reset();  // flushes completions and gives back what nobody claimed
    if (admin_) admin_->Stop();
    log::Info("fraiseql-observer stopped");
  }

 private:
  explicit Daemon(const Config& config) : config_(config), index_(config.observers) {}

  const Config& config_;
  Clock& clock_ = RealClock();
  const ObserverIndex index_;
  // One name for this process in every row it holds: its lease and its job claims.
  const std::string holder_ = UniqueHolderName();
  std::unique_ptr<PostgresJobQueue> queue_;
  std::unique_ptr<DeliveryStack> stack_;
  std::unique_ptr<PostgresChangeLog> change_log_;
  std::unique_ptr<PostgresLeaseStore> leases_;
  std::unique_ptr<PostgresHandOff> hand_off_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<AdminServer> admin_;
};

}  // namespace

int RunDaemon(const Config& config, std::ostream& err, const DaemonOptions& options) {
  // Before any thread starts, so every thread inherits the blocked mask and the signals reach
  // only the wait below.
  ShutdownSignals signals(HangUp::kLoggedAndIgnored);  // a daemon has no reload yet
  metrics::DeclareAllFamilies();

  Result<Secret> url = ResolveDatabaseUrl(std::nullopt, &config.database, options.getenv);
  if (!url) {
    err << "fraiseql-observer: error: " << url.error().message << "\n";
    return 1;
  }
  if (Result<void> migrated = CheckMigrated(*url); !migrated) {
    err << "fraiseql-observer: error: " << migrated.error().message << "\n";
    return 1;
  }
  Result<std::unique_ptr<Daemon>> daemon = Daemon::Create(config, *url);
  if (!daemon) {
    err << "fraiseql-observer: error: " << daemon.error().message << "\n";
    return 1;
  }
  if (Result<void> started = (*daemon)->Start(); !started) {
    err << "fraiseql-observer: error: " << started.error().message << "\n";
    (*daemon)->Shutdown();
    return 1;
  }
  const int signal = signals.Wait();
  log::Info("shutting down", {{"signal", SignalName(signal)}});
  (*daemon)->Shutdown();
  return 0;
}

}  // namespace fraiseql
