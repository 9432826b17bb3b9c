#include "listener/listener.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "checkpoint/postgres_checkpoint_store.h"
#include "common/log.h"
#include "condition/condition.h"
#include "db/sqlstate.h"
#include "dlq/postgres_dead_letter_store.h"
#include "event/entity_event.h"
#include "metrics/families.h"
#include "queue/job_rows.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// The rows of one read, prepared for the batch transaction.
struct PreparedBatch {
  std::vector<NewJob> jobs;
  std::vector<DeadLetter> dead_letters;
  ChangeLogPosition last;
  size_t rows = 0;
};

enum class CommitOutcome { kCommitted, kLeaseLost, kCheckpointMoved };

std::string ErrorText(const Error& error) {
  return std::string(ErrorCodeName(error.code)) + ": " + error.message;
}

milliseconds Clamp(milliseconds value, milliseconds low, milliseconds high) {
  return std::max(low, std::min(value, high));
}

}  // namespace

ListenerOptions ListenerOptionsFrom(const DatabaseConfig& database, Secret url) {
  ListenerOptions options;
  options.database_url = std::move(url);
  options.listener_id = database.listener_id;
  options.change_log_table = database.change_log_table;
  options.batch_size = database.batch_size;
  options.poll_interval = database.poll_interval;
  options.synchronous_commit = database.synchronous_commit;
  return options;
}

// Everything the loop owns. Lives on the loop's thread only, so it needs no lock; it publishes
// what others may read through Listener::UpdateStatus.
class Listener::Loop {
 public:
  explicit Loop(Listener& owner)
      : owner_(owner),
        options_(owner.options_),
        batch_size_(std::clamp<uint32_t>(options_.batch_size, kMinCheckpointBatchSize, kMaxCheckpointBatchSize)),
        renew_every_(std::max(milliseconds(1), options_.lease_ttl / 3)),
        backoff_(options_.retry_backoff_min),
        held_back_wait_(options_.held_back_poll),
        events_processed_(metrics::EventsProcessedTotal().Get()),
        deserialization_failures_(metrics::EventsDeserializationFailuresTotal().Get()),
        invalid_rows_(metrics::EventsFailedTotal().WithLabels({"invalid_row"})),
        condition_failures_(metrics::EventsFailedTotal().WithLabels({"condition_error"})),
        backlog_(metrics::BacklogSize().Get()),
        lag_(metrics::ListenerLagSeconds().Get()),
        batch_rows_(metrics::ListenerBatchSize().Get()),
        fetch_seconds_(metrics::ListenerFetchSeconds().Get()) {}

  void Run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      Result<void> step = Step();
      if (step) {
        backoff_ = options_.retry_backoff_min;
        continue;
      }
      if (stop.stop_requested()) break;
      OnStepFailed(step.error());
      Sleep(backoff_);
      backoff_ = std::min(backoff_ * 2, options_.retry_backoff_max);
    }
    StopLeading("the listener is stopping", /*release=*/true);
  }

 private:
  // One turn: connect, lead, read one batch, hand it off, or wait. An error means "back off and
  // try again"; every state it leaves behind (a lost connection, an unknown commit outcome) is
  // repaired by the next turn (reconnect, reload the checkpoint).
  Result<void> Step() {
    FRAISEQL_RETURN_IF_ERROR(EnsureMainConnection());
    if (!lease_) {
      bool leading = false;
      FRAISEQL_ASSIGN_OR_RETURN(leading, AcquireLease());
      if (!leading) {
        // Another process leads: try again at the renewal cadence (it renews every ttl/3; it
        // may release the lease at any moment, or let it expire).
        Sleep(renew_every_);
        return Ok();
      }
    }
    FRAISEQL_RETURN_IF_ERROR(RenewIfDue());
    if (!lease_) return Ok();
    if (need_reload_) {
      FRAISEQL_RETURN_IF_ERROR(Establish());
      if (!lease_ || need_reload_) return Ok();
    }
    if (!owner_.wakeup_.listening()) {
      FRAISEQL_RETURN_IF_ERROR(
          owner_.wakeup_.Listen(options_.database_url, kChangeLogChannel, options_.connect_timeout));
      // NOTIFYs sent while nobody listened are gone: the read below covers them.
    }
    // Consume what arrived so far, so a NOTIFY during the read below wakes the next wait.
    if (Result<size_t> drained = owner_.wakeup_.Drain(); !drained) return std::move(drained).error();

    const bool isolating = isolate_until_ && position_ < *isolate_until_;
    if (!isolating) isolate_until_.reset();
    const size_t limit = isolating ? 1 : batch_size_;
    const SteadyTime read_start = std::chrono::steady_clock::now();
    Result<std::vector<ChangeLogEntry>> entries = reader_->ReadBatch(*main_, position_, limit);
    fetch_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - read_start).count());
    owner_.UpdateStatus([](Status& status) { ++status.reads; });
    if (!entries) return std::move(entries).error();
    RefreshGaugesIfDue();

    if (entries->empty()) return WaitForWork();
    held_back_wait_ = options_.held_back_poll;

    PreparedBatch batch = Prepare(std::move(entries).value());
    Result<CommitOutcome> outcome = Commit(batch);
    if (!outcome) {
      // Class 22 (data exception: a value the column types reject) is about this batch's data;
      // anything else (a missing table, a privilege) is about the database and is retried.
      if (SqlStateClass(SqlStateOf(outcome.error())) == "22") return HandleRefusedBatch(batch, outcome.error());
      return std::move(outcome).error();
    }
    if (*outcome == CommitOutcome::kCommitted) Committed(std::move(batch));
    return Ok();
  }

  // --- connections and the lease ------------------------------------------------------------

  Result<void> EnsureMainConnection() {
    if (main_ && main_->healthy()) return Ok();
    main_.reset();
    Result<PgConnection> conn = PgConnection::Connect(options_.database_url, options_.connect_timeout);
    if (!conn) return std::move(conn).error();
    // Names the connection in pg_stat_activity (a parameter: the id is never spliced into SQL).
    const std::optional<std::string> name[] = {"fraiseql-observer listener " + options_.listener_id};
    Result<PgResult> set = conn->Execute("SELECT set_config('application_name', left($1, 63), false)", name);
    if (!set) return std::move(set).error();
    if (!reader_) {
      Result<ChangeLogReader> reader = ChangeLogReader::Create(*conn, options_.change_log_table);
      if (!reader) return std::move(reader).error();
      reader_.emplace(std::move(reader).value());
    }
    main_.emplace(std::move(conn).value());
    // Whatever happened while disconnected (a COMMIT whose outcome we never heard, an operator's
    // move) is in the stored checkpoint: continue from there.
    need_reload_ = true;
    if (connected_once_) owner_.UpdateStatus([](Status& status) { ++status.reconnects; });
    connected_once_ = true;
    return Ok();
  }

  Result<bool> AcquireLease() {
    std::optional<Lease> lease;
    FRAISEQL_ASSIGN_OR_RETURN(lease, owner_.lease_.TryAcquire(options_.listener_id, holder(), options_.lease_ttl));
    if (!lease) {
      if (!waiting_logged_) {
        log::Info("listener waits: another process holds the lease", {{"listener_id", options_.listener_id}});
        waiting_logged_ = true;
      }
      return false;
    }
    waiting_logged_ = false;
    lease_ = std::move(lease);
    last_renewed_ = std::chrono::steady_clock::now();
    need_reload_ = true;
    log::Info("listener leads", {{"listener_id", options_.listener_id},
                                 {"holder", holder()},
                                 {"epoch", std::to_string(lease_->epoch)}});
    const int64_t epoch = lease_->epoch;
    owner_.UpdateStatus([epoch](Status& status) {
      status.leading = true;
      status.lease_epoch = epoch;
    });
    return true;
  }

  Result<void> RenewIfDue() {
    const SteadyTime now = std::chrono::steady_clock::now();
    if (now - last_renewed_ < renew_every_) return Ok();
    Result<std::optional<Lease>> renewed = owner_.lease_.Renew(*lease_, options_.lease_ttl);
    if (!renewed) {
      // Unconfirmed for a whole ttl: another process may lead by now. (Fencing holds anyway:
      // the batch transaction re-checks the lease; this only stops reading in vain.)
      if (now - last_renewed_ >= options_.lease_ttl) StopLeading("the lease could not be renewed", false);
      return std::move(renewed).error();
    }
    if (!*renewed) {
      StopLeading("the lease was taken over", /*release=*/false);
      return Ok();
    }
    lease_ = std::move(*renewed);
    last_renewed_ = now;
    return Ok();
  }

  void StopLeading(std::string_view why, bool release) {
    owner_.wakeup_.Close();  // a standby must not LISTEN: unread NOTIFYs fill the server's queue
    if (!lease_) return;
    if (release) {
      Result<bool> released = owner_.lease_.Release(*lease_);
      if (!released) {
        log::Warn("listener could not release its lease (it expires on its own)",
                  {{"listener_id", options_.listener_id}, {"error", released.error().message}});
      }
    }
    log::Info("listener stops leading", {{"listener_id", options_.listener_id}, {"reason", std::string(why)}});
    lease_.reset();
    need_reload_ = true;
    owner_.UpdateStatus([](Status& status) {
      status.leading = false;
      status.lease_epoch = 0;
    });
  }

  // Loads the checkpoint and, when it was written under an older epoch, takes it over with
  // ours (a failover: the store records it in the history). Leaves need_reload_ set when a
  // concurrent write got in the way, so the next turn tries again.
  Result<void> Establish() {
    std::optional<Checkpoint> stored;
    FRAISEQL_ASSIGN_OR_RETURN(stored, PostgresCheckpointStore::LoadWith(*main_, options_.listener_id));
    const int64_t epoch = lease_->epoch;
    if (stored && stored->lease_epoch > epoch) {
      // Written under a newer epoch than the lease row knows (someone edited the tables): give
      // the lease back; the next acquisition starts above the checkpoint's epoch.
      log::Error("listener's checkpoint has a newer epoch than its lease; re-acquiring",
                 {{"listener_id", options_.listener_id},
                  {"checkpoint_epoch", std::to_string(stored->lease_epoch)},
                  {"lease_epoch", std::to_string(epoch)}});
      StopLeading("fenced by a newer checkpoint epoch", /*release=*/true);
      return Ok();
    }
    const bool legacy = stored && stored->position.txid == 0 && stored->position.pk > 0;
    if (stored && stored->lease_epoch == epoch && !legacy) {
      Adopt(*stored);
      return Ok();
    }
    Checkpoint next = stored.value_or(Checkpoint{});
    if (legacy) {
      // FraiseQL's own observer left this checkpoint (an id, no txid): continue after that id
      // rather than from the start of the log.
      FRAISEQL_ASSIGN_OR_RETURN(next.position, reader_->LegacyPosition(*main_, stored->position.pk));
      log::Info("listener continues from a FraiseQL checkpoint",
                {{"listener_id", options_.listener_id},
                 {"last_processed_id", std::to_string(stored->position.pk)},
                 {"position", PositionToString(next.position)}});
    }
    next.listener_id = options_.listener_id;
    next.lease_epoch = epoch;
    next.batch_size = batch_size_;
    next.updated_by = holder();
    const int64_t expected_epoch = stored ? stored->lease_epoch : 0;
    const ChangeLogPosition expected_position = stored ? stored->position : ChangeLogPosition{};
    bool swapped = false;
    FRAISEQL_ASSIGN_OR_RETURN(swapped, PostgresCheckpointStore::CompareAndSwapInTransaction(
                                           *main_, options_.listener_id, expected_epoch, expected_position, next));
    if (!swapped) return Ok();  // raced with another writer: load again next turn
    if (stored) {
      log::Info("listener took over the checkpoint", {{"listener_id", options_.listener_id},
                                                      {"position", PositionToString(next.position)},
                                                      {"from_epoch", std::to_string(expected_epoch)},
                                                      {"epoch", std::to_string(epoch)}});
    }
    Adopt(next);
    return Ok();
  }

  void Adopt(const Checkpoint& checkpoint) {
    position_ = checkpoint.position;
    total_events_ = checkpoint.total_events;
    need_reload_ = false;
    const ChangeLogPosition position = position_;
    owner_.UpdateStatus([position](Status& status) { status.position = position; });
  }

  // --- the batch ----------------------------------------------------------------------------

  PreparedBatch Prepare(std::vector<ChangeLogEntry> entries) {
    PreparedBatch batch;
    batch.rows = entries.size();
    batch.last = entries.back().position;
    for (ChangeLogEntry& entry : entries) {
      const int64_t pk = entry.position.pk;
      if (!entry.row) {
        DeadLetter record = RowDeadLetter(pk, entry.row.error());
        record.row_data = std::move(entry.raw);
        if (record.row_data->contains("object_type") && (*record.row_data)["object_type"].is_string()) {
          record.entity_type = (*record.row_data)["object_type"].get<std::string>();
        }
        batch.dead_letters.push_back(std::move(record));
        continue;
      }
      Result<EntityEvent> converted = FromChangeLogRow(*entry.row, owner_.clock_);
      if (!converted) {
        DeadLetter record = RowDeadLetter(pk, converted.error());
        record.row_data = ChangeLogRowToJson(*entry.row, entry.position);
        record.entity_type = entry.row->object_type;
        batch.dead_letters.push_back(std::move(record));
        continue;
      }
      auto event = std::make_shared<const EntityEvent>(std::move(converted).value());
      const EventMatch match = MatchEvent(owner_.index_, *event);
      for (const EventMatch::ConditionError& failed : match.condition_errors) {
        // Guarantee 7: this (event, observer) is dead-lettered; other observers still run.
        const ObserverConfig& observer = *failed.observer;
        metrics::ConditionErrorsTotal().WithLabels({observer.name}).Increment();
        condition_failures_.Increment();
        DeadLetter record;
        record.listener_id = options_.listener_id;
        record.change_log_pk = pk;
        record.event = EventToJson(*event);
        record.observer = observer.name;
        record.entity_type = event->entity_type;
        record.reason = "condition of observer '" + observer.name + "' failed: " + failed.error.message;
        batch.dead_letters.push_back(std::move(record));
      }
      for (Delivery& delivery : DeliveriesFor(event, match.matched)) {
        batch.jobs.push_back(NewJob{std::move(delivery), pk});
      }
    }
    return batch;
  }

  DeadLetter RowDeadLetter(int64_t pk, const Error& error) {
    deserialization_failures_.Increment();
    invalid_rows_.Increment();
    DeadLetter record;
    record.listener_id = options_.listener_id;
    record.change_log_pk = pk;
    record.reason = error.message;
    if (record.reason.find(std::to_string(pk)) == std::string::npos) {
      record.reason = "change-log row pk " + std::to_string(pk) + ": " + record.reason;
    }
    return record;
  }

  Checkpoint NextCheckpoint(const PreparedBatch& batch, uint32_t event_count) const {
    Checkpoint next;
    next.listener_id = options_.listener_id;
    next.position = batch.last;
    next.lease_epoch = lease_->epoch;
    next.batch_size = batch_size_;
    next.event_count = event_count;
    next.total_events = total_events_ + static_cast<int64_t>(batch.rows);
    next.updated_by = holder();
    return next;
  }

  // The hand-off (guarantee 3): jobs, dead letters and the checkpoint in one transaction, under
  // the lease (re-checked and locked inside it) and the checkpoint's compare-and-swap (guarantee 4).
  Result<CommitOutcome> Commit(const PreparedBatch& batch) {
    Result<CommitOutcome> outcome = CommitOnce(batch);
    if (!outcome || *outcome != CommitOutcome::kCommitted) {
      Rollback();
      need_reload_ = true;
    }
    if (outcome && *outcome != CommitOutcome::kCommitted) owner_.UpdateStatus([](Status& status) { ++status.fenced; });
    return outcome;
  }

  Result<CommitOutcome> CommitOnce(const PreparedBatch& batch) {
    PgConnection& tx = *main_;
    FRAISEQL_RETURN_IF_ERROR(Run(tx, "BEGIN"));
    FRAISEQL_RETURN_IF_ERROR(Run(tx, options_.synchronous_commit ? "SET LOCAL synchronous_commit = on"
                                                                 : "SET LOCAL synchronous_commit = off"));
    bool held = false;
    FRAISEQL_ASSIGN_OR_RETURN(held, PostgresLease::HeldInTransaction(tx, *lease_));
    if (!held) {
      StopLeading("the lease is no longer ours", /*release=*/false);
      return CommitOutcome::kLeaseLost;
    }
    if (!batch.jobs.empty()) {
      std::optional<ClaimStamp> claim;
      if (owner_.on_committed_ && options_.claim_for) {
        claim = ClaimStamp{holder(), owner_.clock_.Now() + *options_.claim_for};
      }
      FRAISEQL_RETURN_IF_ERROR(InsertJobs(tx, options_.listener_id, batch.jobs, claim));
    }
    if (!batch.dead_letters.empty()) FRAISEQL_RETURN_IF_ERROR(PostgresDeadLetterStore::AddWith(tx, batch.dead_letters));
    bool swapped = false;
    FRAISEQL_ASSIGN_OR_RETURN(swapped, PostgresCheckpointStore::CompareAndSwapInTransaction(
                                           tx, options_.listener_id, lease_->epoch, position_,
                                           NextCheckpoint(batch, static_cast<uint32_t>(batch.rows))));
    if (!swapped) {
      log::Warn("listener's checkpoint moved under it (operator move or another epoch); reloading",
                {{"listener_id", options_.listener_id}, {"position", PositionToString(position_)}});
      return CommitOutcome::kCheckpointMoved;
    }
    FRAISEQL_RETURN_IF_ERROR(Run(tx, "COMMIT"));
    return CommitOutcome::kCommitted;
  }

  void Committed(PreparedBatch batch) {
    position_ = batch.last;
    total_events_ += static_cast<int64_t>(batch.rows);
    events_processed_.Increment(batch.rows);
    batch_rows_.Observe(static_cast<double>(batch.rows));
    const ChangeLogPosition position = position_;
    const size_t rows = batch.rows;
    const size_t dead = batch.dead_letters.size();
    owner_.UpdateStatus([&](Status& status) {
      status.position = position;
      ++status.batches_committed;
      status.rows_committed += rows;
      status.dead_letters += dead;
      status.last_error.clear();
    });
    if (!owner_.on_committed_ || batch.jobs.empty()) return;
    std::vector<Delivery> deliveries;
    deliveries.reserve(batch.jobs.size());
    for (NewJob& job : batch.jobs) deliveries.push_back(std::move(job.delivery));
    try {
      owner_.on_committed_(std::move(deliveries));
    } catch (const std::exception& error) {
      // The jobs are committed: they run when their claim ends, so nothing is lost.
      log::Error("listener's on_committed callback threw", {{"error", error.what()}});
    } catch (...) {
      log::Error("listener's on_committed callback threw a non-exception");
    }
  }

  // The database refused the batch's data (SQLSTATE class 22: a value its types reject). Find
  // the row: redo the batch one row at a time; a single refused row is dead-lettered alone, with
  // the refusal as the reason (guarantee 7), and the checkpoint moves past it.
  Result<void> HandleRefusedBatch(const PreparedBatch& batch, const Error& error) {
    if (batch.rows > 1) {
      log::Warn("batch refused by the database; retrying its rows one at a time",
                {{"listener_id", options_.listener_id}, {"error", error.message}});
      isolate_until_ = batch.last;
      return Ok();
    }
    PreparedBatch alone;
    alone.rows = 1;
    alone.last = batch.last;
    DeadLetter record;
    record.listener_id = options_.listener_id;
    record.change_log_pk = batch.last.pk;
    record.reason = "the job queue refused change-log row pk " + std::to_string(batch.last.pk) + ": " + error.message;
    alone.dead_letters.push_back(std::move(record));
    // Commit() set need_reload_ after its rollback; a data error is not a fencing outcome and
    // the compare-and-swap inside the transaction re-checks the position anyway.
    need_reload_ = false;
    Result<CommitOutcome> outcome = Commit(alone);
    if (!outcome) return std::move(outcome).error();
    if (*outcome == CommitOutcome::kCommitted) Committed(std::move(alone));
    return Ok();
  }

  static Result<void> Run(PgConnection& conn, std::string_view sql) {
    Result<PgResult> result = conn.Execute(sql);
    if (!result) return std::move(result).error();
    return Ok();
  }

  void Rollback() {
    if (main_ && main_->healthy()) {
      // Outside a transaction this only warns; a failure means the connection is gone, which
      // the next turn repairs.
      [[maybe_unused]] Result<PgResult> ignored = main_->Execute("ROLLBACK");
    }
  }

  // --- waiting ------------------------------------------------------------------------------

  Result<void> WaitForWork() {
    bool held_back = false;
    FRAISEQL_ASSIGN_OR_RETURN(held_back, reader_->HasHeldBackRows(*main_, position_));
    milliseconds wait = options_.poll_interval;
    if (held_back) {
      wait = std::min(held_back_wait_, options_.poll_interval);
      held_back_wait_ = std::min({held_back_wait_ * 2, options_.poll_interval, milliseconds(1000)});
    }
    // Wake in time to renew the lease.
    const auto until_renewal = std::chrono::duration_cast<milliseconds>(
        last_renewed_ + renew_every_ - std::chrono::steady_clock::now());
    wait = Clamp(std::min(wait, until_renewal), milliseconds(0), options_.poll_interval);
    // Whatever ended the wait (a NOTIFY, the timeout, Stop), the next turn reads again.
    if (Result<NotifyWakeup::Wake> woke = owner_.wakeup_.Wait(wait); !woke) return std::move(woke).error();
    return Ok();
  }

  // Sleeps, cut short only by Stop().
  void Sleep(milliseconds duration) {
    const bool listening = owner_.wakeup_.listening();
    if (!listening) {
      [[maybe_unused]] Result<NotifyWakeup::Wake> woke = owner_.wakeup_.Wait(duration);
      return;
    }
    // While listening, Wait would also return on a NOTIFY; a back-off should not.
    const SteadyTime deadline = std::chrono::steady_clock::now() + duration;
    for (;;) {
      const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= milliseconds::zero()) return;
      Result<NotifyWakeup::Wake> woke = owner_.wakeup_.Wait(left);
      if (!woke || *woke == NotifyWakeup::Wake::kInterrupted) return;
    }
  }

  void RefreshGaugesIfDue() {
    const SteadyTime now = std::chrono::steady_clock::now();
    if (gauges_refreshed_ && now - *gauges_refreshed_ < options_.stats_interval) return;
    gauges_refreshed_ = now;
    Result<BacklogEstimate> estimate = reader_->EstimateBacklog(*main_, position_);
    if (!estimate) return;  // gauges are best effort; a real problem shows in the next read
    backlog_.Set(estimate->rows);
    lag_.Set(estimate->lag_seconds);
  }

  void OnStepFailed(const Error& error) {
    const std::string text = ErrorText(error);
    log::Warn("listener step failed; retrying", {{"listener_id", options_.listener_id},
                                                 {"error", text},
                                                 {"retry_in_ms", std::to_string(backoff_.count())}});
    owner_.UpdateStatus([&](Status& status) { status.last_error = text; });
    if (main_ && !main_->healthy()) main_.reset();
    need_reload_ = true;
  }

  const std::string& holder() const { return options_.holder; }

  Listener& owner_;
  const ListenerOptions& options_;
  const uint32_t batch_size_;
  const milliseconds renew_every_;

  std::optional<PgConnection> main_;
  std::optional<ChangeLogReader> reader_;
  bool connected_once_ = false;
  std::optional<Lease> lease_;
  SteadyTime last_renewed_{};
  bool waiting_logged_ = false;
  bool need_reload_ = true;
  ChangeLogPosition position_;
  int64_t total_events_ = 0;
  std::optional<ChangeLogPosition> isolate_until_;
  milliseconds backoff_;
  milliseconds held_back_wait_;
  std::optional<SteadyTime> gauges_refreshed_;

  metrics::Counter& events_processed_;
  metrics::Counter& deserialization_failures_;
  metrics::Counter& invalid_rows_;
  metrics::Counter& condition_failures_;
  metrics::Gauge& backlog_;
  metrics::Gauge& lag_;
  metrics::Histogram& batch_rows_;
  metrics::Histogram& fetch_seconds_;
};

Result<std::unique_ptr<Listener>> Listener::Create(ListenerOptions options, const ObserverIndex& index,
                                                   PostgresLease& lease, Clock& clock, OnCommitted on_committed) {
  if (options.listener_id.empty() || options.listener_id.size() > 255) {
    return Error::InvalidArgument("the listener id must be 1 to 255 bytes");
  }
  if (options.poll_interval <= milliseconds::zero() || options.lease_ttl <= milliseconds::zero() ||
      options.connect_timeout <= milliseconds::zero() || options.retry_backoff_min <= milliseconds::zero() ||
      options.retry_backoff_max < options.retry_backoff_min || options.held_back_poll <= milliseconds::zero()) {
    return Error::InvalidArgument("listener intervals must be positive (and retry_backoff_max >= retry_backoff_min)");
  }
  if (options.holder.empty()) options.holder = DefaultLeaseHolder();
  if (options.holder.size() > 255) return Error::InvalidArgument("the lease holder name must be at most 255 bytes");
  Result<NotifyWakeup> wakeup = NotifyWakeup::Create();
  if (!wakeup) return std::move(wakeup).error();
  // Declared now, so /metrics shows them before the first batch.
  metrics::ListenerLagSeconds();
  metrics::ListenerBatchSize();
  metrics::ListenerFetchSeconds();
  return std::unique_ptr<Listener>(
      new Listener(std::move(options), index, lease, clock, std::move(on_committed), std::move(wakeup).value()));
}

Listener::Listener(ListenerOptions options, const ObserverIndex& index, PostgresLease& lease, Clock& clock,
                   OnCommitted on_committed, NotifyWakeup wakeup)
    : options_(std::move(options)),
      index_(index),
      lease_(lease),
      clock_(clock),
      on_committed_(std::move(on_committed)),
      wakeup_(std::move(wakeup)) {}

Listener::~Listener() { Stop(); }

void Listener::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Run(std::move(stop)); });
}

void Listener::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void Listener::Run(std::stop_token stop) {
  wakeup_.ClearInterrupt();
  std::stop_callback interrupt(stop, [this] { wakeup_.Interrupt(); });
  try {
    Loop loop(*this);
    loop.Run(stop);
  } catch (const std::exception& error) {
    // Nothing may escape a thread's entry function; the lease expires on its own.
    log::Error("listener loop ended by an exception", {{"listener_id", options_.listener_id}, {"error", error.what()}});
    UpdateStatus([&](Status& status) {
      status.leading = false;
      status.last_error = std::string("exception: ") + error.what();
    });
  } catch (...) {
    log::Error("listener loop ended by a non-exception", {{"listener_id", options_.listener_id}});
    UpdateStatus([](Status& status) { status.leading = false; });
  }
}

Listener::Status Listener::status() const {
  MutexLock lock(&mu_);
  return status_;
}

}  // namespace fraiseql
