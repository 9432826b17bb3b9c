// PostgresJobQueue and InsertJobs against the real PostgreSQL (label pg): the DeliverySource and
// DeadLetterSink contracts, plus what only a shared durable queue has to get right (SKIP LOCKED
// between processes, expired locks, hand-over, lost connections, rows that do not decode).
#include "queue/postgres_job_queue.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "queue/job_rows.h"
#include "queue/migrated_database.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using testing::MigratedDatabase;
using testing::NewAttempt;
using testing::NewDelivery;
using testing::NewEvent;

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
  MigratedDatabase db;
  std::vector<NewJob> jobs = Jobs(1, 3);
  db.InsertJobsNow("listener-a", jobs);
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
  db.InsertJobsNow("listener-a", replay);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 4);
  EXPECT_EQ(db.Value("SELECT attempt FROM observer_jobs WHERE delivery_id = $1", {jobs[0].delivery.id}), "2");
}

TEST(InsertJobsTest, AClaimStampMarksTheRowsHeld) {
  MigratedDatabase db;
  const auto until = std::chrono::system_clock::now() + std::chrono::minutes(5);
  db.InsertJobsNow("default", Jobs(1, 2), ClaimStamp{"me:1:abc", until});
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by = 'me:1:abc'"
                     " AND locked_until > now() + interval '4 minutes'"),
            2);
}

TEST(InsertJobsTest, RefusesAnIdThatIsNotAUuid) {
  MigratedDatabase db;
  std::vector<NewJob> jobs = Jobs(1, 1);
  jobs[0].delivery.id = "not-a-uuid";
  PgConnection conn = db.Connect();
  Result<void> inserted = InsertJobs(conn, "default", jobs, std::nullopt);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, ErrorCode::kInvalidArgument);
}

// ---- Claim ----

TEST(PostgresJobQueueTest, ClaimsOnlyDueJobsUpToMax) {
  MigratedDatabase db;
  std::vector<NewJob> jobs = Jobs(1, 5);
  db.InsertJobsNow("default", jobs);
  db.Execute("UPDATE observer_jobs SET run_at = now() + interval '1 hour' WHERE delivery_id = $1",
             {jobs[4].delivery.id});
  db.InsertJobsNow("other-listener", Jobs(100, 2));  // not ours
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);

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

TEST(PostgresJobQueueTest, ClaimReturnsAtTheDeadlineOrOnStopWhenNothingIsDue) {
  MigratedDatabase db;
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
  const auto started = steady_clock::now();
  EXPECT_TRUE(ClaimWithin(queue, 10, milliseconds(150)).empty());
  EXPECT_GE(steady_clock::now() - started, milliseconds(150));

  // Whether the stop comes before or during the wait, Claim returns at once rather than at kWait.
  std::stop_source stop;
  std::jthread stopper([&] { stop.request_stop(); });
  const auto before = steady_clock::now();
  EXPECT_TRUE(queue.Claim(10, steady_clock::now() + kWait, stop.get_token()).empty());
  EXPECT_LT(steady_clock::now() - before, kWait);
}

TEST(PostgresJobQueueTest, TwoQueuesNeverGetTheSameJob) {
  MigratedDatabase db;
  constexpr int kJobs = 300;
  db.InsertJobsNow("default", Jobs(1, kJobs));
  SystemClock clock;
  PostgresJobQueue a(Options(db, "holder-a"), &clock);
  PostgresJobQueue b(Options(db, "holder-b"), &clock);

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
  MigratedDatabase db;
  std::vector<NewJob> expired = Jobs(1, 1), live = Jobs(2, 1);
  const auto now = std::chrono::system_clock::now();
  db.InsertJobsNow("default", expired, ClaimStamp{"dead:1:0", now - std::chrono::seconds(1)});
  db.InsertJobsNow("default", live, ClaimStamp{"alive:2:0", now + std::chrono::minutes(5)});
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
  std::vector<Delivery> claimed = ClaimWithin(queue, 10, kWait);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, expired[0].delivery.id);
  EXPECT_TRUE(ClaimWithin(queue, 10, milliseconds(200)).empty());
  EXPECT_EQ(db.Value("SELECT locked_by FROM observer_jobs WHERE delivery_id = $1", {expired[0].delivery.id}), "q1");
}

// ---- Complete, Reschedule, Wake ----

TEST(PostgresJobQueueTest, CompleteDeletesTheJob) {
  MigratedDatabase db;
  db.InsertJobsNow("default", Jobs(1, 3));
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 3);
  ASSERT_EQ(claimed.size(), 3u);
  queue.Complete(claimed[0]);
  queue.Complete(claimed[2]);
  ASSERT_TRUE(queue.Flush(kWait));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 1);
  EXPECT_EQ(db.Value("SELECT delivery_id::text FROM observer_jobs"), claimed[1].id);
  EXPECT_EQ(queue.held(), 1u);
  EXPECT_EQ(queue.pending_writes(), 0u);
}

TEST(PostgresJobQueueTest, RescheduleKeepsTheAttemptsAndMakesTheJobDueAtRunAt) {
  MigratedDatabase db;
  db.InsertJobsNow("default", Jobs(1, 1));
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
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

TEST(PostgresJobQueueTest, WakeBringsAParkedJobForward) {
  MigratedDatabase db;
  db.InsertJobsNow("default", Jobs(1, 2));
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 2);
  ASSERT_EQ(claimed.size(), 2u);

  // One parked and written, then woken; the other woken before its park was even written.
  queue.Reschedule(claimed[0], clock.Now() + std::chrono::hours(1));
  ASSERT_TRUE(queue.Flush(kWait));
  EXPECT_TRUE(ClaimWithin(queue, 10, milliseconds(200)).empty());
  queue.Reschedule(claimed[1], clock.Now() + std::chrono::hours(1));
  const std::vector<std::string> ids = {claimed[0].id, claimed[1].id};
  queue.Wake(ids);

  const auto woken_at = steady_clock::now();
  std::vector<Delivery> again = ClaimCount(queue, 2);
  EXPECT_EQ(Ids(again), Ids(claimed));
  EXPECT_LT(steady_clock::now() - woken_at, milliseconds(5000));
}

TEST(PostgresJobQueueTest, WakeLeavesJobsSomebodyHoldsAlone) {
  MigratedDatabase db;
  db.InsertJobsNow("default", Jobs(1, 1));
  SystemClock clock;
  PostgresJobQueue a(Options(db, "holder-a"), &clock);
  std::vector<Delivery> claimed = ClaimCount(a, 1);
  ASSERT_EQ(claimed.size(), 1u);
  db.Execute("UPDATE observer_jobs SET run_at = now() + interval '1 hour'");
  PostgresJobQueue b(Options(db, "holder-b"), &clock);
  const std::vector<std::string> ids = {claimed[0].id};
  b.Wake(ids);
  ASSERT_TRUE(b.Flush(kWait));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE run_at > now() AND locked_by = 'holder-a'"), 1);
}

// ---- dead letters ----

TEST(PostgresJobQueueTest, ADeadLetterAndItsCompleteLeaveExactlyOneDeadLetterWithEveryAttempt) {
  MigratedDatabase db;
  std::vector<NewJob> jobs = Jobs(1, 1);
  db.InsertJobsNow("listener-x", jobs);
  SystemClock clock;
  PostgresJobQueueOptions options = Options(db, "q1");
  options.listener_id = "listener-x";
  PostgresJobQueue queue(options, &clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 1);
  ASSERT_EQ(claimed.size(), 1u);
  Delivery delivery = claimed[0];
  delivery.attempts = {NewAttempt(503, "HTTP 503 (retryable)", 1), NewAttempt(503, "HTTP 503 (retryable)", 2),
                       NewAttempt(400, "HTTP 400 Bad Request", 3)};
  queue.Add(DeadLetter{delivery, ActionType::kWebhook, "HTTP 400 Bad Request"});
  queue.Complete(delivery);
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
  MigratedDatabase db;
  db.InsertJobsNow("default", Jobs(1, 1));
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 1);
  ASSERT_EQ(claimed.size(), 1u);
  Delivery delivery = claimed[0];
  delivery.attempts = {NewAttempt(500, std::string("body with \0 inside", 18), 1)};
  queue.Add(DeadLetter{delivery, ActionType::kWebhook, std::string("bad \0 byte \\u0000 stays", 23)});
  queue.Complete(delivery);
  ASSERT_TRUE(queue.Flush(kWait));
  EXPECT_EQ(db.Value("SELECT reason FROM observer_dead_letters"), "bad \xEF\xBF\xBD byte \\u0000 stays");
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 0);
}

TEST(PostgresJobQueueTest, ARowThatDoesNotDecodeIsDeadLetteredAndTheOthersFlowOn) {
  MigratedDatabase db;
  std::vector<NewJob> good = Jobs(1, 2);
  db.InsertJobsNow("default", good);
  const std::string bad_id = "11111111-2222-4333-8444-555555555555";
  // Oldest, so the first claim meets it.
  db.Execute("INSERT INTO observer_jobs (delivery_id, listener_id, event, observer, action_index, run_at)"
             " VALUES ($1, 'default', '{\"nope\": true}', 'obs', 3, now() - interval '1 minute')",
             {bad_id});
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
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

TEST(PostgresJobQueueTest, AWaitForHandOverRoomEndsWhenAClaimMakesRoom) {
  MigratedDatabase db;
  SystemClock clock;
  PostgresJobQueueOptions options = Options(db, "local");
  options.max_handed_over = 2;
  PostgresJobQueue queue(options, &clock);
  std::vector<NewJob> jobs = Jobs(1, 2);
  db.InsertJobsNow("default", jobs, queue.NewClaimStamp());
  queue.HandOver({jobs[0].delivery, jobs[1].delivery});
  EXPECT_EQ(queue.HandOverRoom(), 0u);
  EXPECT_FALSE(queue.WaitForHandOverRoom(std::chrono::steady_clock::now()));  // full, deadline passed

  std::atomic<int> result{-1};
  std::thread waiter([&] { result = queue.WaitForHandOverRoom(std::chrono::steady_clock::now() + 60s) ? 1 : 0; });
  EXPECT_EQ(ClaimWithin(queue, 1, kWait).size(), 1u);
  waiter.join();  // the claim made room; without it the wait would end at its deadline, false
  EXPECT_EQ(result.load(), 1);
}

TEST(PostgresJobQueueTest, InterruptHandOverWaitsEndsThemNowAndLater) {
  MigratedDatabase db;
  SystemClock clock;
  PostgresJobQueueOptions options = Options(db, "local");
  options.max_handed_over = 1;
  PostgresJobQueue queue(options, &clock);
  std::vector<NewJob> jobs = Jobs(1, 1);
  db.InsertJobsNow("default", jobs, queue.NewClaimStamp());
  queue.HandOver({jobs[0].delivery});
  std::atomic<int> result{-1};
  std::thread waiter([&] { result = queue.WaitForHandOverRoom(std::chrono::steady_clock::now() + 60s) ? 1 : 0; });
  queue.InterruptHandOverWaits();
  waiter.join();  // returns long before its 60 s deadline, or the test times out
  EXPECT_EQ(result.load(), 0);
  EXPECT_FALSE(queue.WaitForHandOverRoom(std::chrono::steady_clock::now() + 60s));
  EXPECT_FALSE(queue.WaitForHandOverRoom());  // the form without a deadline ends too
}

TEST(PostgresJobQueueTest, HandedOverJobsAreClaimedOnceAndByNobodyElse) {
  MigratedDatabase db;
  SystemClock clock;
  PostgresJobQueue local(Options(db, "local"), &clock);
  PostgresJobQueue remote(Options(db, "remote"), &clock);
  std::vector<NewJob> jobs = Jobs(1, 4);
  db.InsertJobsNow("default", jobs, local.NewClaimStamp());
  std::vector<Delivery> deliveries;
  for (const NewJob& job : jobs) deliveries.push_back(job.delivery);
  EXPECT_EQ(local.HandOverRoom(), 10000u);
  local.HandOver(deliveries);
  EXPECT_EQ(local.HandOverRoom(), 10000u - 4);

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

TEST(PostgresJobQueueTest, DestructionGivesBackUnclaimedHandOversAndWritesWhatIsBuffered) {
  MigratedDatabase db;
  SystemClock clock;
  std::vector<NewJob> handed = Jobs(1, 2), claimed_jobs = Jobs(10, 2);
  {
    PostgresJobQueue queue(Options(db, "q1"), &clock);
    db.InsertJobsNow("default", claimed_jobs);
    std::vector<Delivery> claimed = ClaimCount(queue, 2);
    ASSERT_EQ(claimed.size(), 2u);
    db.InsertJobsNow("default", handed, queue.NewClaimStamp());
    queue.HandOver({handed[0].delivery, handed[1].delivery});
    queue.Complete(claimed[0]);
    queue.Complete(claimed[1]);
  }
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 2);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE locked_by IS NULL AND run_at <= now()"), 2);
  PostgresJobQueue other(Options(db, "q2"), &clock);
  EXPECT_EQ(ClaimCount(other, 2).size(), 2u);
}

// ---- locks ----

TEST(PostgresJobQueueTest, LocksOfHeldJobsAreExtendedSoNobodyStealsThem) {
  MigratedDatabase db;
  db.InsertJobsNow("default", Jobs(1, 1));
  SystemClock clock;
  PostgresJobQueueOptions options = Options(db, "holder-a");
  options.lock_timeout = milliseconds(600);
  PostgresJobQueue a(options, &clock);
  PostgresJobQueue b(Options(db, "holder-b"), &clock);
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
  MigratedDatabase db;
  db.InsertJobsNow("default", Jobs(1, 6));
  SystemClock clock;
  PostgresJobQueue queue(Options(db, "q1"), &clock);
  std::vector<Delivery> claimed = ClaimCount(queue, 6);
  ASSERT_EQ(claimed.size(), 6u);
  queue.Complete(claimed[0]);
  ASSERT_TRUE(queue.Flush(kWait));  // the flusher is connected now

  ASSERT_EQ(TerminateBackends(db, "queue-flush"), 1);
  queue.Complete(claimed[1]);
  queue.Reschedule(claimed[2], clock.Now() + std::chrono::hours(1));
  Delivery dead = claimed[3];
  dead.attempts = {NewAttempt(410, "HTTP 410 Gone", 1)};
  queue.Add(DeadLetter{dead, ActionType::kWebhook, "HTTP 410 Gone"});
  queue.Complete(dead);
  ASSERT_TRUE(queue.Flush(kWait));

  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs"), 3);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_jobs WHERE delivery_id = $1 AND locked_by IS NULL AND run_at > now()",
                     {claimed[2].id}),
            1);
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters WHERE delivery_id = $1", {dead.id}), 1);

  // The claim connection too.
  ASSERT_EQ(TerminateBackends(db, "queue-claim"), 1);
  db.InsertJobsNow("default", Jobs(50, 1));
  queue.Poke();
  EXPECT_EQ(ClaimCount(queue, 1).size(), 1u);
}

TEST(PostgresJobQueueTest, FlushTimesOutWhileTheDatabaseIsUnreachableAndKeepsTheWrites) {
  MigratedDatabase db;
  SystemClock clock;
  PostgresJobQueueOptions options = Options(db, "q1");
  options.database_url = Secret("postgresql://postgres@127.0.0.1:" + std::to_string(testing::UnusedLoopbackPort()) +
                                "/nothing");
  options.shutdown_timeout = milliseconds(200);
  PostgresJobQueue queue(options, &clock);
  Delivery delivery = NewDelivery(NewEvent("Order", 1), "obs");
  queue.Complete(delivery);
  Result<void> flushed = queue.Flush(milliseconds(300));
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(ClaimWithin(queue, 1, milliseconds(100)).empty());
}

// ---- AttemptFromJson (executor/delivery.h), exercised here with the rows it reads ----

TEST(AttemptFromJsonTest, ReadsWhatAttemptToJsonWrites) {
  AttemptRecord attempt = NewAttempt(503, "HTTP 503", 7);
  Result<AttemptRecord> back = AttemptFromJson(AttemptToJson(attempt));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, attempt);

  AttemptRecord bare;
  bare.started_at = attempt.started_at;
  bare.outcome = DeliveryOutcomeKind::kSuccess;
  back = AttemptFromJson(AttemptToJson(bare));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, bare);
}

TEST(AttemptFromJsonTest, NamesWhatIsWrong) {
  EXPECT_THAT(AttemptFromJson(nlohmann::json::array()).error().message, HasSubstr("not a JSON object"));
  EXPECT_THAT(AttemptFromJson({{"outcome", "success"}}).error().message, HasSubstr("started_at"));
  EXPECT_THAT(AttemptFromJson({{"started_at", "2026-01-01T00:00:00Z"}, {"outcome", "maybe"}}).error().message,
              HasSubstr("maybe"));
  EXPECT_THAT(
      AttemptFromJson({{"started_at", "2026-01-01T00:00:00Z"}, {"outcome", "success"}, {"status", "x"}}).error().message,
      HasSubstr("status"));
}

}  // namespace
}  // namespace fraiseql
