#include "queue/postgres_job_queue.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "common/backoff.h"
#include "common/holder_name.h"
#include "common/log.h"
#include "db/sql_text.h"
#include "dlq/postgres_dead_letter_store.h"
#include "event/entity_event.h"
#include "metrics/families.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr milliseconds kFirstBackoff{50};
// local_due_ only saves Claim a wait for the poll interval; past this many hints the poll does.
constexpr size_t kMaxDueHints = 10000;

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

// The text of a column that is NOT NULL in the schema; "" if it is NULL anyway.
std::string_view Text(const PgResult& rows, size_t row, size_t column) {
  return rows.Get(row, column).value_or(std::string_view());
}

// A claimed row as a Delivery. Errors say which column is wrong.
Result<Delivery> DecodeJob(const PgResult& rows, size_t row) {
  Delivery delivery;
  delivery.id = std::string(Text(rows, row, 0));
  nlohmann::json event_json = nlohmann::json::parse(Text(rows, row, 1), nullptr, false);
  if (event_json.is_discarded()) return Error::InvalidArgument("event: not JSON");
  Result<EntityEvent> event = EventFromJson(std::move(event_json));
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
DeadLetter UndecodableJob(const PgResult& rows, size_t row, const std::string& listener_id, const Error& error) {
  auto json_or_text = [&](size_t column) {
    const std::string_view text = Text(rows, row, column);
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(std::string(text)) : parsed;
  };
  DeadLetter record;
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

PostgresJobQueue::PostgresJobQueue(PostgresJobQueueOptions options, Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      hand_over_(options_.max_handed_over, clock),
      first_attempts_(clock) {
  if (options_.holder.empty()) options_.holder = UniqueHolderName();
  options_.lock_timeout = std::max(options_.lock_timeout, milliseconds(1));
  options_.poll_interval = std::max(options_.poll_interval, milliseconds(1));
  options_.flush.flush_batch = std::max<size_t>(options_.flush.flush_batch, 1);
  {
    MutexLock lock(&mu_);
    next_poll_ = clock_.SteadyNow();
  }
  WriteBehind::Options write_options;
  write_options.timing = options_.flush;
  write_options.lock_timeout = options_.lock_timeout;
  write_options.max_backoff = options_.max_backoff;
  write_options.stats_interval = options_.stats_interval;
  write_options.shutdown_timeout = options_.shutdown_timeout;
  writes_ = std::make_unique<WriteBehind>(
      write_options, clock_,
      [this](const PendingWrites& writes, std::span<const std::string> extend) { return WriteBatch(writes, extend); },
      [this](const PendingWrites& writes, const WriteCounts& counts) { AfterWrite(writes, counts); },
      [this] { RefreshGauges(); });
}

PostgresJobQueue::~PostgresJobQueue() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  claim_changed_.notify_all();
  // Nobody will claim these here any more: give them back, due now, so another process need
  // not wait for their locks to expire.
  const auto now = clock_.Now();
  for (Delivery& delivery : hand_over_.TakeAll()) {
    // A first attempt has no row to give back: its batch is read again.
    if (first_attempts_.Contains(delivery.id)) continue;
    writes_->Reschedule(delivery.id, RescheduleWrite::Of(delivery, now));
  }
  writes_.reset();  // writes what is buffered, then stops the flusher
}

ClaimStamp PostgresJobQueue::NewClaimStamp() const {
  return ClaimStamp{options_.holder, options_.lock_timeout, clock_.SteadyNow()};
}

void PostgresJobQueue::NotifyClaimers() {
  MutexLock lock(&mu_);
  claim_changed_.notify_all();
}

void PostgresJobQueue::HandOver(std::vector<Delivery> deliveries, const ClaimStamp& stamp) {
  if (deliveries.empty()) return;
  static metrics::Counter& queued = metrics::JobQueuedTotal().Get();
  queued.Increment(static_cast<double>(deliveries.size()));
  std::vector<std::string> ids;
  ids.reserve(deliveries.size());
  for (const Delivery& delivery : deliveries) ids.push_back(delivery.id);
  writes_->Hold(ids, stamp.issued_at);
  hand_over_.Push(std::move(deliveries));
  NotifyClaimers();
}

void PostgresJobQueue::Poke() {
  MutexLock lock(&mu_);
  poll_now_ = true;
  claim_changed_.notify_all();
}

std::vector<Delivery> PostgresJobQueue::Claim(size_t max, SteadyTime deadline, std::stop_token stop) {
  if (max == 0) return {};
  std::stop_callback on_stop(stop, [this] { NotifyClaimers(); });
  for (;;) {
    SteadyTime polled_at;
    {
      MutexLock lock(&mu_);
      for (;;) {
        if (stop.stop_requested() || stopping_) return {};
        polled_at = clock_.SteadyNow();
        while (!local_due_.empty() && local_due_.top() <= polled_at) {
          poll_now_ = true;
          local_due_.pop();
        }
        // A due look at the table comes first, so a steady stream of handed-over work cannot
        // starve the retries, wakes and other processes' jobs that only the table holds.
        if (poll_now_ || polled_at >= next_poll_) break;
        if (std::vector<Delivery> handed = hand_over_.Take(max); !handed.empty()) return handed;
        if (polled_at >= deadline) return {};
        SteadyTime wake_at = std::min(deadline, next_poll_);
        if (!local_due_.empty()) wake_at = std::min(wake_at, local_due_.top());
        clock_.WaitUntil(mu_, claim_changed_, wake_at);
      }
      poll_now_ = false;
      // Concurrent claimers arriving meanwhile wait for this one's answer instead of all asking.
      next_poll_ = polled_at + options_.poll_interval;
    }

    // With handed-over work waiting, the table gets half the room and the hand-over the rest.
    const size_t from_table = hand_over_.empty() ? max : std::max<size_t>(max / 2, 1);
    Result<std::vector<Delivery>> claimed = ClaimFromDatabase(from_table);
    // Counted before `out` takes the deliveries: a full batch means more may be due.
    const bool table_full = claimed && claimed->size() >= from_table;
    std::vector<Delivery> out = claimed ? std::move(claimed).value() : std::vector<Delivery>{};
    if (out.size() < max) {
      for (Delivery& delivery : hand_over_.Take(max - out.size())) out.push_back(std::move(delivery));
    }
    MutexLock lock(&mu_);
    if (!claimed) {
      claim_backoff_ = NextBackoff(claim_backoff_, kFirstBackoff, options_.max_backoff);
      next_poll_ = polled_at + claim_backoff_;
      claim_changed_.notify_all();  // other claimers wait for the earlier look
      log::Warn("job queue: claiming failed; retrying",
                {{"error", claimed.error().message}, {"retry_in_ms", std::to_string(claim_backoff_.count())}});
    } else {
      claim_backoff_ = milliseconds(0);
      // A full batch suggests more are due: the next Claim looks at once.
      if (table_full) {
        poll_now_ = true;
        claim_changed_.notify_all();
      }
    }
    if (!out.empty()) return out;
  }
}

Result<std::vector<Delivery>> PostgresJobQueue::ClaimFromDatabase(size_t max) {
  static metrics::Counter& queued = metrics::JobQueuedTotal().Get();
  static metrics::Counter& undecodable = metrics::EventsDeserializationFailuresTotal().Get();
  std::vector<Delivery> out;
  std::vector<DeadLetter> refused;
  size_t rows_seen = 0;
  const SteadyTime claimed_at = clock_.SteadyNow();  // no later than the database stamps the locks
  {
    MutexLock lock(&claim_mu_);
    if (Result<void> connected = EnsureConnected(claim_conn_, "queue-claim"); !connected) return connected.error();
    const std::optional<std::string> params[] = {std::to_string(max), options_.holder,
                                                 std::to_string(options_.lock_timeout.count()), options_.listener_id};
    Result<PgResult> rows = claim_conn_->Execute(kClaimSql, params);
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
    queued.Increment(static_cast<double>(fresh));
  }
  undecodable.Increment(static_cast<double>(refused.size()));
  std::vector<std::string> ids;
  ids.reserve(out.size());
  for (const Delivery& delivery : out) ids.push_back(delivery.id);
  writes_->Hold(ids, claimed_at);
  for (const DeadLetter& letter : refused) writes_->AddDeadLetter(letter);  // with the job's delete
  if (rows_seen >= max && out.size() < max) {
    // Rows refused above still took room: more may be due.
    MutexLock lock(&mu_);
    poll_now_ = true;
    claim_changed_.notify_all();
  }
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
  if (&conn == &claim_conn_) {
    // This connection runs kClaimSql only. Its right plan walks (listener_id, run_at) in order
    // and stops after LIMIT rows; with statistics taken while the table was nearly empty (a
    // burst after a quiet spell, before autovacuum analyzes), the planner instead bitmap-scans
    // every due row and sorts them all, per claim: 60 ms instead of 6 ms for 256 of 50,000.
    Result<PgResult> planned = connected->Execute(
        "SELECT set_config('enable_bitmapscan', 'off', false), set_config('enable_sort', 'off', false)");
    if (!planned) return std::move(planned).error();
  }
  conn = std::move(connected).value();
  return {};
}

void PostgresJobQueue::Complete(const Delivery& delivery) {
  if (auto job = first_attempts_.Report(delivery.id, FirstAttemptOutcome{})) ApplyToJob(delivery.id, std::move(*job));
}

void PostgresJobQueue::Reschedule(Delivery delivery, std::chrono::system_clock::time_point run_at) {
  const std::string id = delivery.id;
  FirstAttemptOutcome given_back{FirstAttemptOutcome::Kind::kGivenBack, std::move(delivery), run_at, std::nullopt};
  if (auto job = first_attempts_.Report(id, std::move(given_back))) ApplyToJob(id, std::move(*job));
}

void PostgresJobQueue::CompleteWithDeadLetter(const Delivery& delivery, DeadLetter letter) {
  letter.delivery_id = NormalizeUuid(delivery.id);
  if (!letter.delivery_id) letter.row_data = nlohmann::json{{"delivery_id", delivery.id}};
  if (letter.listener_id.empty()) letter.listener_id = options_.listener_id;
  FirstAttemptOutcome dead{FirstAttemptOutcome::Kind::kDeadLettered, {}, {}, std::move(letter)};
  if (auto job = first_attempts_.Report(delivery.id, std::move(dead))) ApplyToJob(delivery.id, std::move(*job));
}

void PostgresJobQueue::ApplyToJob(const std::string& delivery_id, FirstAttemptOutcome outcome) {
  switch (outcome.kind) {
    case FirstAttemptOutcome::Kind::kDone:
      writes_->Complete(delivery_id);
      return;
    case FirstAttemptOutcome::Kind::kGivenBack:
      writes_->Reschedule(delivery_id, RescheduleWrite::Of(outcome.delivery, outcome.run_at));
      return;
    case FirstAttemptOutcome::Kind::kDeadLettered:
      // An id that is no UUID has no job row to delete; the dead letter keeps it in row_data.
      if (outcome.letter) writes_->AddDeadLetter(*outcome.letter);
      return;
  }
}

void PostgresJobQueue::Wake(std::span<const std::string> delivery_ids) {
  first_attempts_.Wake(delivery_ids, clock_.Now());
  std::vector<std::string> ids;
  for (const std::string& id : delivery_ids) {
    if (std::optional<std::string> uuid = NormalizeUuid(id)) ids.push_back(std::move(*uuid));
  }
  if (!ids.empty()) writes_->Wake(ids);
}

FirstAttempts::BatchId PostgresJobQueue::StartFirstAttempts(std::span<const NewJob> jobs) {
  static metrics::Counter& queued = metrics::JobQueuedTotal().Get();
  auto [batch, to_start] = first_attempts_.Start(jobs);
  if (!to_start.empty()) {
    queued.Increment(static_cast<double>(to_start.size()));
    hand_over_.Push(std::move(to_start));
    NotifyClaimers();
  }
  return batch;
}

void PostgresJobQueue::WaitFirstAttempts(FirstAttempts::BatchId batch, std::chrono::milliseconds timeout,
                                         std::chrono::milliseconds stall) {
  // Settled or not, the seal says what to write: the caller needs no answer.
  first_attempts_.WaitSettled(batch, clock_.SteadyNow() + timeout, stall);
}

void PostgresJobQueue::FirstAttemptsWritten(FirstAttempts::BatchId batch, std::span<const NewJob> jobs,
                                            const ClaimStamp& stamp) {
  std::vector<std::string> running;
  {
    MutexLock lock(&mu_);
    const auto wall_now = clock_.Now();
    const auto steady_now = clock_.SteadyNow();
    for (const NewJob& job : jobs) {
      if (job.run_at) {
        NoteDueLocked(*job.run_at, wall_now, steady_now);
      } else {
        running.push_back(job.delivery.id);
      }
    }
    claim_changed_.notify_all();
  }
  // Held before the batch is forgotten: a report arriving in between then finds the hold.
  writes_->Hold(running, stamp.issued_at);
  for (FirstAttempts::Late& late : first_attempts_.Written(batch)) ApplyToJob(late.delivery_id, std::move(late.outcome));
}

void PostgresJobQueue::NoteDueLocked(std::chrono::system_clock::time_point run_at,
                                     std::chrono::system_clock::time_point wall_now, SteadyTime steady_now) {
  if (local_due_.size() >= kMaxDueHints) return;
  local_due_.push(steady_now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::max(run_at - wall_now, std::chrono::system_clock::duration(0))));
}

void PostgresJobQueue::AfterWrite(const PendingWrites& writes, const WriteCounts& counts) {
  static metrics::Gauge& dlq_items = metrics::DlqItems().Get();
  static metrics::Gauge& job_dlq_items = metrics::JobDlqItems().Get();
  // Between two counts (RefreshGauges), new dead letters show at once.
  dlq_items.Increment(static_cast<double>(counts.dead_letters));
  job_dlq_items.Increment(static_cast<double>(counts.dead_letters));
  const uint64_t applied = counts.completed + counts.rescheduled;
  if (applied < writes.ops.size()) {
    log::Warn("job queue: some jobs were no longer held by this process (their lock had expired and "
              "another holder claimed them), so their results were not written",
              {{"jobs", std::to_string(writes.ops.size() - applied)}});
  }
  MutexLock lock(&mu_);
  const auto wall_now = clock_.Now();
  const auto steady_now = clock_.SteadyNow();
  for (const auto& [id, op] : writes.ops) {
    if (op) NoteDueLocked(op->run_at, wall_now, steady_now);
  }
  if (!writes.wakes.empty()) poll_now_ = true;
  claim_changed_.notify_all();
}

Result<WriteCounts> PostgresJobQueue::WriteBatch(const PendingWrites& batch, std::span<const std::string> extend) {
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
  // rescheduled here). Every write to a job is conditional on this process still holding it,
  // and a delivery's dead letter is written only with its job's delete: a job whose lock expired
  // and that another process claimed is that process's to finish.
  static const std::string kSql =
      "WITH done AS (DELETE FROM observer_jobs WHERE delivery_id = ANY($2::uuid[]) AND locked_by = $3"
      " RETURNING delivery_id),"
      " dl AS (" +
      PostgresDeadLetterStore::InsertSql(1, "d.delivery_id IS NULL OR d.delivery_id IN (SELECT delivery_id FROM done)") +
      " RETURNING 1),"
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
  return WriteCounts{count(0), count(1), count(2), count(3), count(4)};
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
