// The Listener end to end on its PostgreSQL backends (label pg): gapless reading across
// out-of-order commits, poison rows, batching, restarts, fencing, failover between two
// listeners, NOTIFY wake-ups and reconnection. Every test has a migrated database of its own.
// The loop's logic alone, on memory backends and a FakeClock, is in listener_loop_test.cc.
#include "listener/listener.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checkpoint/postgres_checkpoint_store.h"
#include "config/config.h"
#include "dlq/postgres_dead_letter_store.h"
#include "hand_off_contract.h"
#include "listener_observers.h"
#include "listener/postgres_change_log.h"
#include "listener/postgres_hand_off.h"
#include "listener/postgres_lease.h"
#include "listener_test_util.h"
#include "queue/postgres_job_queue.h"
#include "matcher/matcher.h"
#include "metrics/families.h"

namespace fraiseql::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using std::chrono::milliseconds;

// One process's listener on the test database, with the PostgreSQL backends the daemon wires:
// the change log, the lease, the hand-off, and (for a local queue) the job queue it hands to.
class Process {
 public:
  Process(const MigratedDatabase& database, ListenerOptions options, const ObserverIndex& index, bool local_queue,
          bool synchronous_commit, milliseconds first_attempt_deadline = milliseconds(0))
      : leases_(database.url()) {
    PostgresChangeLogOptions log_options;
    log_options.database_url = database.url();
    log_options.listener_id = options.listener_id;
    change_log_ = PostgresChangeLog::Create(log_options, RealClock()).value();
    if (local_queue) {
      PostgresJobQueueOptions queue_options;
      queue_options.database_url = database.url();
      queue_options.listener_id = options.listener_id;
      queue_options.holder = options.holder;
      queue_ = std::make_unique<PostgresJobQueue>(queue_options, RealClock());
    }
    PostgresHandOffOptions hand_off_options;
    hand_off_options.database_url = database.url();
    hand_off_options.listener_id = options.listener_id;
    hand_off_options.synchronous_commit = synchronous_commit;
    hand_off_options.first_attempt_deadline = first_attempt_deadline;
    hand_off_ = std::make_unique<PostgresHandOff>(hand_off_options, queue_.get());
    Result<std::unique_ptr<Listener>> listener =
        Listener::Create(std::move(options), index, *change_log_, leases_, *hand_off_, RealClock());
    if (!listener) throw std::runtime_error(listener.error().message);
    listener_ = std::move(listener).value();
  }
  ~Process() { Stop(); }

  void Start() { listener_->Start(); }
  void Stop() { listener_->Stop(); }
  Listener::Status status() const { return listener_->status(); }
  // The local queue (REQUIRES: made with one): what the listener handed over in memory.
  PostgresJobQueue& queue() { return *queue_; }

 private:
  PostgresLeaseStore leases_;
  std::unique_ptr<PostgresChangeLog> change_log_;
  std::unique_ptr<PostgresJobQueue> queue_;
  std::unique_ptr<PostgresHandOff> hand_off_;
  std::unique_ptr<Listener> listener_;
};

constexpr bool kLocalQueue = true;

// The HandOff contract over PostgresHandOff, handing over to a local PostgresJobQueue.
class PostgresHandOffBackend final : public HandOffBackend {
 public:
  PostgresHandOffBackend() {
    PostgresJobQueueOptions queue_options;
    queue_options.database_url = database_.url();
    queue_options.listener_id = "main";
    queue_options.holder = "holder-a";
    queue_options.max_handed_over = kHandOffRoom;
    queue_ = std::make_unique<PostgresJobQueue>(queue_options, RealClock());
    PostgresHandOffOptions options;
    options.database_url = database_.url();
    options.listener_id = "main";
    hand_off_ = std::make_unique<PostgresHandOff>(options, queue_.get());
  }
  HandOff& hand_off() override { return *hand_off_; }
  LeaseStore& leases() override { return leases_; }
  size_t Queued() override { return static_cast<size_t>(database_.Count("SELECT count(*) FROM observer_jobs")); }
  std::vector<StoredDeadLetter> DeadLetters() override {
    PgConnection conn = database_.Connect();
    return PostgresDeadLetterStore(&conn).List({}).value();
  }
  std::vector<Delivery> Take(size_t max) override {
    return queue_->Claim(max, std::chrono::steady_clock::now() + std::chrono::milliseconds(200), {});
  }

 private:
  MigratedDatabase database_{"handoff"};
  PostgresLeaseStore leases_{database_.url()};
  std::unique_ptr<PostgresJobQueue> queue_;
  std::unique_ptr<PostgresHandOff> hand_off_;
};

FRAISEQL_CONTRACT_BACKEND(HandOffContract, Postgres, PostgresHandOffBackend);

class ListenerTest : public ::testing::Test {
 protected:
  ListenerTest() : config_(ListenerObserversConfig()), index_(config_.observers), conn_(database_.Connect()) {}

  ListenerOptions Options(std::string holder = "holder-a") const {
    ListenerOptions options;
    options.listener_id = "main";
    options.holder = std::move(holder);
    options.poll_interval = milliseconds(200);
    options.lease_ttl = milliseconds(3000);
    options.retry_backoff_min = milliseconds(20);
    options.retry_backoff_max = milliseconds(200);
    return options;
  }

  std::unique_ptr<Process> Make(ListenerOptions options, bool local_queue = false, bool synchronous_commit = true) {
    return std::make_unique<Process>(database_, std::move(options), index_, local_queue, synchronous_commit);
  }

  int64_t Jobs() { return Count(conn_, "SELECT count(*) FROM observer_jobs"); }
  int64_t JobsFor(int64_t pk) {
    return Count(conn_, "SELECT count(*) FROM observer_jobs WHERE change_log_pk = " + std::to_string(pk));
  }
  // Every job's change-log pk, ascending; a duplicate delivery would appear twice.
  std::vector<int64_t> JobPks() {
    PgResult result = MustExecute(conn_, "SELECT change_log_pk FROM observer_jobs ORDER BY change_log_pk");
    std::vector<int64_t> pks;
    for (size_t row = 0; row < result.rows(); ++row) pks.push_back(std::stoll(std::string(*result.Get(row, 0))));
    return pks;
  }
  bool WaitForJobs(int64_t count) { return PollUntil([&] { return Jobs() >= count; }); }
  std::optional<Checkpoint> Stored() {
    Result<std::optional<Checkpoint>> loaded = PostgresCheckpointStore::LoadWith(conn_, "main");
    if (!loaded) throw std::runtime_error(loaded.error().message);
    return *loaded;
  }

  MigratedDatabase database_{"lsn"};
  Config config_;
  ObserverIndex index_;
  PgConnection conn_;
};

TEST_F(ListenerTest, HandsRowsToTheJobQueueClaimedAndAdvancesTheCheckpoint) {
  const int64_t a = InsertOrder(conn_, 1);
  const int64_t b = InsertOrder(conn_, 2);
  const double processed_before = metrics::EventsProcessedTotal().Get().Value();
  std::unique_ptr<Process> listener = Make(Options(), kLocalQueue);
  listener->Start();
  ASSERT_TRUE(WaitForJobs(2));
  // Handed over in memory: the local queue's claim returns them without a claim statement.
  std::vector<Delivery> deliveries = listener->queue().Claim(10, std::chrono::steady_clock::now() + kPollDeadline, {});
  EXPECT_THAT(JobPks(), ElementsAre(a, b));
  // Inserted already claimed by this process: its local queue runs them.
  EXPECT_EQ(Count(conn_, "SELECT count(*) FROM observer_jobs WHERE locked_by = 'holder-a' AND locked_until > now()"),
            2);
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0].observer, "orders");
  EXPECT_EQ(deliveries[0].event->data, nlohmann::json({{"n", 1}}));
  EXPECT_EQ(deliveries[0].id, MakeDeliveryId(deliveries[0].event->id, "orders", 0));
  EXPECT_EQ(Scalar(conn_, "SELECT delivery_id::text FROM observer_jobs WHERE change_log_pk = " + std::to_string(a)),
            deliveries[0].id);

  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == b; }));
  std::optional<Checkpoint> stored = Stored();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->position.pk, b);
  EXPECT_EQ(stored->total_events, 2);
  EXPECT_EQ(stored->lease_epoch, listener->status().lease_epoch);
  EXPECT_EQ(stored->updated_by, "holder-a");
  EXPECT_GE(metrics::EventsProcessedTotal().Get().Value() - processed_before, 2.0);
  listener->Stop();
  EXPECT_FALSE(listener->status().leading);
}

// First attempts (docs/architecture.md): the batch's deliveries run before anything is written,
// and its transaction writes only what did not finish, with the checkpoint.
TEST_F(ListenerTest, FirstAttemptsLeaveJobRowsOnlyForWhatDidNotFinish) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 4; ++n) pks.push_back(InsertOrder(conn_, n));
  auto listener = std::make_unique<Process>(database_, Options(), index_, kLocalQueue, true, milliseconds(300));
  listener->Start();

  // A worker: 1 succeeds, 2 is given back for a retry in an hour, 3 fails for good, 4 is still
  // running when the deadline passes.
  std::vector<Delivery> claimed;
  ASSERT_TRUE(PollUntil([&] {
    for (Delivery& d : listener->queue().Claim(10, std::chrono::steady_clock::now() + milliseconds(50), {})) {
      claimed.push_back(std::move(d));
    }
    return claimed.size() == 4;
  }));
  std::sort(claimed.begin(), claimed.end(),
            [](const Delivery& x, const Delivery& y) { return x.event->data["n"] < y.event->data["n"]; });
  // Nothing is written while they run.
  EXPECT_EQ(Jobs(), 0);
  listener->queue().Complete(claimed[0]);
  Delivery retried = claimed[1];
  retried.attempts.push_back(AttemptRecord{std::chrono::system_clock::now(), DeliveryOutcomeKind::kRetryable, 503,
                                           "HTTP 503", std::chrono::microseconds(1000)});
  listener->queue().Reschedule(retried, std::chrono::system_clock::now() + std::chrono::hours(1));
  DeadLetter letter;
  letter.reason = "HTTP 410: gone";
  listener->queue().CompleteWithDeadLetter(claimed[2], letter);

  ASSERT_TRUE(PollUntil([&] { return Stored() && Stored()->position.pk == pks[3]; }));
  EXPECT_EQ(Jobs(), 2);
  EXPECT_EQ(Count(conn_, "SELECT count(*) FROM observer_jobs WHERE delivery_id = '" + retried.id +
                             "' AND locked_by IS NULL AND attempt = 1 AND run_at > now() + interval '50 minutes'"
                             " AND last_error = 'HTTP 503' AND change_log_pk = " + std::to_string(pks[1])),
            1);
  EXPECT_EQ(Count(conn_, "SELECT count(*) FROM observer_jobs WHERE delivery_id = '" + claimed[3].id +
                             "' AND locked_by = 'holder-a' AND locked_until > now() AND attempt = 0"),
            1);
  EXPECT_EQ(Count(conn_, "SELECT count(*) FROM observer_dead_letters WHERE delivery_id = '" + claimed[2].id +
                             "' AND reason = 'HTTP 410: gone' AND listener_id = 'main'"),
            1);

  // The one still running is an ordinary held job now: its completion deletes its row.
  listener->queue().Complete(claimed[3]);
  ASSERT_TRUE(listener->queue().Flush(std::chrono::seconds(10)));
  EXPECT_EQ(Jobs(), 1);
  EXPECT_EQ(listener->queue().first_attempts(), 0u);
  EXPECT_EQ(listener->queue().held(), 0u);
}

// Batch after batch with first attempts, each next batch read while the previous one's deliveries
// run: every row is delivered once, in change-log order, and nothing is left in the job table.
TEST_F(ListenerTest, FirstAttemptsDeliverEveryRowOnceInOrderAcrossBatchesReadAhead) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 7; ++n) pks.push_back(InsertOrder(conn_, n));
  ListenerOptions options = Options();
  options.batch_size = 2;
  auto listener = std::make_unique<Process>(database_, options, index_, kLocalQueue, true, milliseconds(2000));
  listener->Start();
  std::vector<int> delivered;
  ASSERT_TRUE(PollUntil([&] {
    for (Delivery& d : listener->queue().Claim(10, std::chrono::steady_clock::now() + milliseconds(50), {})) {
      delivered.push_back(d.event->data["n"].get<int>());
      listener->queue().Complete(d);
    }
    return Stored() && Stored()->position.pk == pks.back();
  }));
  EXPECT_EQ(delivered, (std::vector<int>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(Jobs(), 0);
  EXPECT_EQ(listener->status().batches_committed, 4u);
  EXPECT_EQ(listener->status().rows_committed, 7u);
}

// A batch whose transaction fails (here: the lease was taken over) is read again by whoever
// leads; the outcomes of its first attempts are dropped, nothing is written for them.
TEST_F(ListenerTest, FirstAttemptsOfABatchThatLostItsLeaseWriteNothing) {
  const int64_t pk = InsertOrder(conn_, 1);
  auto listener = std::make_unique<Process>(database_, Options(), index_, kLocalQueue, true, milliseconds(2000));
  listener->Start();
  std::vector<Delivery> claimed;
  ASSERT_TRUE(PollUntil([&] {
    claimed = listener->queue().Claim(10, std::chrono::steady_clock::now() + milliseconds(50), {});
    return !claimed.empty();
  }));
  // Another holder takes the lease while the attempt runs.
  MustExecute(conn_, "UPDATE observer_leases SET holder = 'holder-b', epoch = epoch + 1 WHERE listener_id = 'main'");
  listener->queue().Complete(claimed[0]);
  ASSERT_TRUE(PollUntil([&] { return listener->status().fenced > 0; }));
  EXPECT_EQ(Jobs(), 0);
  std::optional<Checkpoint> stored = Stored();
  EXPECT_TRUE(!stored || stored->position.pk < pk);
  listener->Stop();
}

TEST_F(ListenerTest, OutOfOrderCommitIsDeliveredExactlyOnce) {
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  // T2 takes the older transaction id; T1 then inserts the first (lowest pk) row and stays open.
  PgConnection t2 = database_.Connect();
  MustExecute(t2, "BEGIN");
  MustExecute(t2, "SELECT pg_current_xact_id()");
  PgConnection t1 = database_.Connect();
  MustExecute(t1, "BEGIN");
  const int64_t first = InsertOrder(t1, 1);
  const int64_t second = InsertOrder(t2, 2);
  const int64_t third = InsertOrder(t2, 3);
  MustExecute(t2, "COMMIT");
  ASSERT_LT(first, second);
  // The listener processes T2's rows, although a lower-numbered row is still uncommitted: a
  // pk-ordered reader would now stand past `first` and never see it.
  ASSERT_TRUE(WaitForJobs(2));
  EXPECT_THAT(JobPks(), ElementsAre(second, third));
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == third; }));

  MustExecute(t1, "COMMIT");
  ASSERT_TRUE(WaitForJobs(3));
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == first; }));
  EXPECT_THAT(JobPks(), ElementsAre(first, second, third));
  listener->Stop();
}

TEST_F(ListenerTest, RowsBehindAnOlderOpenTransactionWaitForIt) {
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().leading && listener->status().reads > 0; }));
  PgConnection t1 = database_.Connect();
  MustExecute(t1, "BEGIN");
  MustExecute(t1, "SELECT pg_current_xact_id()");  // older than the rows below
  const int64_t later = InsertOrder(conn_, 2);
  // The listener keeps looking (held-back rows are polled for) but takes nothing yet.
  const uint64_t reads = listener->status().reads;
  ASSERT_TRUE(PollUntil([&] { return listener->status().reads >= reads + 3; }));
  EXPECT_EQ(Jobs(), 0);
  const int64_t earlier = InsertOrder(t1, 1);
  MustExecute(t1, "COMMIT");
  ASSERT_TRUE(WaitForJobs(2));
  EXPECT_THAT(JobPks(), ElementsAre(later, earlier));
  listener->Stop();
}

TEST_F(ListenerTest, PoisonRowsAreDeadLetteredWithReasonsAndNeighboursFlow) {
  const int64_t good1 = InsertOrder(conn_, 1);
  const int64_t null_id = InsertRow(conn_, "Order", "INSERT", "NULL");
  const int64_t bad_verb = InsertRow(conn_, "Order", "MERGE", EntityUuid(3));
  // An UPDATE without a pre-image: "status_changes" cannot evaluate field_changed(status).
  const int64_t no_pre_image = InsertRow(conn_, "Order", "UPDATE", EntityUuid(4), R"({"n": 4, "status": "x"})");
  const int64_t good2 = InsertOrder(conn_, 5);
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == good2; }));
  // "orders" still gets the UPDATE: only the failing (event, observer) pair is dead-lettered.
  EXPECT_THAT(JobPks(), ElementsAre(good1, no_pre_image, good2));
  PgResult dead = MustExecute(conn_,
                              "SELECT change_log_pk, reason, observer, event IS NOT NULL, row_data IS NOT NULL, "
                              "listener_id, entity_type FROM observer_dead_letters ORDER BY change_log_pk");
  ASSERT_EQ(dead.rows(), 3u);
  EXPECT_EQ(dead.Get(0, 0), std::to_string(null_id));
  EXPECT_THAT(std::string(*dead.Get(0, 1)), HasSubstr("object_id is NULL"));
  EXPECT_EQ(dead.Get(0, 2), std::nullopt);
  EXPECT_EQ(dead.Get(0, 3), "f");
  EXPECT_EQ(dead.Get(0, 4), "t");
  EXPECT_EQ(dead.Get(0, 5), "main");
  EXPECT_EQ(dead.Get(0, 6), "Order");
  EXPECT_EQ(dead.Get(1, 0), std::to_string(bad_verb));
  EXPECT_THAT(std::string(*dead.Get(1, 1)), HasSubstr("unknown modification_type 'MERGE'"));
  EXPECT_EQ(dead.Get(2, 0), std::to_string(no_pre_image));
  EXPECT_THAT(std::string(*dead.Get(2, 1)), HasSubstr("condition of observer 'status_changes' failed"));
  EXPECT_EQ(dead.Get(2, 2), "status_changes");
  EXPECT_EQ(dead.Get(2, 3), "t");
  EXPECT_EQ(listener->status().dead_letters, 3u);
  listener->Stop();
}

TEST_F(ListenerTest, AnEmptyObjectTypeAndAnInfiniteCreatedAtAreDeadLetteredNotDroppedOrDatedNow) {
  const int64_t empty_type = InsertRow(conn_, "", "INSERT", EntityUuid(1));
  const int64_t infinite = std::stoll(Scalar(
      conn_, "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data, created_at)"
             " VALUES ('Order', 'INSERT', '" + EntityUuid(2) + "', '{}', 'infinity') RETURNING pk_entity_change_log"));
  const int64_t good = InsertOrder(conn_, 3);
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == good; }));
  EXPECT_THAT(JobPks(), ElementsAre(good));
  EXPECT_THAT(Scalar(conn_, "SELECT reason FROM observer_dead_letters WHERE change_log_pk = " + std::to_string(empty_type)),
              HasSubstr("object_type is empty or NULL"));
  EXPECT_THAT(Scalar(conn_, "SELECT reason FROM observer_dead_letters WHERE change_log_pk = " + std::to_string(infinite)),
              HasSubstr("created_at is 'infinity', not a point in time"));
  listener->Stop();
}

TEST_F(ListenerTest, ALegacyTextObjectIdIsDeadLetteredWithTheRow) {
  MustExecute(conn_, "ALTER TABLE core.tb_entity_change_log ALTER COLUMN object_id TYPE text");
  const int64_t legacy = InsertRow(conn_, "Order", "INSERT", "42");
  const int64_t good = InsertOrder(conn_, 2);
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == good; }));
  EXPECT_THAT(JobPks(), ElementsAre(good));
  EXPECT_THAT(Scalar(conn_, "SELECT reason FROM observer_dead_letters WHERE change_log_pk = " + std::to_string(legacy)),
              HasSubstr("object_id '42' is not a UUID"));
  EXPECT_EQ(Scalar(conn_, "SELECT row_data->>'object_id' FROM observer_dead_letters"), "42");
  listener->Stop();
}

TEST_F(ListenerTest, BatchBoundariesAreRespected) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 5; ++n) pks.push_back(InsertOrder(conn_, n));
  ListenerOptions options = Options();
  options.batch_size = 2;
  std::unique_ptr<Process> listener = Make(options);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  Listener::Status status = listener->status();
  EXPECT_EQ(status.batches_committed, 3u);  // 2 + 2 + 1
  EXPECT_EQ(status.rows_committed, 5u);
  std::optional<Checkpoint> stored = Stored();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->batch_size, 2u);
  EXPECT_EQ(stored->event_count, 1u);
  EXPECT_EQ(stored->total_events, 5);
  listener->Stop();
}

TEST_F(ListenerTest, BatchesEndAtTheByteLimitWhateverTheRowsCompressTo) {
  // Four rows of 200 kB that do not compress, then three of 1 MB that compress to almost
  // nothing in storage (only their text size shows how large they are), then a small one.
  std::vector<int64_t> pks;
  for (int n = 1; n <= 4; ++n) {
    pks.push_back(InsertRow(conn_, "Order", "INSERT", EntityUuid(n),
                            Scalar(conn_, "SELECT jsonb_build_object('n', " + std::to_string(n) +
                                              ", 'blob', (SELECT string_agg(md5(random()::text), '')"
                                              " FROM generate_series(1, 6250)))::text")));
  }
  for (int n = 5; n <= 7; ++n) {
    pks.push_back(InsertRow(conn_, "Order", "INSERT", EntityUuid(n),
                            "{\"n\": " + std::to_string(n) + ", \"blob\": \"" + std::string(1 << 20, 'x') + "\"}"));
  }
  pks.push_back(InsertOrder(conn_, 8));
  ListenerOptions options = Options();
  options.batch_max_bytes = 450 << 10;  // two of the 200 kB rows; a 1 MB row travels alone
  std::unique_ptr<Process> listener = Make(options);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  // [1 2] [3 4] [5] [6] [7] [8]. Stored, rows 5 to 8 weigh a few kB: without measuring the text
  // received, they would have been one batch of 3 MB.
  EXPECT_EQ(listener->status().batches_committed, 6u);
  listener->Stop();
}

TEST_F(ListenerTest, RowsThePostgresRefusesAreSplitOutDeadLetteredAndTheRestFlows) {
  // The server refuses the jobs of marked rows as it refuses a jsonb array over 256 MB: SQLSTATE
  // 54000, "program limit exceeded". Before, only class 22 split a batch; this stalled for good.
  MustExecute(conn_,
              "CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
              " IF NEW.event->'data' ? 'refuse' THEN"
              "   RAISE EXCEPTION 'total size of jsonb array elements exceeds the maximum' USING ERRCODE = '54000';"
              " END IF; RETURN NEW; END $$");
  MustExecute(conn_,
              "CREATE TRIGGER refuse_marked BEFORE INSERT ON observer_jobs FOR EACH ROW EXECUTE FUNCTION refuse_marked()");
  std::vector<int64_t> good;
  std::vector<int64_t> refused;
  for (int n = 1; n <= 20; ++n) {
    if (n == 3 || n == 4 || n == 15) {
      refused.push_back(InsertRow(conn_, "Order", "INSERT", EntityUuid(n), "{\"refuse\": true}"));
    } else {
      good.push_back(InsertOrder(conn_, n));
    }
  }
  const double split_before = metrics::ListenerBatchesSplitTotal().Get().Value();
  const double refused_before = metrics::EventsFailedTotal().WithLabels({"refused_row"}).Value();
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == good.back(); }));
  EXPECT_EQ(JobPks(), good);
  EXPECT_GT(metrics::ListenerBatchesSplitTotal().Get().Value(), split_before);
  EXPECT_EQ(metrics::EventsFailedTotal().WithLabels({"refused_row"}).Value(), refused_before + 3);
  PgResult dead = MustExecute(conn_,
                              "SELECT change_log_pk, reason, entity_type FROM observer_dead_letters "
                              "ORDER BY change_log_pk");
  ASSERT_EQ(dead.rows(), refused.size());
  for (size_t i = 0; i < refused.size(); ++i) {
    EXPECT_EQ(dead.Get(i, 0), std::to_string(refused[i]));
    EXPECT_THAT(std::string(*dead.Get(i, 1)), HasSubstr("SQLSTATE 54000"));
    EXPECT_EQ(dead.Get(i, 2), "Order");
  }
  EXPECT_GT(listener->status().batches_split, 0u);
  EXPECT_EQ(listener->status().last_error, "");  // ready again
  // A row committed afterwards flows at once.
  const int64_t later = InsertOrder(conn_, 21);
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == later; }));
  EXPECT_EQ(JobsFor(later), 1);
  listener->Stop();
}

TEST_F(ListenerTest, ARestartContinuesFromTheCheckpointWithoutDuplicates) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 3; ++n) pks.push_back(InsertOrder(conn_, n));
  {
    std::unique_ptr<Process> first = Make(Options());
    first->Start();
    ASSERT_TRUE(PollUntil([&] { return first->status().position.pk == pks.back(); }));
    first->Stop();
  }
  for (int n = 4; n <= 5; ++n) pks.push_back(InsertOrder(conn_, n));
  std::unique_ptr<Process> second = Make(Options("holder-b"), kLocalQueue);
  second->Start();
  ASSERT_TRUE(PollUntil([&] { return second->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  // Only the new rows went to the new process's local queue.
  EXPECT_EQ(second->queue().hand_over().size(), 2u);
  EXPECT_EQ(Stored()->total_events, 5);
  // The new holder's epoch took the checkpoint over: one failover row in the history.
  EXPECT_EQ(Count(conn_, "SELECT count(*) FROM observer_checkpoints_history WHERE reason LIKE 'failover:%'"), 1);
  second->Stop();
}

TEST_F(ListenerTest, AFraiseqlCheckpointContinuesAfterItsIdNotFromTheStart) {
  // Rows that existed when migration 001 added the txid column all carry that one txid; a
  // checkpoint FraiseQL's observer wrote has last_processed_id only (txid 0).
  MustExecute(conn_,
              "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) "
              "SELECT 'Order', 'INSERT', gen_random_uuid(), jsonb_build_object('n', g) FROM generate_series(1, 5) g");
  const std::vector<int64_t> legacy = [&] {
    PgResult result = MustExecute(conn_, "SELECT pk_entity_change_log FROM core.tb_entity_change_log ORDER BY 1");
    std::vector<int64_t> pks;
    for (size_t row = 0; row < result.rows(); ++row) pks.push_back(std::stoll(std::string(*result.Get(row, 0))));
    return pks;
  }();
  MustExecute(conn_, "INSERT INTO observer_checkpoints (listener_id, last_processed_id, updated_by) VALUES ('main', " +
                         std::to_string(legacy[2]) + ", 'fraiseql')");
  const int64_t later = InsertOrder(conn_, 6);
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == later; }));
  EXPECT_THAT(JobPks(), ElementsAre(legacy[3], legacy[4], later));
  EXPECT_NE(Stored()->position.txid, 0u);
  listener->Stop();
}

TEST_F(ListenerTest, AFraiseqlCheckpointWhoseRowsWerePurgedReadsOnlyWhatFollowsIt) {
  const int64_t a = InsertOrder(conn_, 1);
  const int64_t b = InsertOrder(conn_, 2);
  const int64_t c = InsertOrder(conn_, 3);
  MustExecute(conn_, "DELETE FROM core.tb_entity_change_log WHERE pk_entity_change_log = " + std::to_string(a));
  MustExecute(conn_, "INSERT INTO observer_checkpoints (listener_id, last_processed_id, updated_by) VALUES ('main', " +
                         std::to_string(b) + ", 'fraiseql')");
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == c; }));
  EXPECT_THAT(JobPks(), ElementsAre(c));
  EXPECT_NE(Stored()->position.txid, 0u);
  listener->Stop();
}

TEST_F(ListenerTest, ARowStillUncommittedBehindAFraiseqlCheckpointIsNotSkipped) {
  // FraiseQL's reader went by id alone: it may have passed a row whose transaction was still
  // open. That row must be delivered once it commits.
  PgConnection open = database_.Connect();
  MustExecute(open, "BEGIN");
  const int64_t late = InsertOrder(open, 1);
  const int64_t early = InsertOrder(conn_, 2);
  MustExecute(conn_, "INSERT INTO observer_checkpoints (listener_id, last_processed_id, updated_by) VALUES ('main', " +
                         std::to_string(early) + ", 'fraiseql')");
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  // The takeover wrote its position (with a txid) before the open transaction ends.
  ASSERT_TRUE(PollUntil([&] {
    std::optional<Checkpoint> stored = Stored();
    return stored && stored->position.txid != 0;
  }));
  MustExecute(open, "COMMIT");
  ASSERT_TRUE(PollUntil([&] { return JobsFor(late) == 1; }));
  listener->Stop();
}

TEST_F(ListenerTest, AStaleEpochCannotAdvanceTheCheckpoint) {
  const int64_t a = InsertOrder(conn_, 1);
  ListenerOptions options = Options();
  options.lease_ttl = milliseconds(60'000);  // no renewal during the test: the batch fences it
  std::unique_ptr<Process> listener = Make(options);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == a; }));
  const int64_t epoch = listener->status().lease_epoch;
  // Another process takes the lease over while this one still believes it leads (as after a
  // long pause), and moves the checkpoint to its own epoch.
  MustExecute(conn_, "UPDATE observer_leases SET holder = 'usurper', epoch = epoch + 1 WHERE listener_id = 'main'");
  MustExecute(conn_, "UPDATE observer_checkpoints SET lease_epoch = lease_epoch + 1 WHERE listener_id = 'main'");
  const int64_t b = InsertOrder(conn_, 2);
  // Fenced is counted just after leading is cleared: wait for the count.
  ASSERT_TRUE(PollUntil([&] { return listener->status().fenced >= 1; }));
  EXPECT_FALSE(listener->status().leading);
  EXPECT_EQ(JobsFor(b), 0);
  std::optional<Checkpoint> stored = Stored();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->position.pk, a);
  EXPECT_EQ(stored->lease_epoch, epoch + 1);
  listener->Stop();
}

TEST_F(ListenerTest, TwoListenersWithOneIdOnlyOneReadsAndTheOtherTakesOver) {
  std::unique_ptr<Process> a = Make(Options("holder-a"));
  std::unique_ptr<Process> b = Make(Options("holder-b"));
  a->Start();
  ASSERT_TRUE(PollUntil([&] { return a->status().leading; }));
  b->Start();
  std::vector<int64_t> pks;
  for (int n = 1; n <= 4; ++n) pks.push_back(InsertOrder(conn_, n));
  ASSERT_TRUE(PollUntil([&] { return a->status().position.pk == pks.back(); }));
  EXPECT_FALSE(b->status().leading);
  EXPECT_EQ(b->status().reads, 0u);

  a->Stop();  // releases the lease: b takes over at its next attempt, not after the ttl
  ASSERT_TRUE(PollUntil([&] { return b->status().leading; }));
  EXPECT_GT(b->status().lease_epoch, 0);
  for (int n = 5; n <= 6; ++n) pks.push_back(InsertOrder(conn_, n));
  ASSERT_TRUE(PollUntil([&] { return b->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  EXPECT_EQ(Stored()->updated_by, "holder-b");
  b->Stop();
}

TEST_F(ListenerTest, NotifyWakesTheListenerLongBeforeThePollInterval) {
  ListenerOptions options = Options();
  options.poll_interval = std::chrono::minutes(1);
  options.lease_ttl = std::chrono::minutes(10);  // no renewal wake-ups either
  std::unique_ptr<Process> listener = Make(options);
  listener->Start();
  // Caught up on the empty log and waiting.
  ASSERT_TRUE(PollUntil([&] { return listener->status().leading && listener->status().reads > 0; }));
  const int64_t pk = InsertOrder(conn_, 1);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitForJobs(1));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_EQ(JobsFor(pk), 1);
  listener->Stop();
}

TEST_F(ListenerTest, ReconnectsAfterItsBackendsAreTerminated) {
  const int64_t a = InsertOrder(conn_, 1);
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == a; }));
  // Every connection of the listener (reads, LISTEN, lease) dies, as in a PostgreSQL restart.
  MustExecute(conn_,
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
              "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  const int64_t b = InsertOrder(conn_, 2);
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == b; }));
  EXPECT_THAT(JobPks(), ElementsAre(a, b));
  listener->Stop();
}

TEST_F(ListenerTest, AsynchronousCommitKeepsTheSameResults) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 3; ++n) pks.push_back(InsertOrder(conn_, n));
  std::unique_ptr<Process> listener = Make(Options(), !kLocalQueue, /*synchronous_commit=*/false);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  listener->Stop();
}

TEST_F(ListenerTest, AnOperatorMoveIsFollowed) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 2; ++n) pks.push_back(InsertOrder(conn_, n));
  std::unique_ptr<Process> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == pks.back(); }));
  // Replay from the start: the jobs exist already (same delivery ids), so nothing is doubled.
  PostgresCheckpointStore store(database_.url());
  ASSERT_TRUE(store.MoveTo("main", {}, "replay"));
  pks.push_back(InsertOrder(conn_, 3));
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  EXPECT_EQ(Stored()->lease_epoch, listener->status().lease_epoch);
  listener->Stop();
}

TEST(ListenerOptions, ComeFromTheDatabaseAndPerformanceSections) {
  DatabaseConfig database;
  database.listener_id = "orders";
  database.batch_size = 50;
  database.batch_max_bytes = 1 << 20;
  database.poll_interval = milliseconds(250);
  PerformanceConfig performance;
  performance.backlog_alert_threshold = 7;
  ListenerOptions options = ListenerOptionsFrom(database, performance);
  EXPECT_EQ(options.listener_id, "orders");
  EXPECT_EQ(options.batch_size, 50u);
  EXPECT_EQ(options.batch_max_bytes, size_t{1} << 20);
  EXPECT_EQ(options.poll_interval, milliseconds(250));
  EXPECT_EQ(options.backlog_alert_threshold, 7u);
}

}  // namespace
}  // namespace fraiseql::testing
