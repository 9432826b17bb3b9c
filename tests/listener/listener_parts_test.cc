// The listener's PostgreSQL parts against the real server: the gapless ChangeLogReader, the lease
// store (under the LeaseStore contract, plus what only it does) and the NOTIFY wake-up. Every test
// has a migrated database of its own.
#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checkpoint/postgres_checkpoint_store.h"
#include "event/entity_event.h"
#include "listener/change_log_reader.h"
#include "lease_contract.h"
#include "listener/postgres_lease.h"
#include "listener/notify_wakeup.h"
#include "listener_test_util.h"

namespace fraiseql::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::chrono::milliseconds;

ChangeLogReader MustReader(PgConnection& conn, std::string_view table = "core.tb_entity_change_log") {
  Result<ChangeLogReader> reader = ChangeLogReader::Create(conn, table);
  if (!reader) throw std::runtime_error(reader.error().message);
  return std::move(reader).value();
}

std::vector<int64_t> Pks(const std::vector<ChangeLogEntry>& entries) {
  std::vector<int64_t> pks;
  for (const ChangeLogEntry& entry : entries) pks.push_back(entry.position.pk);
  return pks;
}

// Reads until at least `count` rows come back (other tests' transactions may hold rows back
// for a while: the xmin rule is cluster-wide).
std::vector<ChangeLogEntry> ReadAtLeast(const ChangeLogReader& reader, PgConnection& conn, ChangeLogPosition after,
                                        size_t limit, size_t count) {
  std::vector<ChangeLogEntry> entries;
  EXPECT_TRUE(PollUntil([&] {
    Result<std::vector<ChangeLogEntry>> read = reader.ReadBatch(conn, after, ReadLimits{limit});
    if (!read) throw std::runtime_error(read.error().message);
    entries = std::move(read).value();
    return entries.size() >= count;
  })) << "only " << entries.size() << " rows";
  return entries;
}

// --- ChangeLogReader ------------------------------------------------------------------------

TEST(ChangeLogReader, ReadsInTxidPkOrderAfterThePositionUpToTheLimit) {
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  const int64_t a = InsertOrder(conn, 1);
  const int64_t b = InsertOrder(conn, 2);
  const int64_t c = InsertOrder(conn, 3);
  ChangeLogReader reader = MustReader(conn);

  std::vector<ChangeLogEntry> all = ReadAtLeast(reader, conn, {}, 10, 3);
  EXPECT_THAT(Pks(all), ElementsAre(a, b, c));
  EXPECT_LT(all[0].position, all[1].position);
  std::vector<ChangeLogEntry> two = ReadAtLeast(reader, conn, {}, 2, 2);
  EXPECT_THAT(Pks(two), ElementsAre(a, b));
  std::vector<ChangeLogEntry> rest = ReadAtLeast(reader, conn, two.back().position, 10, 1);
  EXPECT_THAT(Pks(rest), ElementsAre(c));
  Result<std::vector<ChangeLogEntry>> none = reader.ReadBatch(conn, all.back().position, ReadLimits{10});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(ChangeLogReader, OrdersByTheNumbersNotTheirText) {
  // pks 1..250 in one transaction (one txid): as text, "99" sorts after "200" and "1000" before
  // "2". Reading 40 at a time must return each row once, in pk order.
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  ASSERT_TRUE(conn.Execute("INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, "
                           "object_data) SELECT 'Order', 'INSERT', gen_random_uuid(), jsonb_build_object('n', g) "
                           "FROM generate_series(1, 250) g"));
  ChangeLogReader reader = MustReader(conn);
  std::vector<int64_t> read;
  ChangeLogPosition position{};
  for (int round = 0; round < 20 && read.size() < 250; ++round) {
    std::vector<ChangeLogEntry> batch = ReadAtLeast(reader, conn, position, 40, 1);
    for (const ChangeLogEntry& entry : batch) {
      EXPECT_GT(entry.position, position);
      position = entry.position;
      read.push_back(entry.position.pk);
    }
  }
  std::vector<int64_t> expected;
  Result<PgResult> all = conn.Execute("SELECT pk_entity_change_log FROM core.tb_entity_change_log ORDER BY 1");
  ASSERT_TRUE(all);
  for (size_t row = 0; row < all->rows(); ++row) expected.push_back(std::stoll(std::string(*all->Get(row, 0))));
  ASSERT_EQ(expected.size(), 250u);
  EXPECT_EQ(read, expected);
}

TEST(ChangeLogReader, ConvertsTheColumnsAnEventNeeds) {
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  MustExecute(conn,
              "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data, "
              "object_data_before, tenant_id, fk_contact, duration_ms, actor_type, extra_metadata, created_at) "
              "VALUES ('Order', 'UPDATE', '00000000-0000-4000-8000-000000000007', '{\"total\": 5}', "
              "'{\"total\": 4}', '11111111-2222-4333-8444-555555555555', 42, 12, 'user', "
              "'{\"cdc_source\": \"fallback_trigger\"}', '2026-11-29 12:00:00.5+00')");
  ChangeLogReader reader = MustReader(conn);
  std::vector<ChangeLogEntry> entries = ReadAtLeast(reader, conn, {}, 10, 1);
  ASSERT_TRUE(entries[0].row) << entries[0].row.error().message;
  const ChangeLogRow& row = *entries[0].row;
  EXPECT_EQ(row.pk, entries[0].position.pk);
  EXPECT_EQ(row.created_at, "2026-11-29T12:00:00.500000Z");
  EXPECT_EQ(row.fk_contact, 42);
  EXPECT_EQ(row.duration_ms, 12);
  EXPECT_TRUE(row.seq.has_value());
  EXPECT_EQ(row.object_data_before, nlohmann::json({{"total", 4}}));
  SystemClock clock;
  Result<EntityEvent> event = FromChangeLogRow(row, clock);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->event_type, EventKind::kUpdate);
  EXPECT_EQ(event->entity_id, "00000000-0000-4000-8000-000000000007");
  EXPECT_EQ(event->changes, nlohmann::json({{"total", {{"old", 4}, {"new", 5}}}}));
  EXPECT_EQ(event->cdc_source, "fallback_trigger");
  EXPECT_EQ(FormatTimestamp(event->timestamp), "2026-11-29T12:00:00.500000Z");
}

TEST(ChangeLogReader, HoldsBackRowsBehindAnOlderRunningTransaction) {
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  ChangeLogReader reader = MustReader(conn);
  // T1 takes its transaction id first (so it is older), then T2 writes and commits.
  PgConnection t1 = database.Connect();
  MustExecute(t1, "BEGIN");
  MustExecute(t1, "SELECT pg_current_xact_id()");
  const int64_t later = InsertOrder(conn, 2);  // autocommit: T2

  Result<std::vector<ChangeLogEntry>> held = reader.ReadBatch(conn, {}, ReadLimits{10});
  ASSERT_TRUE(held) << held.error().message;
  EXPECT_TRUE(held->empty()) << "a row newer than a running transaction was read";
  Result<bool> held_back = reader.HasHeldBackRows(conn, {});
  ASSERT_TRUE(held_back);
  EXPECT_TRUE(*held_back);

  const int64_t earlier = InsertOrder(t1, 1);
  MustExecute(t1, "COMMIT");
  // T1's row has the smaller txid: it comes first although its pk is larger.
  std::vector<ChangeLogEntry> entries = ReadAtLeast(reader, conn, {}, 10, 2);
  EXPECT_THAT(Pks(entries), ElementsAre(earlier, later));
  EXPECT_GT(earlier, later);
}

TEST(ChangeLogReader, LegacyTextColumnsArriveAndBadValuesAreReportedPerRow) {
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  MustExecute(conn, "ALTER TABLE core.tb_entity_change_log ALTER COLUMN object_id TYPE text");
  MustExecute(conn, "ALTER TABLE core.tb_entity_change_log ALTER COLUMN fk_contact TYPE text");
  InsertRow(conn, "Order", "INSERT", "42");
  MustExecute(conn,
              "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, fk_contact) "
              "VALUES ('Order', 'INSERT', '00000000-0000-4000-8000-000000000001', 'not-a-number')");
  InsertOrder(conn, 3);
  ChangeLogReader reader = MustReader(conn);
  std::vector<ChangeLogEntry> entries = ReadAtLeast(reader, conn, {}, 10, 3);
  ASSERT_TRUE(entries[0].row);
  EXPECT_EQ(entries[0].row->object_id, "42");
  SystemClock clock;
  Result<EntityEvent> event = FromChangeLogRow(*entries[0].row, clock);
  ASSERT_FALSE(event);
  EXPECT_THAT(event.error().message, HasSubstr("object_id '42' is not a UUID"));

  ASSERT_FALSE(entries[1].row);
  EXPECT_THAT(entries[1].row.error().message, HasSubstr("fk_contact 'not-a-number' is not an integer"));
  EXPECT_EQ(entries[1].raw["fk_contact"], "not-a-number");
  EXPECT_EQ(entries[1].raw["object_type"], "Order");
  EXPECT_TRUE(entries[2].row);
}

TEST(ChangeLogReader, QuotesTheConfiguredTableName) {
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  for (const char* bad : {"", "a.b.c", ".table", "schema."}) {
    Result<ChangeLogReader> reader = ChangeLogReader::Create(conn, bad);
    ASSERT_FALSE(reader) << bad;
    EXPECT_EQ(reader.error().code, ErrorCode::kInvalidArgument);
  }
  // Injection attempts become (missing) identifiers, never SQL.
  ChangeLogReader evil = MustReader(conn, "core.x\"; DROP TABLE observer_jobs; --");
  Result<std::vector<ChangeLogEntry>> read = evil.ReadBatch(conn, {}, ReadLimits{1});
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message, HasSubstr("SQLSTATE 42P01"));
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('observer_jobs') IS NOT NULL"), "t");

  // A case-sensitive name in another schema works as written.
  MustExecute(conn, "CREATE SCHEMA app");
  MustExecute(conn, "CREATE TABLE app.\"ChangeLog\" (LIKE core.tb_entity_change_log INCLUDING ALL)");
  ChangeLogReader mixed = MustReader(conn, "app.ChangeLog");
  EXPECT_EQ(mixed.quoted_table(), "\"app\".\"ChangeLog\"");
  Result<std::vector<ChangeLogEntry>> empty = mixed.ReadBatch(conn, {}, ReadLimits{1});
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->empty());
}

TEST(ChangeLogReader, UsesTheTxidPkIndex) {
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  // A log of some size, with statistics, as the planner would see it in production.
  MustExecute(conn,
              "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id) "
              "SELECT 'Order', 'INSERT', gen_random_uuid() FROM generate_series(1, 20000)");
  MustExecute(conn, "ANALYZE core.tb_entity_change_log");
  PgResult plan = MustExecute(
      conn,
      "EXPLAIN SELECT * FROM core.tb_entity_change_log "
      "WHERE (txid, pk_entity_change_log) > ('5'::xid8, 7::bigint) "
      "AND txid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY txid, pk_entity_change_log LIMIT 10");
  std::string text;
  for (size_t row = 0; row < plan.rows(); ++row) text += std::string(plan.Get(row, 0).value_or("")) + "\n";
  EXPECT_THAT(text, HasSubstr("Scan using idx_entity_log_txid_pk")) << text;
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Sort"))) << text;
}

TEST(ChangeLogReader, EstimatesTheBacklog) {
  MigratedDatabase database;
  PgConnection conn = database.Connect();
  ChangeLogReader reader = MustReader(conn);
  Result<BacklogEstimate> empty = reader.EstimateBacklog(conn, {});
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(empty->rows, 0);
  EXPECT_EQ(empty->lag_seconds, 0.0);
  MustExecute(conn,
              "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, created_at) "
              "SELECT 'Order', 'INSERT', gen_random_uuid(), now() - interval '1 hour' FROM generate_series(1, 5)");
  Result<BacklogEstimate> five = reader.EstimateBacklog(conn, {});
  ASSERT_TRUE(five);
  EXPECT_EQ(five->rows, 5);
  EXPECT_GE(five->lag_seconds, 3599.0);
  std::vector<ChangeLogEntry> entries = ReadAtLeast(reader, conn, {}, 10, 5);
  Result<BacklogEstimate> caught_up = reader.EstimateBacklog(conn, entries.back().position);
  ASSERT_TRUE(caught_up);
  EXPECT_EQ(caught_up->rows, 0);
  EXPECT_EQ(caught_up->lag_seconds, 0.0);
}

// --- PostgresLeaseStore ---------------------------------------------------------------------

constexpr milliseconds kLongTtl{60'000};

class PostgresLeaseBackend final : public LeaseBackend {
 public:
  LeaseStore& leases() override { return leases_; }
  void Expire(std::string_view listener_id) override {
    database_.Execute("UPDATE observer_leases SET expires_at = now() - interval '1 second' WHERE listener_id = $1",
                      {std::string(listener_id)});
  }

 private:
  MigratedDatabase database_{"lease"};
  PostgresLeaseStore leases_{database_.url()};
};

FRAISEQL_CONTRACT_BACKEND(LeaseStoreContract, Postgres, PostgresLeaseBackend);

TEST(PostgresLease, AnExpiredLeaseIsTakenOverByTheDatabaseClock) {
  MigratedDatabase database;
  PostgresLeaseStore lease(database.url());
  Result<std::optional<Lease>> a = lease.TryAcquire("l1", "a", milliseconds(300));
  ASSERT_TRUE(a && *a);
  std::optional<Lease> b;
  ASSERT_TRUE(PollUntil([&] {
    Result<std::optional<Lease>> attempt = lease.TryAcquire("l1", "b", kLongTtl);
    if (!attempt) throw std::runtime_error(attempt.error().message);
    b = *attempt;
    return b.has_value();
  }));
  EXPECT_EQ(b->epoch, 2);
  PgConnection conn = database.Connect();
  EXPECT_EQ(Scalar(conn, "SELECT holder FROM observer_leases WHERE listener_id = 'l1'"), "b");
}

// Fast failover: a holder keeps the lease's advisory lock on its connection, and PostgreSQL frees
// it when that connection ends; a standby then takes the lease long before it expires.
std::optional<Lease> PollForLease(PostgresLeaseStore& store, std::string_view holder) {
  std::optional<Lease> lease;
  EXPECT_TRUE(PollUntil([&] {
    Result<std::optional<Lease>> attempt = store.TryAcquire("l1", holder, kLongTtl);
    if (!attempt) throw std::runtime_error(attempt.error().message);
    lease = *attempt;
    return lease.has_value();
  }));
  return lease;
}

std::string SessionLock(const MigratedDatabase& database) {
  return database.Value("SELECT session_lock FROM observer_leases WHERE listener_id = 'l1'").value_or("");
}

TEST(PostgresLease, AHolderWhoseConnectionIsGoneIsTakenOverLongBeforeExpiry) {
  MigratedDatabase database;
  PostgresLeaseStore standby(database.url());
  {
    PostgresLeaseStore holder(database.url());
    Result<std::optional<Lease>> a = holder.TryAcquire("l1", "a", kLongTtl);
    ASSERT_TRUE(a && *a);
    EXPECT_EQ((*a)->acquired_because, "no holder before");
    EXPECT_EQ(SessionLock(database), "t");
    Result<std::optional<Lease>> refused = standby.TryAcquire("l1", "b", kLongTtl);
    ASSERT_TRUE(refused);
    EXPECT_FALSE(*refused);  // the holder's connection is open: its lease stands
  }  // the holder's connection closes, as when its process dies
  // PollUntil's deadline (well under the 60 s ttl) means only the freed lock can let it in.
  std::optional<Lease> b = PollForLease(standby, "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->epoch, 2);
  EXPECT_EQ(b->acquired_because, "a's connection is gone (its advisory lock was free)");
  EXPECT_EQ(SessionLock(database), "t");
}

// SIGSTOP of a holder for longer than its ttl: its connection (and lock) stay, so the standby
// waits for the expiry and leads without the lock; the woken holder finds its lease gone, gives
// the lock back, and the new holder takes it at its next renewal, so its own death is again
// noticed at once.
TEST(PostgresLease, AFrozenHolderIsTakenOverAtExpiryAndHandsTheLockOnWhenItWakes) {
  MigratedDatabase database;
  PostgresLeaseStore frozen(database.url());
  PostgresLeaseStore standby(database.url());
  Result<std::optional<Lease>> a = frozen.TryAcquire("l1", "a", milliseconds(300));
  ASSERT_TRUE(a && *a);
  std::optional<Lease> b = PollForLease(standby, "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->acquired_because, "the lease of a expired or was released");
  EXPECT_EQ(SessionLock(database), "f");

  Result<std::optional<Lease>> woken = frozen.Renew(**a, kLongTtl);
  ASSERT_TRUE(woken);
  EXPECT_FALSE(*woken);  // taken over: it stops reading, and its lock is given back
  Result<std::optional<Lease>> renewed = standby.Renew(*b, kLongTtl);
  ASSERT_TRUE(renewed && *renewed);
  EXPECT_EQ(SessionLock(database), "t");

  Result<std::optional<Lease>> refused = frozen.TryAcquire("l1", "a", kLongTtl);
  ASSERT_TRUE(refused);
  EXPECT_FALSE(*refused);
}

// A free lock proves nothing about a holder that never had it: a standby that takes it must not
// depose a live holder, and must give it back so the holder can take it.
TEST(PostgresLease, AStandbyWithTheLockCannotDeposeAHolderThatNeverHadIt) {
  MigratedDatabase database;
  PgConnection squatter = database.Connect();
  ASSERT_TRUE(squatter.Execute("SELECT pg_advisory_lock(hashtextextended('fraiseql-observer lease l1', 0))"));
  PostgresLeaseStore holder(database.url());
  Result<std::optional<Lease>> a = holder.TryAcquire("l1", "a", kLongTtl);
  ASSERT_TRUE(a && *a);  // leads, but without the lock
  EXPECT_EQ(SessionLock(database), "f");
  ASSERT_TRUE(squatter.Execute("SELECT pg_advisory_unlock(hashtextextended('fraiseql-observer lease l1', 0))"));

  PostgresLeaseStore standby(database.url());
  Result<std::optional<Lease>> refused = standby.TryAcquire("l1", "b", kLongTtl);
  ASSERT_TRUE(refused);
  EXPECT_FALSE(*refused);
  Result<std::optional<Lease>> renewed = holder.Renew(**a, kLongTtl);
  ASSERT_TRUE(renewed && *renewed);
  EXPECT_EQ(SessionLock(database), "t");  // the standby gave the lock back
}

// One store, two holders (as in tests): the one that fails to take the lease must not give the
// other's lock back.
TEST(PostgresLease, ARefusedHolderLeavesAnotherHoldersLockOnTheSameConnection) {
  MigratedDatabase database;
  PostgresLeaseStore store(database.url());
  Result<std::optional<Lease>> a = store.TryAcquire("l1", "a", kLongTtl);
  ASSERT_TRUE(a && *a);
  Result<std::optional<Lease>> b = store.TryAcquire("l1", "b", kLongTtl);
  ASSERT_TRUE(b);
  EXPECT_FALSE(*b);
  EXPECT_EQ(database.Count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
                           "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            1);
  PostgresLeaseStore standby(database.url());
  Result<std::optional<Lease>> c = standby.TryAcquire("l1", "c", kLongTtl);
  ASSERT_TRUE(c);
  EXPECT_FALSE(*c);  // a's lock still stands for it
}

TEST(PostgresLease, EpochsStartAboveTheStoredCheckpoint) {
  MigratedDatabase database;
  PostgresCheckpointStore store(database.url());
  Checkpoint checkpoint;
  checkpoint.listener_id = "l1";
  checkpoint.lease_epoch = 7;
  ASSERT_TRUE(store.Save(checkpoint));
  PostgresLeaseStore lease(database.url());
  Result<std::optional<Lease>> a = lease.TryAcquire("l1", "a", kLongTtl);
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->epoch, 8);
  // Someone writes a newer epoch into the checkpoint: even the same holder moves above it.
  checkpoint.lease_epoch = 12;
  ASSERT_TRUE(store.Save(checkpoint));
  Result<std::optional<Lease>> again = lease.TryAcquire("l1", "a", kLongTtl);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->epoch, 13);
}

TEST(PostgresLease, HeldInTransactionChecksHolderEpochAndExpiry) {
  MigratedDatabase database;
  PostgresLeaseStore lease(database.url());
  Result<std::optional<Lease>> a = lease.TryAcquire("l1", "a", kLongTtl);
  ASSERT_TRUE(a && *a);
  PgConnection tx = database.Connect();
  MustExecute(tx, "BEGIN");
  Result<bool> held = PostgresLeaseStore::HeldInTransaction(tx, **a);
  ASSERT_TRUE(held) << held.error().message;
  EXPECT_TRUE(*held);
  MustExecute(tx, "COMMIT");
  Lease stale = **a;
  stale.epoch = 0;
  EXPECT_FALSE(PostgresLeaseStore::HeldInTransaction(tx, stale).value());
  ASSERT_TRUE(lease.Release(**a));
  EXPECT_FALSE(PostgresLeaseStore::HeldInTransaction(tx, **a).value());
}

TEST(PostgresLease, ReportsAnUnreachableDatabase) {
  PostgresLeaseStore nowhere(Secret("postgresql://postgres@127.0.0.1:" + std::to_string(UnusedLoopbackPort()) + "/x"),
                             milliseconds(2000));
  EXPECT_EQ(nowhere.TryAcquire("l1", "a", kLongTtl).error().code, ErrorCode::kUnavailable);
}

TEST(PostgresLease, SurvivesATerminatedConnection) {
  MigratedDatabase database;
  PostgresLeaseStore lease(database.url());
  ASSERT_TRUE(lease.TryAcquire("l1", "a", kLongTtl));
  PgConnection admin = database.Connect();
  MustExecute(admin,
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
              "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  Result<std::optional<Lease>> again = lease.TryAcquire("l1", "a", kLongTtl);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(*again);
}

// --- NotifyWakeup ---------------------------------------------------------------------------

NotifyWakeup MustWakeup() {
  Result<NotifyWakeup> wakeup = NotifyWakeup::Create();
  if (!wakeup) throw std::runtime_error(wakeup.error().message);
  return std::move(wakeup).value();
}

TEST(NotifyWakeup, WakesOnAChangeLogInsert) {
  MigratedDatabase database;
  NotifyWakeup wakeup = MustWakeup();
  ASSERT_TRUE(wakeup.Listen(database.url(), kChangeLogChannel, milliseconds(5000)));
  EXPECT_TRUE(wakeup.listening());
  EXPECT_GT(wakeup.backend_pid(), 0);
  Result<size_t> none = wakeup.Drain();
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
  PgConnection conn = database.Connect();
  InsertOrder(conn, 1);  // the statement trigger of migrations/001 notifies
  // Far longer than the test's own deadline: only the notification can end this wait in time.
  const auto start = std::chrono::steady_clock::now();
  Result<NotifyWakeup::Wake> wake = wakeup.Wait(std::chrono::minutes(5));
  ASSERT_TRUE(wake) << wake.error().message;
  EXPECT_EQ(*wake, NotifyWakeup::Wake::kNotified);
  EXPECT_LT(std::chrono::steady_clock::now() - start, kPollDeadline);
}

TEST(NotifyWakeup, TimesOutWhenNothingHappens) {
  MigratedDatabase database;
  NotifyWakeup wakeup = MustWakeup();
  ASSERT_TRUE(wakeup.Listen(database.url(), kChangeLogChannel, milliseconds(5000)));
  const auto start = std::chrono::steady_clock::now();
  Result<NotifyWakeup::Wake> wake = wakeup.Wait(milliseconds(50));
  ASSERT_TRUE(wake);
  EXPECT_EQ(*wake, NotifyWakeup::Wake::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(50));
}

TEST(NotifyWakeup, InterruptEndsAWaitFromAnotherThread) {
  NotifyWakeup wakeup = MustWakeup();  // not listening: a plain interruptible sleep
  std::atomic<bool> waiting{false};
  std::jthread interrupter([&] {
    while (!waiting.load()) std::this_thread::yield();
    wakeup.Interrupt();
  });
  waiting = true;
  Result<NotifyWakeup::Wake> wake = wakeup.Wait(std::chrono::minutes(5));
  ASSERT_TRUE(wake);
  EXPECT_EQ(*wake, NotifyWakeup::Wake::kInterrupted);
  // Sticky until cleared.
  EXPECT_EQ(wakeup.Wait(std::chrono::minutes(5)).value(), NotifyWakeup::Wake::kInterrupted);
  wakeup.ClearInterrupt();
  EXPECT_EQ(wakeup.Wait(milliseconds(1)).value(), NotifyWakeup::Wake::kTimeout);
}

TEST(NotifyWakeup, ReportsALostConnection) {
  MigratedDatabase database;
  NotifyWakeup wakeup = MustWakeup();
  ASSERT_TRUE(wakeup.Listen(database.url(), kChangeLogChannel, milliseconds(5000)));
  PgConnection admin = database.Connect();
  MustExecute(admin, "SELECT pg_terminate_backend(" + std::to_string(wakeup.backend_pid()) + ")");
  Result<NotifyWakeup::Wake> wake = wakeup.Wait(std::chrono::minutes(5));
  ASSERT_FALSE(wake);
  EXPECT_EQ(wake.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(wakeup.listening());
  // Listening again works.
  ASSERT_TRUE(wakeup.Listen(database.url(), kChangeLogChannel, milliseconds(5000)));
}

}  // namespace
}  // namespace fraiseql::testing
