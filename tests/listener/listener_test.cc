// The Listener end to end against the real PostgreSQL (label pg): gapless reading across
// out-of-order commits, poison rows, batching, restarts, fencing, failover between two
// listeners, NOTIFY wake-ups and reconnection. Every test has a migrated database of its own.
#include "listener/listener.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checkpoint/postgres_checkpoint_store.h"
#include "config/config.h"
#include "listener_test_util.h"
#include "matcher/matcher.h"
#include "metrics/families.h"

namespace fraiseql::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using std::chrono::milliseconds;

// "orders" takes every Order event; "status_changes" errors on an UPDATE without a pre-image.
constexpr const char* kObservers = R"toml(
[[observers]]
name = "orders"
entity = "Order"
event_type = "*"

[[observers.actions]]
type = "log"
message_template = "order {{ data.n }}"

[[observers]]
name = "status_changes"
entity = "Order"
event_type = "UPDATE"
condition = "field_changed(status)"

[[observers.actions]]
type = "log"
message_template = "status of {{ data.n }}"
)toml";

Config MustConfig(const char* text) {
  LoadResult loaded = LoadConfigString(text, "listener_test.toml");
  if (!loaded.ok()) {
    std::string all;
    for (const Diagnostic& diagnostic : loaded.diagnostics) all += diagnostic.ToString() + "\n";
    throw std::runtime_error("config: " + all);
  }
  return std::move(*loaded.config);
}

// What on_committed received, from the listener's thread.
class Received {
 public:
  void Add(std::vector<Delivery> deliveries) LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    for (Delivery& delivery : deliveries) deliveries_.push_back(std::move(delivery));
  }
  size_t size() const LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return deliveries_.size();
  }
  std::vector<Delivery> all() const LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return deliveries_;
  }

 private:
  mutable Mutex mu_;
  std::vector<Delivery> deliveries_ GUARDED_BY(mu_);
};

class ListenerTest : public ::testing::Test {
 protected:
  ListenerTest() : config_(MustConfig(kObservers)), index_(config_.observers), conn_(database_.Connect()) {}

  ListenerOptions Options(std::string holder = "holder-a") const {
    ListenerOptions options;
    options.database_url = database_.url();
    options.listener_id = "main";
    options.holder = std::move(holder);
    options.poll_interval = milliseconds(200);
    options.lease_ttl = milliseconds(3000);
    options.retry_backoff_min = milliseconds(20);
    options.retry_backoff_max = milliseconds(200);
    return options;
  }

  std::unique_ptr<Listener> Make(ListenerOptions options, PostgresLease& lease, Received* received = nullptr) {
    Listener::OnCommitted on_committed;
    if (received) on_committed = [received](std::vector<Delivery> d) { received->Add(std::move(d)); };
    Result<std::unique_ptr<Listener>> listener =
        Listener::Create(std::move(options), index_, lease, clock_, std::move(on_committed));
    if (!listener) throw std::runtime_error(listener.error().message);
    return std::move(listener).value();
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

  MigratedDatabase database_;
  Config config_;
  ObserverIndex index_;
  SystemClock clock_;
  PgConnection conn_;
};

TEST_F(ListenerTest, HandsRowsToTheJobQueueClaimedAndAdvancesTheCheckpoint) {
  const int64_t a = InsertOrder(conn_, 1);
  const int64_t b = InsertOrder(conn_, 2);
  const double processed_before = metrics::EventsProcessedTotal().Get().Value();
  PostgresLease lease(database_.url());
  Received received;
  std::unique_ptr<Listener> listener = Make(Options(), lease, &received);
  listener->Start();
  ASSERT_TRUE(WaitForJobs(2));
  ASSERT_TRUE(PollUntil([&] { return received.size() == 2; }));
  EXPECT_THAT(JobPks(), ElementsAre(a, b));
  // Inserted already claimed by this process: its local queue runs them.
  EXPECT_EQ(Count(conn_, "SELECT count(*) FROM observer_jobs WHERE locked_by = 'holder-a' AND locked_until > now()"),
            2);
  std::vector<Delivery> deliveries = received.all();
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

TEST_F(ListenerTest, OutOfOrderCommitIsDeliveredExactlyOnce) {
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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

TEST_F(ListenerTest, ALegacyTextObjectIdIsDeadLetteredWithTheRow) {
  MustExecute(conn_, "ALTER TABLE core.tb_entity_change_log ALTER COLUMN object_id TYPE text");
  const int64_t legacy = InsertRow(conn_, "Order", "INSERT", "42");
  const int64_t good = InsertOrder(conn_, 2);
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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
  PostgresLease lease(database_.url());
  ListenerOptions options = Options();
  options.batch_size = 2;
  std::unique_ptr<Listener> listener = Make(options, lease);
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

TEST_F(ListenerTest, ARestartContinuesFromTheCheckpointWithoutDuplicates) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 3; ++n) pks.push_back(InsertOrder(conn_, n));
  PostgresLease lease(database_.url());
  {
    std::unique_ptr<Listener> first = Make(Options(), lease);
    first->Start();
    ASSERT_TRUE(PollUntil([&] { return first->status().position.pk == pks.back(); }));
    first->Stop();
  }
  for (int n = 4; n <= 5; ++n) pks.push_back(InsertOrder(conn_, n));
  Received received;
  PostgresLease other_process(database_.url());
  std::unique_ptr<Listener> second = Make(Options("holder-b"), other_process, &received);
  second->Start();
  ASSERT_TRUE(PollUntil([&] { return second->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  // Only the new rows went to the new process's local queue.
  EXPECT_EQ(received.size(), 2u);
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
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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
  PostgresLease lease(database_.url());
  ListenerOptions options = Options();
  options.lease_ttl = milliseconds(60'000);  // no renewal during the test: the batch fences it
  std::unique_ptr<Listener> listener = Make(options, lease);
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
  PostgresLease lease_a(database_.url());
  PostgresLease lease_b(database_.url());
  std::unique_ptr<Listener> a = Make(Options("holder-a"), lease_a);
  std::unique_ptr<Listener> b = Make(Options("holder-b"), lease_b);
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
  PostgresLease lease(database_.url());
  ListenerOptions options = Options();
  options.poll_interval = std::chrono::minutes(1);
  options.lease_ttl = std::chrono::minutes(10);  // no renewal wake-ups either
  std::unique_ptr<Listener> listener = Make(options, lease);
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
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == a; }));
  // Every connection of the listener (reads, LISTEN, lease) dies, as in a PostgreSQL restart.
  MustExecute(conn_,
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
              "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  const int64_t b = InsertOrder(conn_, 2);
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == b; }));
  EXPECT_THAT(JobPks(), ElementsAre(a, b));
  EXPECT_GE(listener->status().reconnects, 1u);
  listener->Stop();
}

TEST_F(ListenerTest, AsynchronousCommitKeepsTheSameResults) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 3; ++n) pks.push_back(InsertOrder(conn_, n));
  PostgresLease lease(database_.url());
  ListenerOptions options = Options();
  options.synchronous_commit = false;
  std::unique_ptr<Listener> listener = Make(options, lease);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == pks.back(); }));
  EXPECT_EQ(JobPks(), pks);
  listener->Stop();
}

TEST_F(ListenerTest, AnOperatorMoveIsFollowed) {
  std::vector<int64_t> pks;
  for (int n = 1; n <= 2; ++n) pks.push_back(InsertOrder(conn_, n));
  PostgresLease lease(database_.url());
  std::unique_ptr<Listener> listener = Make(Options(), lease);
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

TEST(ListenerOptions, ComeFromTheDatabaseSection) {
  DatabaseConfig database;
  database.listener_id = "orders";
  database.batch_size = 50;
  database.poll_interval = milliseconds(250);
  database.synchronous_commit = false;
  ListenerOptions options = ListenerOptionsFrom(database, Secret("postgresql://x/y"));
  EXPECT_EQ(options.listener_id, "orders");
  EXPECT_EQ(options.change_log_table, "core.tb_entity_change_log");
  EXPECT_EQ(options.batch_size, 50u);
  EXPECT_EQ(options.poll_interval, milliseconds(250));
  EXPECT_FALSE(options.synchronous_commit);
  EXPECT_EQ(options.database_url.Reveal(), "postgresql://x/y");
}

TEST(ListenerCreate, RejectsUnusableOptions) {
  Config config = MustConfig(kObservers);
  ObserverIndex index(config.observers);
  PostgresLease lease(Secret("postgresql://127.0.0.1:1/none"));
  SystemClock clock;
  ListenerOptions options;
  options.listener_id = "";
  EXPECT_EQ(Listener::Create(options, index, lease, clock, nullptr).error().code, ErrorCode::kInvalidArgument);
  options.listener_id = "x";
  options.poll_interval = milliseconds(0);
  EXPECT_EQ(Listener::Create(options, index, lease, clock, nullptr).error().code, ErrorCode::kInvalidArgument);
  options.poll_interval = milliseconds(10);
  Result<std::unique_ptr<Listener>> made = Listener::Create(options, index, lease, clock, nullptr);
  ASSERT_TRUE(made);
  EXPECT_FALSE((*made)->options().holder.empty());  // DefaultLeaseHolder()
}

}  // namespace
}  // namespace fraiseql::testing
