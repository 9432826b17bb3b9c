// PostgresJobQueue under the JobQueue contract, plus what only a shared durable queue has to get
// right (InsertJobs, SKIP LOCKED between processes, expired and extended locks, hand-over, lost
// connections, rows that do not decode), against the real PostgreSQL (label pg).
#include "queue/postgres_job_queue.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "dlq/postgres_dead_letter_store.h"
#include "job_queue_contract.h"
#include "queue/job_rows.h"
#include "testing/delivery_builder.h"
#include "testing/migrated_database.h"
#include "testing/services.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr milliseconds kWait{10000};  // bound of every wait for something that should happen

PostgresJobQueueOptions Options(const MigratedDatabase& db, std::string holder) {
  PostgresJobQueueOptions options;
  options.database_url = db.url();
  options.listener_id = "default";
  options.holder = std::move(holder);
  options.poll_interval = milliseconds(50);
  options.stats_interval = milliseconds(100);
  return options;
}

// InsertJobs in a transaction of its own, as the listener's batch does. Throws when it fails.
void InsertJobsNow(const MigratedDatabase& db, std::string_view listener_id, const std::vector<NewJob>& jobs,
                   const std::optional<ClaimStamp>& claim = std::nullopt) {
  PgConnection conn = db.Connect();
  if (!conn.Execute("BEGIN")) throw std::runtime_error("BEGIN failed");
  auto inserted = InsertJobs(conn, listener_id, jobs, claim);
  if (!inserted) throw std::runtime_error("InsertJobs: " + inserted.error().message);
  if (!conn.Execute("COMMIT")) throw std::runtime_error("COMMIT failed");
}

class PostgresBackend final : public JobQueueBackend {
 public:
  JobQueue& queue() override { return queue_; }
  void Enqueue(const std::vector<Delivery>& deliveries) override {
    std::vector<NewJob> jobs;
    for (const Delivery& delivery : deliveries) jobs.push_back({delivery, 0});
    InsertJobsNow(db_, "default", jobs);
    queue_.Poke();
  }
  void Flush() override { ASSERT_TRUE(queue_.Flush(kWait)); }
  size_t Outstanding() override { return static_cast<size_t>(db_.Count("SELECT count(*) FROM observer_jobs")); }
  std::vector<StoredDeadLetter> DeadLetters() override {
    PgConnection conn = db_.Connect();
    PostgresDeadLetterStore store(&conn);
    return store.List({}).value();
  }

 private:
  MigratedDatabase db_{"queue"};
  PostgresJobQueue queue_{Options(db_, "contract"), RealClock()};
};

FRAISEQL_CONTRACT_BACKEND(JobQueueContract, Postgres, PostgresBackend);

std::vector<NewJob> Jobs(int first, int count, std::string_view entity = "Order") {
  std::vector<NewJob> jobs;
  for (int n = first; n < first + count; ++n) jobs.push_back({NewDelivery(NewEvent(entity, n), "obs"), 1000 + n});
  return jobs;
}

std::vector<Delivery> ClaimWithin(PostgresJobQueue& queue, size_t max, milliseconds wait) {
  return queue.Claim(max, steady_clock::now() + wait, std::stop_token());
}

// Claims until `count` deliveries arrived or kWait passed.
std::vector<Delivery> ClaimCount(PostgresJobQueue& queue, size_t count) {
  std::vector<Delivery> all;
  const auto deadline = steady_clock::now() + kWait;
  while (all.size() < count && steady_clock::now() < deadline) {
    for (Delivery& delivery : queue.Claim(count - all.size(), deadline, std::stop_token())) {
      all.push_back(std::move(delivery));
    }
  }
  return all;
}

std::set<std::string> Ids(const std::vector<Delivery>& deliveries) {
  std::set<std::string> ids;
  for (const Delivery& delivery : deliveries) ids.insert(delivery.id);
  return ids;
}

// ---- InsertJobs ----

TEST(InsertJobsTest, WritesEveryColumnAndAReplayAddsNothing) {
  MigratedDatabase db{"queue"};
  std::vector<NewJob> jobs = Jobs(1, 3);
  InsertJobsNow(db, "listener-a", jobs);
  ASSERT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 3);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE listener_id = 'listener-a' AND observer = 'obs'"
                     " AND action_index = 0 AND attempt = 0 AND attempts = '[]' AND locked_by IS NULL"
                     " AND locked_until IS NULL AND run_at <= now()"),
            3);
  EXPECT_EQ(db.Value("SELECT change_log_pk FROM observer_jobs WHERE delivery_id = $1", {jobs[1].delivery.id}), "1002");
  EXPECT_EQ(db.Value("SELECT event->>'id' FROM observer_jobs WHERE delivery_id = $1", {jobs[0].delivery.id}),
            jobs[0].delivery.event->id);

  // The replay of the batch after a crash: same ids, nothing new, nothing changed.
  db.Execute("UPDATE observer_jobs SET attempt = 2 WHERE delivery_id = $1", {jobs[0].delivery.id});
  std::vector<NewJob> replay = Jobs(1, 4);
  InsertJobsNow(db, "listener-a", replay);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 4);
  EXPECT_EQ(db.Value("SELECT attempt FROM observer_jobs WHERE delivery_id = $1", {jobs[0].delivery.id}), "2");
}

TEST(InsertJobsTest, AClaimStampMarksTheRowsHeld) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 2), ClaimStamp{"me:1:abc", std::chrono::minutes(5), {}});
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by = 'me:1:abc'"
                     " AND locked_until > now() + interval '4 minutes'"),
            2);
}

TEST(InsertJobsTest, RefusesAnIdThatIsNotAUuid) {
  MigratedDatabase db{"queue"};
  std::vector<NewJob> jobs = Jobs(1, 1);
  jobs[0].delivery.id = "not-a-uuid";
  PgConnection conn = db.Connect();
  auto inserted = InsertJobs(conn, "default", jobs, std::nullopt);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, ErrorCode::kInvalidArgument);
}

// ---- Claim ----

TEST(PostgresJobQueueTest, ClaimsOnlyDueJobsUpToMax) {
  MigratedDatabase db{"queue"};
  std::vector<NewJob> jobs = Jobs(1, 5);
  InsertJobsNow(db, "default", jobs);
  db.Execute("UPDATE observer_jobs SET run_at = now() + interval '1 hour' WHERE delivery_id = $1",
             {jobs[4].delivery.id});
  InsertJobsNow(db, "other-listener", Jobs(100, 2));  // not ours
  Clock& clock = RealClock();
  PostgresJobQueue queue(Options(db, "q1"), clock);

  std::vector<Delivery> first = ClaimWithin(queue, 3, kWait);
  ASSERT_EQ(first.size(), 3u);
  std::vector<Delivery> second = ClaimWithin(queue, 10, kWait);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(ClaimWithin(queue, 10, milliseconds(200)).empty());

  std::set<std::string> claimed = Ids(first);
  claimed.insert(second[0].id);
  EXPECT_EQ(claimed, (std::set<std::string>{jobs[0].delivery.id, jobs[1].delivery.id, jobs[2].delivery.id,
                                            jobs[3].delivery.id}));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by = 'q1' AND locked_until > now()"), 4);
  EXPECT_EQ(queue.held(), 4u);

  // What comes back is what went in.
  const Delivery& one = first[0];
  ASSERT_NE(one.event, nullptr);
  EXPECT_EQ(one.observer, "obs");
  EXPECT_EQ(one.action_index, 0u);
  EXPECT_EQ(one.id, MakeDeliveryId(one.event->id, "obs", 0));
  EXPECT_EQ(one.event->entity_type, "Order");
  EXPECT_TRUE(one.attempts.empty());
}

// A backlog in the table (a restart after a crash, another process's jobs) drains batch after
// batch: a full batch makes the next Claim look again at once instead of after poll_interval.
// (It once waited the interval after every batch, draining a backlog at max/interval.)
TEST(PostgresJobQueueTest, AFullBatchMakesTheNextClaimLookAtOnce) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 7));
  PostgresJobQueueOptions options = Options(db, "q1");
  options.poll_interval = std::chrono::hours(1);
  PostgresJobQueue queue(options, RealClock());

  size_t claimed = 0;
  for (int batch = 0; batch < 3; ++batch) {
    // A deadline already passed: the Claim must not wait for the next poll.
    const std::vector<Delivery> got = queue.Claim(3, steady_clock::now(), std::stop_token());
    SCOPED_TRACE("batch " + std::to_string(batch));
    ASSERT_EQ(got.size(), batch < 2 ? 3u : 1u);
    claimed += got.size();
  }
  EXPECT_EQ(claimed, 7u);
}

TEST(PostgresJobQueueTest, TwoQueuesNeverGetTheSameJob) {
  MigratedDatabase db{"queue"};
  constexpr int kJobs = 300;
  InsertJobsNow(db, "default", Jobs(1, kJobs));
  Clock& clock = RealClock();
  PostgresJobQueue a(Options(db, "holder-a"), clock);
  PostgresJobQueue b(Options(db, "holder-b"), clock);

  std::vector<Delivery> got_a, got_b;
  auto drain = [&](PostgresJobQueue& queue, std::vector<Delivery>& got) {
    for (;;) {
      std::vector<Delivery> batch = ClaimWithin(queue, 7, milliseconds(300));
      if (batch.empty()) return;
      for (Delivery& delivery : batch) got.push_back(std::move(delivery));
    }
  };
  {
    std::jthread ta([&] { drain(a, got_a); });
    std::jthread tb([&] { drain(b, got_b); });
  }
  std::set<std::string> ids_a = Ids(got_a), ids_b = Ids(got_b);
  EXPECT_EQ(ids_a.size(), got_a.size());
  EXPECT_EQ(ids_b.size(), got_b.size());
  std::vector<std::string> both;
  std::set_intersection(ids_a.begin(), ids_a.end(), ids_b.begin(), ids_b.end(), std::back_inserter(both));
  EXPECT_TRUE(both.empty()) << both.size() << " jobs claimed twice";
  EXPECT_EQ(got_a.size() + got_b.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by = 'holder-a'"),
            static_cast<int64_t>(got_a.size()));
}

TEST(PostgresJobQueueTest, AJobWhoseHolderDiedIsClaimableOnceItsLockExpired) {
  MigratedDatabase db{"queue"};
  std::vector<NewJob> expired = Jobs(1, 1), live = Jobs(2, 1);
  InsertJobsNow(db, "default", expired, ClaimStamp{"dead:1:0", std::chrono::milliseconds(-1000), {}});
  InsertJobsNow(db, "default", live, ClaimStamp{"alive:2:0", std::chrono::minutes(5), {}});
  Clock& clock = RealClock();
  PostgresJobQueue queue(Options(db, "q1"), clock);
  std::vector<Delivery> claimed = ClaimWithin(queue, 10, kWait);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, expired[0].delivery.id);
  EXPECT_TRUE(ClaimWithin(queue, 10, milliseconds(200)).empty());
  EXPECT_EQ(db.Value("SELECT locked_by FROM observer_jobs WHERE delivery_id = $1", {expired[0].delivery.id}), "q1");
}

// ---- Complete, Reschedule, Wake ----

TEST(PostgresJobQueueTest, RescheduleKeepsTheAttemptsAndMakesTheJobDueAtRunAt) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 1));
  Clock& clock = RealClock();
  PostgresJobQueue queue(Options(db, "q1"), clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 1);
  ASSERT_EQ(claimed.size(), 1u);
  Delivery delivery = claimed[0];
  delivery.attempts.push_back(NewAttempt(503, "HTTP 503 Service Unavailable (retryable)", 1));
  delivery.attempts.push_back(NewAttempt(502, "HTTP 502 Bad Gateway (retryable)", 2));
  const std::vector<AttemptRecord> attempts = delivery.attempts;

  const auto rescheduled_at = steady_clock::now();
  queue.Reschedule(delivery, clock.Now() + milliseconds(700));
  ASSERT_TRUE(queue.Flush(kWait));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by IS NULL AND attempt = 2"
                     " AND jsonb_array_length(attempts) = 2 AND last_error = 'HTTP 502 Bad Gateway (retryable)'"
                     " AND run_at > now()"),
            1);
  EXPECT_EQ(queue.held(), 0u);

  std::vector<Delivery> again = ClaimCount(queue, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_GE(steady_clock::now() - rescheduled_at, milliseconds(650));
  EXPECT_EQ(again[0].id, delivery.id);
  EXPECT_EQ(again[0].attempts, attempts);
}

TEST(PostgresJobQueueTest, WakeLeavesJobsSomebodyHoldsAlone) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 1));
  Clock& clock = RealClock();
  PostgresJobQueue a(Options(db, "holder-a"), clock);
  std::vector<Delivery> claimed = ClaimCount(a, 1);
  ASSERT_EQ(claimed.size(), 1u);
  db.Execute("UPDATE observer_jobs SET run_at = now() + interval '1 hour'");
  PostgresJobQueue b(Options(db, "holder-b"), clock);
  const std::vector<std::string> ids = {claimed[0].id};
  b.Wake(ids);
  ASSERT_TRUE(b.Flush(kWait));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE run_at > now() AND locked_by = 'holder-a'"), 1);
}

// ---- dead letters ----

TEST(PostgresJobQueueTest, ADeadLetterAndTheJobsDeleteAreOneWriteWithTheJobsListenerAndRow) {
  MigratedDatabase db{"queue"};
  std::vector<NewJob> jobs = Jobs(1, 1);
  InsertJobsNow(db, "listener-x", jobs);
  Clock& clock = RealClock();
  PostgresJobQueueOptions options = Options(db, "q1");
  options.listener_id = "listener-x";
  PostgresJobQueue queue(options, clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 1);
  ASSERT_EQ(claimed.size(), 1u);
  Delivery delivery = claimed[0];
  delivery.attempts = {NewAttempt(503, "HTTP 503 (retryable)", 1), NewAttempt(503, "HTTP 503 (retryable)", 2),
                       NewAttempt(400, "HTTP 400 Bad Request", 3)};
  queue.CompleteWithDeadLetter(delivery, DeadLetterOf(delivery, "webhook", "HTTP 400 Bad Request"));
  ASSERT_TRUE(queue.Flush(kWait));

  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 0);
  ASSERT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters"), 1);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters WHERE delivery_id = $1 AND listener_id = 'listener-x'"
                     " AND change_log_pk = 1001 AND observer = 'obs' AND action_index = 0 AND action_type = 'webhook'"
                     " AND entity_type = 'Order' AND reason = 'HTTP 400 Bad Request' AND event->>'id' = $2"
                     " AND row_data IS NULL",
                     {delivery.id, delivery.event->id}),
            1);
  const nlohmann::json attempts = nlohmann::json::parse(*db.Value("SELECT attempts FROM observer_dead_letters"));
  ASSERT_EQ(attempts.size(), 3u);
  for (size_t i = 0; i < attempts.size(); ++i) {
    Result<AttemptRecord> attempt = AttemptFromJson(attempts[i]);
    ASSERT_TRUE(attempt) << attempt.error().message;
    EXPECT_EQ(*attempt, delivery.attempts[i]);
  }
}

TEST(PostgresJobQueueTest, ANulByteInAReasonDoesNotBlockTheWrite) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 1));
  Clock& clock = RealClock();
  PostgresJobQueue queue(Options(db, "q1"), clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 1);
  ASSERT_EQ(claimed.size(), 1u);
  Delivery delivery = claimed[0];
  delivery.attempts = {NewAttempt(500, std::string("body with \0 inside", 18), 1)};
  queue.CompleteWithDeadLetter(delivery, DeadLetterOf(delivery, "webhook", std::string("bad \0 byte \\u0000 stays", 23)));
  ASSERT_TRUE(queue.Flush(kWait));
  EXPECT_EQ(db.Value("SELECT reason FROM observer_dead_letters"), "bad \xEF\xBF\xBD byte \\u0000 stays");
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 0);
}

TEST(PostgresJobQueueTest, ARowThatDoesNotDecodeIsDeadLetteredAndTheOthersFlowOn) {
  MigratedDatabase db{"queue"};
  std::vector<NewJob> good = Jobs(1, 2);
  InsertJobsNow(db, "default", good);
  const std::string bad_id = "11111111-2222-4333-8444-555555555555";
  // Oldest, so the first claim meets it.
  db.Execute("INSERT INTO observer_jobs (delivery_id, listener_id, event, observer, action_index, run_at)"
             " VALUES ($1, 'default', '{\"nope\": true}', 'obs', 3, now() - interval '1 minute')",
             {bad_id});
  Clock& clock = RealClock();
  PostgresJobQueue queue(Options(db, "q1"), clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 2);
  EXPECT_EQ(Ids(claimed), Ids({good[0].delivery, good[1].delivery}));
  ASSERT_TRUE(queue.Flush(kWait));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE delivery_id = $1", {bad_id}), 0);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters WHERE delivery_id = $1 AND event IS NULL"
                     " AND row_data->'event'->>'nope' = 'true' AND observer = 'obs' AND action_index = 3"
                     " AND reason LIKE 'job row does not decode: event: %'",
                     {bad_id}),
            1);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 2);
}

// ---- hand-over from the local listener ----

TEST(PostgresJobQueueTest, HandedOverJobsAreClaimedOnceAndByNobodyElse) {
  MigratedDatabase db{"queue"};
  Clock& clock = RealClock();
  PostgresJobQueue local(Options(db, "local"), clock);
  PostgresJobQueue remote(Options(db, "remote"), clock);
  std::vector<NewJob> jobs = Jobs(1, 4);
  const ClaimStamp stamp = local.NewClaimStamp();
  InsertJobsNow(db, "default", jobs, stamp);
  std::vector<Delivery> deliveries;
  for (const NewJob& job : jobs) deliveries.push_back(job.delivery);
  EXPECT_EQ(local.hand_over().Room(), 10000u);
  local.HandOver(deliveries, stamp);
  EXPECT_EQ(local.hand_over().Room(), 10000u - 4);

  EXPECT_TRUE(ClaimWithin(remote, 10, milliseconds(200)).empty());
  std::vector<Delivery> first = ClaimWithin(local, 3, kWait);
  std::vector<Delivery> second = ClaimWithin(local, 3, kWait);
  EXPECT_EQ(first.size(), 3u);
  EXPECT_EQ(second.size(), 1u);
  EXPECT_TRUE(ClaimWithin(local, 10, milliseconds(200)).empty());
  std::vector<Delivery> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(Ids(all), Ids(deliveries));
}

TEST(PostgresJobQueueTest, HandedOverWorkDoesNotStarveTheTable) {
  MigratedDatabase db{"queue"};
  Clock& clock = RealClock();
  PostgresJobQueue local(Options(db, "local"), clock);
  std::vector<NewJob> table = Jobs(1, 1);  // a retry or a job another process inserted
  InsertJobsNow(db, "default", table);
  const ClaimStamp stamp = local.NewClaimStamp();
  std::vector<NewJob> handed = Jobs(10, 20);
  InsertJobsNow(db, "default", handed, stamp);
  std::vector<Delivery> deliveries;
  for (const NewJob& job : handed) deliveries.push_back(job.delivery);
  local.HandOver(deliveries, stamp);
  // The first claim looks at the table (a look is due), giving it half the room.
  std::vector<Delivery> first = ClaimWithin(local, 4, kWait);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(Ids(first).count(table[0].delivery.id), 1u);
  EXPECT_EQ(local.hand_over().size(), 17u);
}

TEST(PostgresJobQueueTest, ADeadLetterIsWrittenOnlyWithItsJobsDelete) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 1));
  PostgresJobQueue queue(Options(db, "q1"), RealClock());
  std::vector<Delivery> claimed = ClaimCount(queue, 1);
  ASSERT_EQ(claimed.size(), 1u);
  // Our lock expired and another process claimed the job: its outcome is that process's.
  db.Execute("UPDATE observer_jobs SET locked_by = 'other'");
  queue.CompleteWithDeadLetter(claimed[0], DeadLetterOf(claimed[0], "webhook", "HTTP 400"));
  ASSERT_TRUE(queue.Flush(kWait));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters"), 0);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by = 'other'"), 1);
}

TEST(PostgresJobQueueTest, DestructionGivesBackUnclaimedHandOversAndWritesWhatIsBuffered) {
  MigratedDatabase db{"queue"};
  Clock& clock = RealClock();
  std::vector<NewJob> handed = Jobs(1, 2), claimed_jobs = Jobs(10, 2);
  {
    PostgresJobQueue queue(Options(db, "q1"), clock);
    InsertJobsNow(db, "default", claimed_jobs);
    std::vector<Delivery> claimed = ClaimCount(queue, 2);
    ASSERT_EQ(claimed.size(), 2u);
    const ClaimStamp stamp = queue.NewClaimStamp();
    InsertJobsNow(db, "default", handed, stamp);
    queue.HandOver({handed[0].delivery, handed[1].delivery}, stamp);
    queue.Complete(claimed[0]);
    queue.Complete(claimed[1]);
  }
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 2);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by IS NULL AND run_at <= now()"), 2);
  PostgresJobQueue other(Options(db, "q2"), clock);
  EXPECT_EQ(ClaimCount(other, 2).size(), 2u);
}

// ---- locks ----

TEST(PostgresJobQueueTest, LocksOfHeldJobsAreExtendedSoNobodyStealsThem) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 1));
  Clock& clock = RealClock();
  PostgresJobQueueOptions options = Options(db, "holder-a");
  options.lock_timeout = milliseconds(600);
  PostgresJobQueue a(options, clock);
  PostgresJobQueue b(Options(db, "holder-b"), clock);
  ASSERT_EQ(ClaimCount(a, 1).size(), 1u);

  // Three lock timeouts later it is still a's, and b never got it.
  const auto until = steady_clock::now() + 3 * options.lock_timeout;
  while (steady_clock::now() < until) {
    ASSERT_TRUE(ClaimWithin(b, 10, milliseconds(100)).empty());
  }
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by = 'holder-a' AND locked_until > now()"), 1);
}

// ---- failures ----

int64_t TerminateBackends(const MigratedDatabase& db, std::string_view role) {
  return db.Count(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1"
      " AND application_name LIKE $2",
      {db.name(), "fraiseql-observer " + std::string(role) + "%"});
}

TEST(PostgresJobQueueTest, TheFlusherSurvivesALostConnectionWithoutLosingAWrite) {
  MigratedDatabase db{"queue"};
  InsertJobsNow(db, "default", Jobs(1, 6));
  Clock& clock = RealClock();
  PostgresJobQueue queue(Options(db, "q1"), clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 6);
  ASSERT_EQ(claimed.size(), 6u);
  queue.Complete(claimed[0]);
  ASSERT_TRUE(queue.Flush(kWait));  // the flusher is connected now

  ASSERT_EQ(TerminateBackends(db, "queue-flush"), 1);
  queue.Complete(claimed[1]);
  queue.Reschedule(claimed[2], clock.Now() + std::chrono::hours(1));
  Delivery dead = claimed[3];
  dead.attempts = {NewAttempt(410, "HTTP 410 Gone", 1)};
  queue.CompleteWithDeadLetter(dead, DeadLetterOf(dead, "webhook", "HTTP 410 Gone"));
  ASSERT_TRUE(queue.Flush(kWait));

  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 3);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE delivery_id = $1 AND locked_by IS NULL AND run_at > now()",
                     {claimed[2].id}),
            1);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters WHERE delivery_id = $1", {dead.id}), 1);

  // The claim connection too.
  ASSERT_EQ(TerminateBackends(db, "queue-claim"), 1);
  InsertJobsNow(db, "default", Jobs(50, 1));
  queue.Poke();
  EXPECT_EQ(ClaimCount(queue, 1).size(), 1u);
}

TEST(PostgresJobQueueTest, FlushTimesOutWhileTheDatabaseIsUnreachableAndKeepsTheWrites) {
  MigratedDatabase db{"queue"};
  Clock& clock = RealClock();
  PostgresJobQueueOptions options = Options(db, "q1");
  options.database_url = Secret("postgresql://postgres@127.0.0.1:" + std::to_string(UnusedLoopbackPort()) +
                                "/nothing");
  options.shutdown_timeout = milliseconds(200);
  PostgresJobQueue queue(options, clock);
  Delivery delivery = NewDelivery(NewEvent("Order", 1), "obs");
  queue.Complete(delivery);
  Result<void> flushed = queue.Flush(milliseconds(300));
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(ClaimWithin(queue, 1, milliseconds(100)).empty());
}

}  // namespace
}  // namespace fraiseql::testing
