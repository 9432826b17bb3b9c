// PostgresCheckpointStore under the CheckpointStore contract, plus what only it does: the
// in-transaction compare-and-swap of the listener's batch, and surviving a lost connection.
// Every test has a database of its own (ScratchDatabase) with the migrations applied.
#include "checkpoint/postgres_checkpoint_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checkpoint_store_contract.h"
#include "testing/migrated_database.h"

namespace fraiseql::testing {
namespace {

class PostgresBackend final : public CheckpointBackend {
 public:
  CheckpointStore& store() override { return store_; }

 private:
  MigratedDatabase database_{"ckpt"};
  PostgresCheckpointStore store_{database_.url()};
};

FRAISEQL_CONTRACT_BACKEND(CheckpointStoreContract, Postgres, PostgresBackend);

Checkpoint At(int64_t epoch, ChangeLogPosition position) {
  Checkpoint checkpoint;
  checkpoint.listener_id = "l1";
  checkpoint.lease_epoch = epoch;
  checkpoint.position = position;
  return checkpoint;
}

void Exec(PgConnection& conn, std::string_view sql) {
  Result<PgResult> result = conn.Execute(sql);
  ASSERT_TRUE(result) << sql << ": " << result.error().message;
}

TEST(PostgresCheckpointStore, InTransactionSwapCommitsAndRollsBackWithTheTransaction) {
  MigratedDatabase database{"ckpt"};
  PostgresCheckpointStore store(database.url());
  ASSERT_TRUE(store.CompareAndSwap("l1", 0, {}, At(1, {10, 1})));

  PgConnection tx = database.Connect();
  Exec(tx, "BEGIN");
  Result<bool> swapped = PostgresCheckpointStore::CompareAndSwapInTransaction(tx, "l1", 1, {10, 1}, At(1, {20, 2}));
  ASSERT_TRUE(swapped) << swapped.error().message;
  EXPECT_TRUE(*swapped);
  // Not visible before the commit...
  EXPECT_EQ(store.Load("l1").value()->position, (ChangeLogPosition{10, 1}));
  Exec(tx, "ROLLBACK");
  // ...and gone with the rollback.
  EXPECT_EQ(store.Load("l1").value()->position, (ChangeLogPosition{10, 1}));

  Exec(tx, "BEGIN");
  ASSERT_TRUE(PostgresCheckpointStore::CompareAndSwapInTransaction(tx, "l1", 1, {10, 1}, At(1, {20, 2})).value());
  Exec(tx, "COMMIT");
  EXPECT_EQ(store.Load("l1").value()->position, (ChangeLogPosition{20, 2}));
  Result<std::optional<Checkpoint>> loaded = PostgresCheckpointStore::LoadWith(tx, "l1");
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)->position, (ChangeLogPosition{20, 2}));
}

TEST(PostgresCheckpointStore, AStaleEpochIsFencedInsideATransactionToo) {
  // A paused leader (epoch 1) resumes inside its batch transaction after a failover to epoch 2.
  MigratedDatabase database{"ckpt"};
  PostgresCheckpointStore store(database.url());
  ASSERT_TRUE(store.CompareAndSwap("l1", 0, {}, At(1, {10, 1})));
  ASSERT_TRUE(store.CompareAndSwap("l1", 1, {10, 1}, At(2, {10, 1})).value());

  PgConnection old_leader = database.Connect();
  Exec(old_leader, "BEGIN");
  Result<bool> stale = PostgresCheckpointStore::CompareAndSwapInTransaction(old_leader, "l1", 1, {10, 1},
                                                                            At(1, {30, 1}));
  ASSERT_TRUE(stale);
  EXPECT_FALSE(*stale);
  Exec(old_leader, "ROLLBACK");
  EXPECT_EQ(store.Load("l1").value()->lease_epoch, 2);
}

TEST(PostgresCheckpointStore, WritesTheTableColumnsOperatorsRead) {
  MigratedDatabase database{"ckpt"};
  PostgresCheckpointStore store(database.url());
  Checkpoint checkpoint = At(3, {9'000'000'000ULL, 77});
  checkpoint.updated_by = "host:1:ab";
  ASSERT_TRUE(store.CompareAndSwap("l1", 0, {}, checkpoint));
  PgConnection conn = database.Connect();
  Result<PgResult> row = conn.Execute(
      "SELECT last_processed_txid::text, last_processed_id, lease_epoch, updated_by FROM observer_checkpoints "
      "WHERE listener_id = 'l1'");
  ASSERT_TRUE(row) << row.error().message;
  ASSERT_EQ(row->rows(), 1u);
  EXPECT_EQ(row->Get(0, 0), "9000000000");
  EXPECT_EQ(row->Get(0, 1), "77");
  EXPECT_EQ(row->Get(0, 2), "3");
  EXPECT_EQ(row->Get(0, 3), "host:1:ab");
}

TEST(PostgresCheckpointStore, ReconnectsAfterItsBackendIsTerminated) {
  MigratedDatabase database{"ckpt"};
  PostgresCheckpointStore store(database.url());
  ASSERT_TRUE(store.CompareAndSwap("l1", 0, {}, At(1, {10, 1})));
  PgConnection admin = database.Connect();
  Exec(admin,
       "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
       "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  Result<std::optional<Checkpoint>> loaded = store.Load("l1");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ((*loaded)->position, (ChangeLogPosition{10, 1}));
}

TEST(PostgresCheckpointStore, PreparesItsAdvanceAgainOnANewConnection) {
  // Ordinary advances run a statement prepared on the store's connection; a new connection
  // (after the old one died) has to prepare it again.
  MigratedDatabase database{"ckpt"};
  PostgresCheckpointStore store(database.url());
  ASSERT_TRUE(store.CompareAndSwap("l1", 0, {}, At(1, {10, 1})).value());
  ASSERT_TRUE(store.CompareAndSwap("l1", 1, {10, 1}, At(1, {10, 2})).value());
  ASSERT_TRUE(store.CompareAndSwap("l1", 1, {10, 2}, At(1, {10, 3})).value());
  EXPECT_FALSE(store.CompareAndSwap("l1", 1, {10, 2}, At(1, {10, 4})).value());
  PgConnection admin = database.Connect();
  Exec(admin,
       "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
       "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  Result<bool> swapped = store.CompareAndSwap("l1", 1, {10, 3}, At(1, {11, 1}));
  ASSERT_TRUE(swapped) << swapped.error().message;
  EXPECT_TRUE(*swapped);
  ASSERT_TRUE(store.CompareAndSwap("l1", 1, {11, 1}, At(1, {11, 2})).value());
  EXPECT_EQ(store.Load("l1").value()->position, (ChangeLogPosition{11, 2}));
}

TEST(PostgresCheckpointStore, AnUnreachableDatabaseIsUnavailable) {
  PostgresCheckpointStore store(
      Secret("postgresql://postgres@127.0.0.1:" + std::to_string(UnusedLoopbackPort()) + "/nothing"),
      PostgresCheckpointStore::Options{std::chrono::milliseconds(2000), true});
  Result<std::optional<Checkpoint>> loaded = store.Load("l1");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kUnavailable);
}

TEST(PostgresCheckpointStore, AsynchronousCommitStillPersists) {
  MigratedDatabase database{"ckpt"};
  PostgresCheckpointStore store(database.url(),
                                PostgresCheckpointStore::Options{std::chrono::milliseconds(5000), false});
  ASSERT_TRUE(store.CompareAndSwap("l1", 0, {}, At(1, {10, 1})));
  PostgresCheckpointStore other(database.url());
  EXPECT_EQ(other.Load("l1").value()->position, (ChangeLogPosition{10, 1}));
}

}  // namespace
}  // namespace fraiseql::testing
