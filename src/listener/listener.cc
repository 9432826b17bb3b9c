#include "listener/listener.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "common/holder_name.h"
#include "common/log.h"
#include "common/text.h"
#include "common/url.h"
#include "metrics/families.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

std::string ErrorText(const Error& error) {
  return std::string(ErrorCodeName(error.code)) + ": " + error.message;
}

}  // namespace

ListenerOptions ListenerOptionsFrom(const DatabaseConfig& database, const PerformanceConfig& performance) {
  ListenerOptions options;
  options.listener_id = database.listener_id;
  options.batch_size = database.batch_size;
  options.batch_max_bytes = static_cast<size_t>(database.batch_max_bytes);
  options.poll_interval = database.poll_interval;
  options.backlog_alert_threshold = performance.backlog_alert_threshold;
  return options;
}

// Everything the loop owns. Lives on the loop's thread only, so it needs no lock; it publishes
// what others may read through Listener::UpdateStatus.
class Listener::Loop {
 public:
  Loop(Listener& owner, std::stop_token stop)
      : owner_(owner),
        options_(owner.options_),
        change_log_(owner.change_log_),
        hand_off_(owner.hand_off_),
        clock_(owner.clock_),
        stop_(std::move(stop)),
        wake_sleeper_(stop_, [this] { WakeSleeper(); }),
        renew_every_(std::max(milliseconds(1), options_.lease_ttl / 3)),
        backoff_(options_.retry_backoff_min),
        held_back_wait_(options_.held_back_poll),
        events_processed_(metrics::EventsProcessedTotal().Get()),
        deserialization_failures_(metrics::EventsDeserializationFailuresTotal().Get()),
        invalid_rows_(metrics::EventsFailedTotal().WithLabels({"invalid_row"})),
        condition_failures_(metrics::EventsFailedTotal().WithLabels({"condition_error"})),
        refused_rows_(metrics::EventsFailedTotal().WithLabels({"refused_row"})),
        batches_split_(metrics::ListenerBatchesSplitTotal().Get()),
        backlog_(metrics::BacklogSize().Get()),
        lag_(metrics::ListenerLagSeconds().Get()),
        batch_rows_(metrics::ListenerBatchSize().Get()),
        fetch_seconds_(metrics::ListenerFetchSeconds().Get()),
        leading_(metrics::ListenerLeading().Get()),
        lease_acquisitions_(metrics::ListenerLeaseAcquisitionsTotal().Get()) {}

  void Run() {
    while (!stop_.stop_requested()) {
      Result<void> step = Step();
      if (step) {
        backoff_ = options_.retry_backoff_min;
        if (failing_) {
          failing_ = false;  // readiness follows the last step, not the last committed batch
          owner_.UpdateStatus([](Status& status) { status.last_error.clear(); });
        }
        continue;
      }
      if (stop_.stop_requested()) break;
      OnStepFailed(step.error());
      // A leader backs off no later than its next renewal: a slow failure plus a long back-off
      // must not let a lease that could be renewed expire.
      const SteadyTime wake = clock_.SteadyNow() + backoff_;
      SleepUntil(lease_ ? std::min(wake, last_renewed_ + renew_every_) : wake);
      backoff_ = std::min(backoff_ * 2, options_.retry_backoff_max);
    }
    StopLeading("the listener is stopping", /*release=*/true);
  }

 private:
  // The rows of one read, prepared for the hand-off.
  struct Prefetched {
    ChangeLogPosition after;  // read after this position
    std::vector<ChangeLogEntry> entries;
  };

  struct PreparedBatch {
    HandOffBatch hand_off;
    ChangeLogPosition last;
    size_t rows = 0;
    std::optional<std::string> entity_type;  // a single row's object_type, for its dead letter
  };

  // How often a single row the database refuses is tried before it is dead-lettered.
  static constexpr int kSingleRowTries = 3;
  // How often a standby asks for the lease (at most: never less often than the leader renews).
  static constexpr milliseconds kStandbyRetry{500};

  // One turn: lead, wait for room, read one batch and commit it, or wait for news. An error
  // means "back off and try again"; every state it leaves behind (a lost connection, a commit
  // whose outcome is unknown) is repaired by the next turn (the backends reconnect, the
  // checkpoint is loaded again).
  Result<void> Step() {
    if (!lease_) {
      bool leading = false;
      FRAISEQL_ASSIGN_OR_RETURN(leading, AcquireLease());
      if (!leading) {
        // Another process leads: ask again soon. It may release the lease at any moment, let it
        // expire, or die, which frees its advisory lock at once (PostgresLeaseStore): a standby
        // that asks every kStandbyRetry has deliveries flowing again within about a second.
        SleepFor(std::min(renew_every_, kStandbyRetry));
        return Ok();
      }
    }
    FRAISEQL_RETURN_IF_ERROR(RenewIfDue());
    if (!lease_) return Ok();
    if (need_reload_) {
      FRAISEQL_RETURN_IF_ERROR(Establish());
      if (!lease_ || need_reload_) return Ok();
    }
    if (!WaitForRoom()) return Ok();
    // Listening consumes the news so far, so news during the read below ends the next wait.
    FRAISEQL_RETURN_IF_ERROR(change_log_.Listen());

    if (split_until_ && !(position_ < *split_until_)) split_until_.reset();
    const ReadLimits limits{split_until_ ? split_rows_ : options_.batch_size, options_.batch_max_bytes};
    Result<std::vector<ChangeLogEntry>> entries = TakePrefetched();
    if (entries->empty()) entries = ReadAfter(position_, limits);
    if (!entries) return std::move(entries).error();
    RefreshGaugesIfDue();

    if (entries->empty()) return WaitForWork();
    held_back_wait_ = options_.held_back_poll;

    PreparedBatch batch = Prepare(std::move(entries).value());
    if (!split_until_) {
      // Read the next batch while this one's deliveries run (a hand-off that delivers first).
      batch.hand_off.while_delivering = [this, after = batch.last, limits] { Prefetch(after, limits); };
    }
    Result<HandOffOutcome> outcome = Commit(batch);
    if (!outcome) {
      // kInvalidArgument: the batch's content may be at fault (a value the database's types or
      // limits reject). Anything else is about the backend, and the same batch is retried.
      if (outcome.error().code == ErrorCode::kInvalidArgument) return HandleRefusedBatch(batch, outcome.error());
      return std::move(outcome).error();
    }
    if (*outcome == HandOffOutcome::kCommitted) {
      Committed(batch);
      // Past the rows at fault, batches grow back (doubling), so one bad row costs a few
      // commits, not one per row of the batch it was in.
      if (split_until_) split_rows_ = std::min<size_t>(split_rows_ * 2, options_.batch_size);
    }
    return Ok();
  }

  Result<std::vector<ChangeLogEntry>> ReadAfter(const ChangeLogPosition& after, const ReadLimits& limits) {
    const SteadyTime read_start = clock_.SteadyNow();
    Result<std::vector<ChangeLogEntry>> entries = change_log_.Read(after, limits);
    fetch_seconds_.Observe(std::chrono::duration<double>(clock_.SteadyNow() - read_start).count());
    owner_.UpdateStatus([](Status& status) { ++status.reads; });
    return entries;
  }

  // A batch read ahead is kept only when it has rows: an empty one says nothing about the news
  // that the next turn's Listen() consumes, so that turn reads for itself.
  void Prefetch(const ChangeLogPosition& after, const ReadLimits& limits) {
    Result<std::vector<ChangeLogEntry>> entries = ReadAfter(after, limits);
    if (entries && !entries->empty()) prefetched_ = Prefetched{after, std::move(entries).value()};
  }

  // The batch read ahead, if it starts where the checkpoint now stands (its batch committed);
  // otherwise nothing (empty), and it is dropped.
  std::vector<ChangeLogEntry> TakePrefetched() {
    std::optional<Prefetched> taken = std::exchange(prefetched_, std::nullopt);
    if (!taken || split_until_ || !(taken->after == position_)) return {};
    return std::move(taken->entries);
  }

  // --- the lease ----------------------------------------------------------------------------

  Result<bool> AcquireLease() {
    std::optional<Lease> lease;
    FRAISEQL_ASSIGN_OR_RETURN(lease,
                              owner_.leases_.TryAcquire(options_.listener_id, options_.holder, options_.lease_ttl));
    if (!lease) {
      if (!waiting_logged_) {
        log::Info("listener waits: another process holds the lease", {{"listener_id", options_.listener_id}});
        waiting_logged_ = true;
      }
      owner_.UpdateStatus([](Status& status) { ++status.lease_attempts; });
      return false;
    }
    waiting_logged_ = false;
    lease_ = std::move(lease);
    last_renewed_ = clock_.SteadyNow();
    need_reload_ = true;
    log::Info("listener leads", {{"listener_id", options_.listener_id},
                                 {"holder", options_.holder},
                                 {"epoch", std::to_string(lease_->epoch)},
                                 {"because", lease_->acquired_because.empty() ? "its own lease" : lease_->acquired_because}});
    leading_.Set(1);
    lease_acquisitions_.Increment();
    const int64_t epoch = lease_->epoch;
    owner_.UpdateStatus([epoch](Status& status) {
      status.leading = true;
      status.lease_epoch = epoch;
    });
    return true;
  }

  Result<void> RenewIfDue() {
    const SteadyTime now = clock_.SteadyNow();
    if (now - last_renewed_ < renew_every_) return Ok();
    Result<std::optional<Lease>> renewed = owner_.leases_.Renew(*lease_, options_.lease_ttl);
    if (!renewed) {
      // Unconfirmed for a whole ttl: another process may lead by now. (Fencing holds anyway:
      // the hand-off re-checks the lease; this only stops reading in vain.)
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
    prefetched_.reset();
    change_log_.StopListening();  // a standby must not listen: unread news piles up on the server
    if (!lease_) return;
    if (release) {
      Result<bool> released = owner_.leases_.Release(*lease_);
      if (!released) {
        log::Warn("listener could not release its lease (it expires on its own)",
                  {{"listener_id", options_.listener_id}, {"error", released.error().message}});
      }
    }
    log::Info("listener stops leading", {{"listener_id", options_.listener_id}, {"reason", std::string(why)}});
    lease_.reset();
    need_reload_ = true;
    leading_.Set(0);
    owner_.UpdateStatus([](Status& status) {
      status.leading = false;
      status.lease_epoch = 0;
    });
  }

  // Backpressure (guarantee 5), a step of its own: wait for the workers' room, but only until the
  // lease is due for renewal, so a daemon that is merely slow never loses its lease. The next
  // turn renews and waits again.
  bool WaitForRoom() {
    if (hand_off_.WaitForRoom(last_renewed_ + renew_every_, stop_)) return true;
    if (!stop_.stop_requested()) owner_.UpdateStatus([](Status& status) { ++status.backpressure_waits; });
    return false;
  }

  // --- the checkpoint -----------------------------------------------------------------------

  // Loads the checkpoint and, when it was written under an older epoch, takes it over with ours
  // (a failover: the store records it in the history). Leaves need_reload_ set when a concurrent
  // write got in the way, so the next turn tries again.
  Result<void> Establish() {
    std::optional<Checkpoint> stored;
    FRAISEQL_ASSIGN_OR_RETURN(stored, hand_off_.LoadCheckpoint(options_.listener_id));
    const int64_t epoch = lease_->epoch;
    if (stored && stored->lease_epoch > epoch) {
      // Written under a newer epoch than the lease knows (someone edited the tables): give the
      // lease back; the next acquisition starts above the checkpoint's epoch.
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
      FRAISEQL_ASSIGN_OR_RETURN(next.position, change_log_.LegacyPosition(stored->position.pk));
      log::Info("listener continues from a FraiseQL checkpoint",
                {{"listener_id", options_.listener_id},
                 {"last_processed_id", std::to_string(stored->position.pk)},
                 {"position", PositionToString(next.position)}});
    }
    next.listener_id = options_.listener_id;
    next.lease_epoch = epoch;
    next.batch_size = options_.batch_size;
    next.updated_by = options_.holder;
    HandOffBatch takeover;
    takeover.from = stored ? stored->position : ChangeLogPosition{};
    takeover.next = next;
    HandOffOutcome outcome = HandOffOutcome::kCommitted;
    FRAISEQL_ASSIGN_OR_RETURN(outcome, hand_off_.Commit(*lease_, stored ? stored->lease_epoch : 0, takeover));
    if (outcome == HandOffOutcome::kLeaseLost) {
      StopLeading("the lease is no longer ours", /*release=*/false);
      return Ok();
    }
    if (outcome == HandOffOutcome::kCheckpointMoved) return Ok();  // raced with another writer: load again
    if (stored) {
      log::Info("listener took over the checkpoint", {{"listener_id", options_.listener_id},
                                                      {"position", PositionToString(next.position)},
                                                      {"from_epoch", std::to_string(stored->lease_epoch)},
                                                      {"epoch", std::to_string(epoch)}});
    }
    Adopt(next);
    return Ok();
  }

  void Adopt(const Checkpoint& checkpoint) {
    prefetched_.reset();
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
    if (entries.size() == 1 && entries.front().row && !entries.front().row->object_type.empty()) {
      batch.entity_type = entries.front().row->object_type;
    }
    for (ChangeLogEntry& entry : entries) {
      const int64_t pk = entry.position.pk;
      if (!entry.row) {
        DeadLetter letter = RowDeadLetter(pk, entry.row.error());
        letter.row_data = std::move(entry.raw);
        if (letter.row_data->contains("object_type") && (*letter.row_data)["object_type"].is_string()) {
          letter.entity_type = (*letter.row_data)["object_type"].get<std::string>();
        }
        batch.hand_off.dead_letters.push_back(std::move(letter));
        continue;
      }
      Result<EntityEvent> converted = FromChangeLogRow(*entry.row, clock_);
      if (!converted) {
        DeadLetter letter = RowDeadLetter(pk, converted.error());
        letter.row_data = ChangeLogRowToJson(*entry.row, entry.position);
        letter.entity_type = entry.row->object_type;
        batch.hand_off.dead_letters.push_back(std::move(letter));
        continue;
      }
      auto event = std::make_shared<const EntityEvent>(std::move(converted).value());
      const EventMatch match = MatchEvent(owner_.index_, *event);
      for (const EventMatch::ConditionError& failed : match.condition_errors) {
        // Guarantee 7: this (event, observer) is dead-lettered; other observers still run.
        const ObserverConfig& observer = *failed.observer;
        metrics::ConditionErrorsTotal().WithLabels({observer.name}).Increment();
        condition_failures_.Increment();
        DeadLetter letter;
        letter.listener_id = options_.listener_id;
        letter.change_log_pk = pk;
        letter.event = EventToJson(*event);
        letter.observer = observer.name;
        letter.entity_type = event->entity_type;
        letter.reason = "condition of observer '" + observer.name +
                        "' failed: " + observer.ConditionErrorText(failed.error.message);
        batch.hand_off.dead_letters.push_back(std::move(letter));
      }
      for (Delivery& delivery : DeliveriesFor(event, match.matched)) {
        batch.hand_off.jobs.push_back(NewJob{std::move(delivery), pk});
      }
    }
    batch.hand_off.from = position_;
    batch.hand_off.next = NextCheckpoint(batch.last, batch.rows);
    return batch;
  }

  DeadLetter RowDeadLetter(int64_t pk, const Error& error) {
    deserialization_failures_.Increment();
    invalid_rows_.Increment();
    DeadLetter letter;
    letter.listener_id = options_.listener_id;
    letter.change_log_pk = pk;
    letter.reason = error.message;
    // Messages from the reader and FromChangeLogRow start "change-log row <pk>"; any other gets it.
    if (!letter.reason.starts_with("change-log row " + std::to_string(pk))) {
      letter.reason = "change-log row pk " + std::to_string(pk) + ": " + letter.reason;
    }
    return letter;
  }

  Checkpoint NextCheckpoint(ChangeLogPosition last, size_t rows) const {
    Checkpoint next;
    next.listener_id = options_.listener_id;
    next.position = last;
    next.lease_epoch = lease_->epoch;
    next.batch_size = options_.batch_size;
    next.event_count = static_cast<uint32_t>(rows);
    next.total_events = total_events_ + static_cast<int64_t>(rows);
    next.updated_by = options_.holder;
    return next;
  }

  // The hand-off (guarantees 3 and 4): jobs, dead letters and the checkpoint as one step, under
  // the lease and the checkpoint's compare-and-swap.
  Result<HandOffOutcome> Commit(const PreparedBatch& batch) {
    Result<HandOffOutcome> outcome = hand_off_.Commit(*lease_, lease_->epoch, batch.hand_off);
    if (!outcome) {
      need_reload_ = true;  // the outcome is unknown: what is stored says where to go on
      return outcome;
    }
    if (*outcome == HandOffOutcome::kCommitted) return outcome;
    need_reload_ = true;
    if (*outcome == HandOffOutcome::kLeaseLost) {
      StopLeading("the lease is no longer ours", /*release=*/false);
    } else {
      log::Warn("listener's checkpoint moved under it (operator move or another epoch); reloading",
                {{"listener_id", options_.listener_id}, {"position", PositionToString(position_)}});
    }
    // Counted after leading is cleared, so whoever sees the count sees the new state too.
    owner_.UpdateStatus([](Status& status) { ++status.fenced; });
    return outcome;
  }

  void Committed(const PreparedBatch& batch) {
    for (const DeadLetter& letter : batch.hand_off.dead_letters) LogDeadLetter(letter);
    position_ = batch.last;
    total_events_ += static_cast<int64_t>(batch.rows);
    events_processed_.Increment(static_cast<double>(batch.rows));
    batch_rows_.Observe(static_cast<double>(batch.rows));
    const ChangeLogPosition position = position_;
    const size_t rows = batch.rows;
    const size_t dead = batch.hand_off.dead_letters.size();
    owner_.UpdateStatus([&](Status& status) {
      status.position = position;
      ++status.batches_committed;
      status.rows_committed += rows;
      status.dead_letters += dead;
      status.last_error.clear();
    });
  }

  // One line per dead letter, once it is stored: an operator tailing the log sees every row
  // that will not be delivered, and why.
  void LogDeadLetter(const DeadLetter& letter) const {
    std::vector<log::Field> fields = {{"listener_id", options_.listener_id},
                          {"change_log_pk", std::to_string(letter.change_log_pk.value_or(0))},
                          {"reason", TruncateUtf8(RedactUrlsIn(letter.reason), 1000)}};
    if (letter.observer) fields.push_back({"observer", *letter.observer});
    if (letter.entity_type) fields.push_back({"entity_type", *letter.entity_type});
    log::Write(log::Level::kWarn, "change-log row dead-lettered", fields);
  }

  // The backend refused the batch's content. Find the rows at fault by halving: the batch is
  // read again at most half as many rows at a time until the position passes it (halving again
  // on each refusal, doubling after each commit), so k refused rows in n cost O(k log n) commits. A single row still refused
  // after kSingleRowTries tries (a refusal may be passing: a statement timeout, memory) is
  // dead-lettered alone with the refusal as the reason (guarantee 7), and the checkpoint moves on.
  Result<void> HandleRefusedBatch(const PreparedBatch& batch, const Error& error) {
    need_reload_ = false;  // a refusal is not a fencing outcome: the position stands
    if (batch.rows > 1) {
      split_rows_ = batch.rows / 2;
      split_until_ = split_until_ ? std::max(*split_until_, batch.last) : batch.last;
      batches_split_.Increment();
      owner_.UpdateStatus([](Status& status) { ++status.batches_split; });
      log::Warn("batch refused by the database; reading it again in smaller batches",
                {{"listener_id", options_.listener_id},
                 {"rows", std::to_string(batch.rows)},
                 {"next_batch_rows", std::to_string(split_rows_)},
                 {"last_pk", std::to_string(batch.last.pk)},
                 {"error", error.message}});
      return Ok();
    }
    const int64_t pk = batch.last.pk;
    refused_tries_ = refused_pk_ == pk ? refused_tries_ + 1 : 1;
    refused_pk_ = pk;
    if (refused_tries_ < kSingleRowTries) return error;  // backs off, then tries the row again
    PreparedBatch alone;
    alone.rows = 1;
    alone.last = batch.last;
    DeadLetter letter;
    letter.listener_id = options_.listener_id;
    letter.change_log_pk = pk;
    letter.entity_type = batch.entity_type;
    letter.reason = "the database refused change-log row pk " + std::to_string(pk) + ": " + error.message;
    alone.hand_off.dead_letters.push_back(std::move(letter));
    alone.hand_off.from = position_;
    alone.hand_off.next = NextCheckpoint(alone.last, alone.rows);
    Result<HandOffOutcome> outcome = Commit(alone);
    if (!outcome) return std::move(outcome).error();
    if (*outcome == HandOffOutcome::kCommitted) {
      refused_rows_.Increment();
      Committed(alone);
    }
    return Ok();
  }

  // --- waiting ------------------------------------------------------------------------------

  Result<void> WaitForWork() {
    bool held_back = false;
    FRAISEQL_ASSIGN_OR_RETURN(held_back, change_log_.HasHeldBackRows(position_));
    milliseconds wait = options_.poll_interval;
    if (held_back) {
      wait = std::min(held_back_wait_, options_.poll_interval);
      held_back_wait_ = std::min({held_back_wait_ * 2, options_.poll_interval, milliseconds(1000)});
    }
    // Wake in time to renew the lease. Whatever ends the wait (news, the deadline, Stop), the
    // next turn reads again.
    const SteadyTime deadline = std::min(clock_.SteadyNow() + wait, last_renewed_ + renew_every_);
    Result<ChangeLogSource::Wake> woke = change_log_.WaitForNews(deadline, stop_);
    if (!woke) return std::move(woke).error();
    return Ok();
  }

  // Sleeps on the clock, cut short only by a stop (never by news: a back-off must not be).
  void SleepFor(milliseconds duration) { SleepUntil(clock_.SteadyNow() + duration); }
  void SleepUntil(SteadyTime deadline) {
    MutexLock lock(&sleep_mu_);
    while (!stop_.stop_requested()) {
      if (!clock_.WaitUntil(sleep_mu_, sleep_cv_, deadline)) return;
    }
  }

  void WakeSleeper() {
    MutexLock lock(&sleep_mu_);
    sleep_cv_.notify_all();
  }

  void RefreshGaugesIfDue() {
    const SteadyTime now = clock_.SteadyNow();
    if (gauges_refreshed_ && now - *gauges_refreshed_ < options_.stats_interval) return;
    gauges_refreshed_ = now;
    Result<BacklogEstimate> estimate = change_log_.EstimateBacklog(position_);
    if (!estimate) return;  // gauges are best effort; a real problem shows in the next read
    backlog_.Set(static_cast<double>(estimate->rows));
    lag_.Set(estimate->lag_seconds);
    AlertOnBacklog(estimate->rows);
  }

  // [performance] backlog_alert_threshold: one warning when the backlog crosses it, one info
  // line when it is back under, rather than a line per refresh.
  void AlertOnBacklog(int64_t rows) {
    const uint32_t threshold = options_.backlog_alert_threshold;
    if (threshold == 0) return;
    const bool over = rows > static_cast<int64_t>(threshold);
    if (over == backlog_alerted_) return;
    backlog_alerted_ = over;
    log::Write(over ? log::Level::kWarn : log::Level::kInfo,
               over ? "change-log backlog is above backlog_alert_threshold"
                    : "change-log backlog is back under backlog_alert_threshold",
               {{"listener_id", options_.listener_id},
                {"backlog_rows", std::to_string(rows)},
                {"backlog_alert_threshold", std::to_string(threshold)}});
  }

  void OnStepFailed(const Error& error) {
    const std::string text = ErrorText(error);
    log::Warn("listener step failed; retrying", {{"listener_id", options_.listener_id},
                                                 {"error", text},
                                                 {"retry_in_ms", std::to_string(backoff_.count())}});
    owner_.UpdateStatus([&](Status& status) { status.last_error = text; });
    failing_ = true;
    need_reload_ = true;
  }

  Listener& owner_;
  const ListenerOptions& options_;
  ChangeLogSource& change_log_;
  HandOff& hand_off_;
  Clock& clock_;
  const std::stop_token stop_;
  Mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::stop_callback<std::function<void()>> wake_sleeper_;
  const milliseconds renew_every_;

  std::optional<Lease> lease_;
  SteadyTime last_renewed_{};
  bool waiting_logged_ = false;
  bool need_reload_ = true;
  ChangeLogPosition position_;
  std::optional<Prefetched> prefetched_;  // read while the previous batch was delivered
  int64_t total_events_ = 0;
  // After a refused batch: batches of at most split_rows_ rows until the position passes
  // split_until_ (HandleRefusedBatch).
  std::optional<ChangeLogPosition> split_until_;
  size_t split_rows_ = 1;
  // The single row refused last, and how often in a row.
  int64_t refused_pk_ = 0;
  int refused_tries_ = 0;
  milliseconds backoff_;
  milliseconds held_back_wait_;
  std::optional<SteadyTime> gauges_refreshed_;
  bool backlog_alerted_ = false;
  bool failing_ = false;  // the last step failed (status.last_error is set)

  metrics::Counter& events_processed_;
  metrics::Counter& deserialization_failures_;
  metrics::Counter& invalid_rows_;
  metrics::Counter& condition_failures_;
  metrics::Counter& refused_rows_;
  metrics::Counter& batches_split_;
  metrics::Gauge& backlog_;
  metrics::Gauge& lag_;
  metrics::Histogram& batch_rows_;
  metrics::Histogram& fetch_seconds_;
  metrics::Gauge& leading_;
  metrics::Counter& lease_acquisitions_;
};

Result<std::unique_ptr<Listener>> Listener::Create(ListenerOptions options, const ObserverIndex& index,
                                                   ChangeLogSource& change_log, LeaseStore& leases, HandOff& hand_off,
                                                   Clock& clock) {
  if (options.listener_id.empty() || options.listener_id.size() > 255) {
    return Error::InvalidArgument("the listener id must be 1 to 255 bytes");
  }
  if (options.batch_size < kMinCheckpointBatchSize || options.batch_size > kMaxCheckpointBatchSize) {
    return Error::InvalidArgument("the listener's batch size must be " + std::to_string(kMinCheckpointBatchSize) +
                                  " to " + std::to_string(kMaxCheckpointBatchSize) + ", not " +
                                  std::to_string(options.batch_size));
  }
  if (options.poll_interval <= milliseconds::zero() || options.lease_ttl <= milliseconds::zero() ||
      options.retry_backoff_min <= milliseconds::zero() || options.retry_backoff_max < options.retry_backoff_min ||
      options.held_back_poll <= milliseconds::zero()) {
    return Error::InvalidArgument("listener intervals must be positive (and retry_backoff_max >= retry_backoff_min)");
  }
  if (options.holder.empty()) options.holder = UniqueHolderName();
  if (options.holder.size() > 255) return Error::InvalidArgument("the lease holder name must be at most 255 bytes");
  // Declared now, so /metrics shows them before the first batch.
  metrics::ListenerLagSeconds();
  metrics::ListenerBatchSize();
  metrics::ListenerFetchSeconds();
  metrics::ListenerLeading();
  metrics::ListenerLeaseAcquisitionsTotal();
  return std::unique_ptr<Listener>(new Listener(std::move(options), index, change_log, leases, hand_off, clock));
}

Listener::Listener(ListenerOptions options, const ObserverIndex& index, ChangeLogSource& change_log,
                   LeaseStore& leases, HandOff& hand_off, Clock& clock)
    : options_(std::move(options)),
      index_(index),
      change_log_(change_log),
      leases_(leases),
      hand_off_(hand_off),
      clock_(clock) {}

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
  try {
    Loop loop(*this, stop);
    loop.Run();
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
