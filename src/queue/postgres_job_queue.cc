#include "queue/postgres_job_queue.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>
#include <utility>

#include "common/log.h"
#include "dlq/dead_letter_record.h"
#include "dlq/sql_text.h"
#include "event/entity_event.h"
#include "metrics/families.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using SteadyTime = steady_clock::time_point;

constexpr SteadyTime kNever = SteadyTime::max();
constexpr milliseconds kFirstBackoff{50};
// local_due_ only saves Claim a wait for the poll interval; past this many hints the poll does.
constexpr size_t kMaxDueHints = 10000;

milliseconds NextBackoff(milliseconds current, milliseconds cap) {
  return current.count() == 0 ? std::min(kFirstBackoff, cap) : std::min(current * 2, cap);
}

bool Retryable(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kAborted;
}

// One claim statement: the due rows nobody holds (never claimed, given back, or whose holder's
// lock expired), oldest first, skipping rows another claimer is stamping right now. `fresh`
// (never claimed before) feeds fraiseql_observer_job_queued_total.
constexpr std::string_view kClaimSql =
    "WITH due AS (SELECT delivery_id, locked_until IS NULL AS fresh FROM observer_jobs"
    " WHERE listener_id = $4 AND run_at <= now() AND (locked_until IS NULL OR locked_until <= now())"
    " ORDER BY run_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " UPDATE observer_jobs j SET locked_by = $2, locked_until = now() + $3::bigint * interval '1 millisecond'"
    " FROM due WHERE j.delivery_id = due.delivery_id"
    " RETURNING j.delivery_id, j.event, j.observer, j.action_index, j.attempts, due.fresh";

nlohmann::json AttemptsToJson(const std::vector<AttemptRecord>& attempts) {
  nlohmann::json out = nlohmann::json::array();
  for (const AttemptRecord& attempt : attempts) out.push_back(AttemptToJson(attempt));
  return out;
}

std::optional<std::string> LastError(const std::vector<AttemptRecord>& attempts) {
  if (attempts.empty() || attempts.back().error.empty()) return std::nullopt;
  return attempts.back().error;
}

// The text of a column that is NOT NULL in the schema; "" if it is NULL anyway.
std::string_view Text(const PgResult& rows, size_t row, size_t column) {
  return rows.Get(row, column).value_or(std::string_view());
}

// A claimed row as a Delivery. Errors say which column is wrong.
Result<Delivery> DecodeJob(const PgResult& rows, size_t row) {
  Delivery delivery;
  delivery.id = std::string(Text(rows, row, 0));
  const nlohmann::json event_json = nlohmann::json::parse(Text(rows, row, 1), nullptr, false);
  if (event_json.is_discarded()) return Error::InvalidArgument("event: not JSON");
  Result<EntityEvent> event = EventFromJson(event_json);
  if (!event) return Error::InvalidArgument("event: " + event.error().message);
  delivery.event = std::make_shared<const EntityEvent>(std::move(event).value());
  delivery.observer = std::string(Text(rows, row, 2));
  if (delivery.observer.empty()) return Error::InvalidArgument("observer: empty");
  const std::string_view index = Text(rows, row, 3);
  if (std::from_chars(index.data(), index.data() + index.size(), delivery.action_index).ec != std::errc()) {
    return Error::InvalidArgument("action_index: '" + std::string(index) + "'");
  }
  const nlohmann::json attempts = nlohmann::json::parse(Text(rows, row, 4), nullptr, false);
  if (!attempts.is_array()) return Error::InvalidArgument("attempts: not a JSON array");
  for (const nlohmann::json& attempt : attempts) {
    Result<AttemptRecord> record = AttemptFromJson(attempt);
    if (!record) return Error::InvalidArgument("attempts: " + record.error().message);
    delivery.attempts.push_back(std::move(record).value());
  }
  return delivery;
}

// The dead letter of a row DecodeJob refused: the row as it was (JSON columns parsed when they
// parse), so an operator can see what was wrong; no event, so `dlq retry` refuses it.
DeadLetterRecord UndecodableJob(const PgResult& rows, size_t row, const std::string& listener_id,
                                const Error& error) {
  auto json_or_text = [&](size_t column) {
    const std::string_view text = Text(rows, row, column);
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(std::string(text)) : parsed;
  };
  DeadLetterRecord record;
  record.delivery_id = std::string(Text(rows, row, 0));
  record.listener_id = listener_id;
  record.row_data = nlohmann::json{{"delivery_id", *record.delivery_id},
                                   {"event", json_or_text(1)},
                                   {"observer", std::string(Text(rows, row, 2))},
                                   {"action_index", std::string(Text(rows, row, 3))},
                                   {"attempts", json_or_text(4)}};
  if (!Text(rows, row, 2).empty()) record.observer = std::string(Text(rows, row, 2));
  size_t index = 0;
  const std::string_view index_text = Text(rows, row, 3);
  if (std::from_chars(index_text.data(), index_text.data() + index_text.size(), index).ec == std::errc()) {
    record.action_index = index;
  }
  record.reason = "job row does not decode: " + error.message;
  return record;
}

std::string ApplicationName(std::string_view role, const std::string& holder) {
  // NAMEDATALEN - 1: PostgreSQL truncates longer names anyway, with a notice.
  std::string name = "fraiseql-observer " + std::string(role) + " " + holder;
  if (name.size() > 63) name.resize(63);
  return name;
}

}  // namespace

std::string MakeHolderName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown-host");
  std::random_device device;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(device()));
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + suffix;
}

void PostgresJobQueue::Batch::AddOp(const std::string& id, std::optional<RescheduleOp> op) {
  // A wake is about an earlier reschedule of the delivery; the newer op replaces both.
  wakes.erase(id);
  ops.insert_or_assign(id, std::move(op));
}

void PostgresJobQueue::Batch::AddWake(const std::string& id, std::chrono::system_clock::time_point now) {
  // Woken before its reschedule was even written: write it due now instead.
  if (auto op = ops.find(id); op != ops.end()) {
    if (op->second) op->second->run_at = std::min(op->second->run_at, now);
    return;
  }
  wakes.insert(id);
}

void PostgresJobQueue::Batch::Merge(Batch&& later, std::chrono::system_clock::time_point now) {
  for (nlohmann::json& letter : later.dead_letters) dead_letters.push_back(std::move(letter));
  for (auto& [id, op] : later.ops) AddOp(id, std::move(op));
  for (const std::string& id : later.wakes) AddWake(id, now);
}

PostgresJobQueue::PostgresJobQueue(PostgresJobQueueOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock), claim_sql_(kClaimSql) {
  if (options_.holder.empty()) options_.holder = MakeHolderName();
  options_.lock_timeout = std::max(options_.lock_timeout, milliseconds(1));
  options_.poll_interval = std::max(options_.poll_interval, milliseconds(1));
  options_.flush_batch = std::max<size_t>(options_.flush_batch, 1);
  {
    MutexLock lock(&mu_);
    next_poll_ = steady_clock::now();
  }
  flusher_ = std::jthread([this] { RunFlusher(); });
}

PostgresJobQueue::~PostgresJobQueue() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    // Nobody will claim these here any more: give them back, due now, so another process need
    // not wait for their locks to expire.
    const auto now = clock_->Now();
    for (Delivery& delivery : handed_over_) {
      held_.erase(delivery.id);
      pending_.AddOp(delivery.id, RescheduleOp{now, delivery.attempt_count(), AttemptsToJson(delivery.attempts),
                                               LastError(delivery.attempts)});
      ++enqueued_seq_;
    }
    handed_over_.clear();
  }
  flusher_wake_.notify_all();
  claim_changed_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

ClaimStamp PostgresJobQueue::NewClaimStamp() const {
  return ClaimStamp{options_.holder, clock_->Now() + options_.lock_timeout};
}

void PostgresJobQueue::HandOver(std::vector<Delivery> deliveries) {
  if (deliveries.empty()) return;
  static metrics::Counter& queued = metrics::JobQueuedTotal().Get();
  queued.Increment(deliveries.size());
  {
    MutexLock lock(&mu_);
    const auto now = steady_clock::now();
    for (Delivery& delivery : deliveries) {
      held_[delivery.id] = now;
      handed_over_.push_back(std::move(delivery));
    }
  }
  claim_changed_.notify_all();
}

size_t PostgresJobQueue::HandOverRoom() const {
  MutexLock lock(&mu_);
  return handed_over_.size() >= options_.max_handed_over ? 0 : options_.max_handed_over - handed_over_.size();
}

bool PostgresJobQueue::WaitForHandOverRoom(SteadyTime deadline) {
  MutexLock lock(&mu_);
  while (handed_over_.size() >= options_.max_handed_over) {
    if (stopping_ || hand_over_interrupted_ || steady_clock::now() >= deadline) return false;
    mu_.WaitUntil(hand_over_room_, deadline);
  }
  return true;
}

bool PostgresJobQueue::WaitForHandOverRoom() {
  MutexLock lock(&mu_);
  while (handed_over_.size() >= options_.max_handed_over) {
    if (stopping_ || hand_over_interrupted_) return false;
    mu_.Wait(hand_over_room_);
  }
  return true;
}

void PostgresJobQueue::InterruptHandOverWaits() {
  MutexLock lock(&mu_);
  hand_over_interrupted_ = true;
  hand_over_room_.notify_all();
}

void PostgresJobQueue::Poke() {
  {
    MutexLock lock(&mu_);
    poll_now_ = true;
  }
  claim_changed_.notify_all();
}

std::vector<Delivery> PostgresJobQueue::Claim(size_t max, SteadyTime deadline, std::stop_token stop) {
  if (max == 0) return {};
  // Taking the mutex first means the notification cannot fall between a waiter's check and its wait.
  std::stop_callback on_stop(stop, [this] {
    MutexLock lock(&mu_);
    claim_changed_.notify_all();
  });
  for (;;) {
    SteadyTime polled_at;
    {
      MutexLock lock(&mu_);
      for (;;) {
        if (!handed_over_.empty()) {
          std::vector<Delivery> out;
          while (out.size() < max && !handed_over_.empty()) {
            out.push_back(std::move(handed_over_.front()));
            handed_over_.pop_front();
          }
          hand_over_room_.notify_all();
          return out;
        }
        if (stop.stop_requested() || stopping_) return {};
        polled_at = steady_clock::now();
        while (!local_due_.empty() && local_due_.top() <= polled_at) {
          poll_now_ = true;
          local_due_.pop();
        }
        if (poll_now_ || polled_at >= next_poll_) break;
        if (polled_at >= deadline) return {};
        SteadyTime wake_at = std::min(deadline, next_poll_);
        if (!local_due_.empty()) wake_at = std::min(wake_at, local_due_.top());
        mu_.WaitUntil(claim_changed_, wake_at);
      }
      poll_now_ = false;
      // Concurrent claimers arriving meanwhile wait for this one's answer instead of all asking.
      next_poll_ = polled_at + options_.poll_interval;
    }

    Result<std::vector<Delivery>> claimed = ClaimFromDatabase(max);
    MutexLock lock(&mu_);
    if (!claimed) {
      claim_backoff_ = NextBackoff(claim_backoff_, options_.max_backoff);
      next_poll_ = polled_at + claim_backoff_;
      log::Warn("job queue: claiming failed; retrying",
                {{"error", claimed.error().message}, {"retry_in_ms", std::to_string(claim_backoff_.count())}});
      continue;
    }
    claim_backoff_ = milliseconds(0);
    // A full batch suggests more are due: the next Claim looks at once.
    if (claimed->size() >= max) poll_now_ = true;
    if (!claimed->empty()) return std::move(claimed).value();
  }
}

Result<std::vector<Delivery>> PostgresJobQueue::ClaimFromDatabase(size_t max) {
  static metrics::Counter& queued = metrics::JobQueuedTotal().Get();
  static metrics::Counter& undecodable = metrics::EventsDeserializationFailuresTotal().Get();
  std::vector<Delivery> out;
  std::vector<DeadLetterRecord> refused;
  size_t rows_seen = 0;
  {
    MutexLock lock(&claim_mu_);
    if (Result<void> connected = EnsureConnected(claim_conn_, "queue-claim"); !connected) return connected.error();
    const std::optional<std::string> params[] = {std::to_string(max), options_.holder,
                                                 std::to_string(options_.lock_timeout.count()), options_.listener_id};
    Result<PgResult> rows = claim_conn_->Execute(claim_sql_, params);
    if (!rows) return std::move(rows).error();
    rows_seen = rows->rows();
    uint64_t fresh = 0;
    for (size_t row = 0; row < rows->rows(); ++row) {
      if (rows->Get(row, 5) == std::optional<std::string_view>("t")) ++fresh;
      Result<Delivery> delivery = DecodeJob(*rows, row);
      if (delivery) {
        out.push_back(std::move(delivery).value());
      } else {
        log::Error("job queue: dead-lettering a job row that does not decode",
                   {{"delivery_id", std::string(Text(*rows, row, 0))}, {"error", delivery.error().message}});
        refused.push_back(UndecodableJob(*rows, row, options_.listener_id, delivery.error()));
      }
    }
    queued.Increment(fresh);
  }
  undecodable.Increment(refused.size());
  {
    MutexLock lock(&mu_);
    const auto now = steady_clock::now();
    for (const Delivery& delivery : out) held_[delivery.id] = now;
    if (!refused.empty()) {
      const bool was_empty = BeforeEnqueueLocked();
      for (const DeadLetterRecord& record : refused) {
        pending_.dead_letters.push_back(DeadLetterRecordToJson(record));
        pending_.AddOp(*record.delivery_id, std::nullopt);  // the delete, in the same transaction
      }
      AfterEnqueueLocked(was_empty);
    }
    // Rows refused above still took room: more may be due.
    if (rows_seen >= max && out.size() < max) poll_now_ = true;
  }
  if (!refused.empty()) flusher_wake_.notify_all();
  return out;
}

Result<void> PostgresJobQueue::EnsureConnected(std::optional<PgConnection>& conn, const char* role) {
  if (conn && conn->healthy()) return {};
  conn.reset();
  Result<PgConnection> connected = PgConnection::Connect(options_.database_url, options_.connect_timeout);
  if (!connected) return std::move(connected).error();
  const std::optional<std::string> params[] = {ApplicationName(role, options_.holder),
                                               std::string(options_.synchronous_commit ? "on" : "off")};
  Result<PgResult> set = connected->Execute(
      "SELECT set_config('application_name', $1, false), set_config('synchronous_commit', $2, false)", params);
  if (!set) return std::move(set).error();
  conn = std::move(connected).value();
  return {};
}

bool PostgresJobQueue::BeforeEnqueueLocked() {
  if (!pending_.empty()) return false;
  pending_since_ = steady_clock::now();  // starts the flush interval
  return true;
}

bool PostgresJobQueue::AfterEnqueueLocked(bool was_empty) {
  ++enqueued_seq_;
  return was_empty || pending_.size() >= options_.flush_batch;
}

void PostgresJobQueue::Complete(const Delivery& delivery) {
  bool wake_flusher = false;
  {
    MutexLock lock(&mu_);
    const bool was_empty = BeforeEnqueueLocked();
    held_.erase(delivery.id);
    pending_.AddOp(delivery.id, std::nullopt);
    wake_flusher = AfterEnqueueLocked(was_empty);
  }
  if (wake_flusher) flusher_wake_.notify_all();
}

void PostgresJobQueue::Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) {
  RescheduleOp op{run_at, delivery.attempt_count(), AttemptsToJson(delivery.attempts), LastError(delivery.attempts)};
  bool wake_flusher = false;
  {
    MutexLock lock(&mu_);
    const bool was_empty = BeforeEnqueueLocked();
    held_.erase(delivery.id);
    pending_.AddOp(delivery.id, std::move(op));
    wake_flusher = AfterEnqueueLocked(was_empty);
  }
  if (wake_flusher) flusher_wake_.notify_all();
}

void PostgresJobQueue::Wake(std::span<const std::string> delivery_ids) {
  const auto now = clock_->Now();
  std::vector<std::string> ids;
  for (const std::string& id : delivery_ids) {
    if (std::optional<std::string> uuid = NormalizeUuid(id)) ids.push_back(std::move(*uuid));
  }
  if (ids.empty()) return;
  bool wake_flusher = false;
  {
    MutexLock lock(&mu_);
    const bool was_empty = BeforeEnqueueLocked();
    for (const std::string& id : ids) pending_.AddWake(id, now);
    wake_flusher = AfterEnqueueLocked(was_empty);
  }
  if (wake_flusher) flusher_wake_.notify_all();
}

void PostgresJobQueue::Add(DeadLetter letter) {
  DeadLetterRecord record;
  const Delivery& delivery = letter.delivery;
  record.delivery_id = NormalizeUuid(delivery.id);
  if (!record.delivery_id) record.row_data = nlohmann::json{{"delivery_id", delivery.id}};
  record.listener_id = options_.listener_id;
  if (delivery.event) {
    record.event = EventToJson(*delivery.event);
    record.entity_type = delivery.event->entity_type;
  }
  record.observer = delivery.observer;
  record.action_index = delivery.action_index;
  record.action_type = std::string(ActionTypeName(letter.action_type));
  record.attempts = delivery.attempts;
  record.reason = std::move(letter.reason);
  nlohmann::json row = DeadLetterRecordToJson(record);
  bool wake_flusher = false;
  {
    MutexLock lock(&mu_);
    const bool was_empty = BeforeEnqueueLocked();
    pending_.dead_letters.push_back(std::move(row));
    wake_flusher = AfterEnqueueLocked(was_empty);
  }
  if (wake_flusher) flusher_wake_.notify_all();
}

Result<void> PostgresJobQueue::Flush(milliseconds timeout) {
  const SteadyTime deadline = steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  const uint64_t target = enqueued_seq_;
  ++flush_requests_;
  flusher_wake_.notify_all();
  while (written_seq_ < target) {
    if (steady_clock::now() >= deadline) {
      return Error::Unavailable("job queue: writes not flushed within " + std::to_string(timeout.count()) + " ms" +
                                (last_write_error_.empty() ? "" : ": " + last_write_error_));
    }
    mu_.WaitUntil(flushed_, deadline);
  }
  return {};
}

size_t PostgresJobQueue::pending_writes() const {
  MutexLock lock(&mu_);
  return pending_.size();
}

size_t PostgresJobQueue::held() const {
  MutexLock lock(&mu_);
  return held_.size();
}

void PostgresJobQueue::RunFlusher() {
  static metrics::Gauge& dlq_items = metrics::DlqItems().Get();
  static metrics::Gauge& job_dlq_items = metrics::JobDlqItems().Get();

  const milliseconds extend_every = std::max(options_.lock_timeout / 6, milliseconds(1));
  const milliseconds extend_after = options_.lock_timeout / 3;
  Batch carry;  // taken from pending_, not yet written: goes before anything newer
  uint64_t carry_seq = 0;
  uint64_t served_requests = 0;
  milliseconds backoff{0};
  SteadyTime retry_at = steady_clock::now();
  SteadyTime next_extend = steady_clock::now() + extend_every;
  SteadyTime next_stats = steady_clock::now();
  SteadyTime give_up_at = kNever;

  for (;;) {
    std::vector<std::string> extend;
    SteadyTime now;
    bool stopping = false;
    bool write = false;  // carry (with what is pending merged in) is to be written now
    bool stats_due = false;
    {
      MutexLock lock(&mu_);
      for (;;) {
        now = steady_clock::now();
        stopping = stopping_;
        if (stopping && give_up_at == kNever) give_up_at = now + options_.shutdown_timeout;
        if (stopping && carry.empty() && pending_.empty()) return;
        if (stopping && now >= give_up_at) break;
        const bool flush_due = carry.empty() && !pending_.empty() &&
                               (stopping || pending_.size() >= options_.flush_batch ||
                                flush_requests_ != served_requests ||
                                now >= pending_since_ + options_.flush_interval);
        const bool retry_due = !carry.empty() && now >= retry_at;
        write = flush_due || retry_due;
        stats_due = !stopping && now >= next_stats;
        if (write || stats_due || (!stopping && now >= next_extend)) break;
        SteadyTime wake_at = stopping ? give_up_at : std::min(next_extend, next_stats);
        if (!carry.empty()) wake_at = std::min(wake_at, retry_at);
        if (carry.empty() && !pending_.empty()) wake_at = std::min(wake_at, pending_since_ + options_.flush_interval);
        mu_.WaitUntil(flusher_wake_, wake_at);
      }
      if (write) {
        served_requests = flush_requests_;
        if (!pending_.empty()) {
          carry.Merge(std::move(pending_), clock_->Now());
          pending_ = Batch{};
        }
        carry_seq = enqueued_seq_;
      }
      if (!stopping && now >= next_extend) {
        for (auto& [id, locked_at] : held_) {
          if (now - locked_at >= extend_after) {
            extend.push_back(id);
            locked_at = now;
          }
        }
        next_extend = now + extend_every;
      }
    }

    if (stopping && now >= give_up_at) {
      log::Error("job queue: giving up writing at shutdown; those jobs stay locked until their lock expires, "
                 "then run again",
                 {{"unwritten", std::to_string(carry.size())}});
      return;
    }

    if (write || !extend.empty()) {
      const Batch nothing;
      const Batch& batch = write ? carry : nothing;  // a batch waiting for its retry waits on
      Result<FlushCounts> written = WriteBatch(batch, extend);
      if (!written && Retryable(written.error())) {
        if (write) {
          // The first retry is immediate (a broken connection is simply replaced); later ones back off.
          retry_at = now + backoff;
          backoff = NextBackoff(backoff, options_.max_backoff);
          MutexLock lock(&mu_);
          last_write_error_ = written.error().message;
        }
        log::Warn("job queue: writing a batch failed; retrying",
                  {{"error", written.error().message}, {"writes", std::to_string(batch.size())},
                   {"retry_in_ms", std::to_string((retry_at - now) / milliseconds(1))}});
      } else if (write) {
        if (!written) {
          log::Error("job queue: a batch was refused; writing its parts one by one",
                     {{"error", written.error().message}, {"writes", std::to_string(carry.size())}});
          WriteEachAlone(carry);
        } else {
          // Between two counts (RefreshGauges), new dead letters show at once.
          dlq_items.Increment(static_cast<double>(written->dead_letters));
          job_dlq_items.Increment(static_cast<double>(written->dead_letters));
          const uint64_t applied = written->completed + written->rescheduled;
          if (applied < carry.ops.size()) {
            log::Warn("job queue: some jobs were no longer held by this process (their lock had expired and "
                      "another holder claimed them), so their results were not written",
                      {{"jobs", std::to_string(carry.ops.size() - applied)}});
          }
        }
        backoff = milliseconds(0);
        {
          MutexLock lock(&mu_);
          written_seq_ = carry_seq;
          last_write_error_.clear();
          const auto wall_now = clock_->Now();
          const auto steady_now = steady_clock::now();
          for (const auto& [id, op] : carry.ops) {
            if (!op || local_due_.size() >= kMaxDueHints) continue;
            local_due_.push(steady_now + std::chrono::duration_cast<steady_clock::duration>(
                                             std::max(op->run_at - wall_now, std::chrono::system_clock::duration(0))));
          }
          if (!carry.wakes.empty()) poll_now_ = true;
        }
        carry = Batch{};
        flushed_.notify_all();
        claim_changed_.notify_all();
      }
    }

    if (stats_due) {
      RefreshGauges();
      next_stats = steady_clock::now() + options_.stats_interval;
    }
  }
}

Result<PostgresJobQueue::FlushCounts> PostgresJobQueue::WriteBatch(const Batch& batch,
                                                                   const std::vector<std::string>& extend) {
  if (Result<void> connected = EnsureConnected(flush_conn_, "queue-flush"); !connected) {
    flush_conn_.reset();
    return connected.error();
  }
  std::vector<std::string> completed;
  nlohmann::json rescheduled = nlohmann::json::array();
  for (const auto& [id, op] : batch.ops) {
    if (!op) {
      completed.push_back(id);
      continue;
    }
    nlohmann::json row = {{"delivery_id", id},
                          {"run_at", sql_text::Timestamp(op->run_at)},
                          {"attempt", op->attempt},
                          {"attempts", op->attempts}};
    if (op->last_error) row["last_error"] = *op->last_error;
    rescheduled.push_back(std::move(row));
  }
  const std::vector<std::string> wakes(batch.wakes.begin(), batch.wakes.end());
  nlohmann::json dead_letters = nlohmann::json::array();
  for (const nlohmann::json& letter : batch.dead_letters) dead_letters.push_back(letter);

  // One statement, so one transaction and one round trip. Its parts see the same snapshot and
  // touch disjoint rows (Batch keys ops by delivery id; held jobs are neither completed nor
  // rescheduled here). Every write to a job is conditional on this process still holding it.
  static const std::string kSql =
      "WITH dl AS (" + DeadLetterInsertSql(1) +
      " RETURNING 1),"
      " done AS (DELETE FROM observer_jobs WHERE delivery_id = ANY($2::uuid[]) AND locked_by = $3 RETURNING 1),"
      " resched AS (UPDATE observer_jobs j SET run_at = r.run_at, attempt = r.attempt, attempts = r.attempts,"
      " last_error = r.last_error, locked_by = NULL, locked_until = now()"
      " FROM jsonb_to_recordset($4::jsonb) AS r(delivery_id uuid, run_at timestamptz, attempt int, attempts jsonb,"
      " last_error text)"
      " WHERE j.delivery_id = r.delivery_id AND j.locked_by = $3 RETURNING 1),"
      " woken AS (UPDATE observer_jobs SET run_at = now() WHERE delivery_id = ANY($5::uuid[])"
      " AND locked_by IS NULL AND run_at > now() RETURNING 1),"
      " extended AS (UPDATE observer_jobs SET locked_until = now() + $6::bigint * interval '1 millisecond'"
      " WHERE delivery_id = ANY($7::uuid[]) AND locked_by = $3 RETURNING 1)"
      " SELECT (SELECT count(*) FROM dl), (SELECT count(*) FROM done), (SELECT count(*) FROM resched),"
      " (SELECT count(*) FROM woken), (SELECT count(*) FROM extended)";
  const std::optional<std::string> params[] = {
      sql_text::Json(dead_letters),
      sql_text::UuidArray(completed),
      options_.holder,
      sql_text::Json(rescheduled),
      sql_text::UuidArray(wakes),
      std::to_string(options_.lock_timeout.count()),
      sql_text::UuidArray(extend),
  };
  Result<PgResult> result = flush_conn_->Execute(kSql, params);
  if (!result) {
    if (!flush_conn_->healthy()) flush_conn_.reset();
    return std::move(result).error();
  }
  auto count = [&](size_t column) {
    uint64_t value = 0;
    const std::string_view text = Text(*result, 0, column);
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  };
  return FlushCounts{count(0), count(1), count(2), count(3), count(4)};
}

void PostgresJobQueue::WriteEachAlone(const Batch& batch) {
  auto write = [&](const Batch& part, const std::string& what) {
    Result<FlushCounts> written = Error::Unavailable("not tried");
    // A few tries for a connection lost meanwhile; a part refused for its content is dropped.
    for (int attempt = 0; attempt < 3; ++attempt) {
      written = WriteBatch(part, {});
      if (written || !Retryable(written.error())) break;
    }
    if (!written) {
      log::Error("job queue: dropping a write the database refuses",
                 {{"write", what}, {"error", written.error().message}});
    }
  };
  for (const nlohmann::json& letter : batch.dead_letters) {
    Batch part;
    part.dead_letters.push_back(letter);
    write(part, "dead letter " + letter.value("delivery_id", std::string("(no delivery)")));
  }
  for (const auto& [id, op] : batch.ops) {
    Batch part;
    part.ops.emplace(id, op);
    write(part, (op ? "reschedule of " : "completion of ") + id);
  }
  for (const std::string& id : batch.wakes) {
    Batch part;
    part.wakes.insert(id);
    write(part, "wake of " + id);
  }
}

void PostgresJobQueue::RefreshGauges() {
  static metrics::Gauge& depth = metrics::JobQueueDepth().Get();
  static metrics::Gauge& dlq_items = metrics::DlqItems().Get();
  static metrics::Gauge& job_dlq_items = metrics::JobDlqItems().Get();
  if (Result<void> connected = EnsureConnected(flush_conn_, "queue-flush"); !connected) {
    flush_conn_.reset();
    return;
  }
  const std::optional<std::string> params[] = {options_.listener_id};
  Result<PgResult> counts = flush_conn_->Execute(
      "SELECT (SELECT count(*) FROM observer_jobs WHERE listener_id = $1),"
      " count(*), count(delivery_id) FROM observer_dead_letters WHERE listener_id = $1",
      params);
  if (!counts) {
    if (!flush_conn_->healthy()) flush_conn_.reset();
    log::Write(log::Level::kDebug, "job queue: counting jobs failed", {{"error", counts.error().message}});
    return;
  }
  auto number = [&](size_t column) {
    double value = 0;
    const std::string_view text = Text(*counts, 0, column);
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  };
  depth.Set(number(0));
  dlq_items.Set(number(1));
  job_dlq_items.Set(number(2));
}

}  // namespace fraiseql
