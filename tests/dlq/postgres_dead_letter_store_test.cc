// PostgresDeadLetterStore under the DeadLetterStore contract (re-driving into observer_jobs, read
// back by a PostgresJobQueue), plus what only it has: created_at is the database's, and AddWith
// writes inside the caller's transaction. Label pg.
#include "dlq/postgres_dead_letter_store.h"

#include <chrono>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dead_letter_store_contract.h"
#include "queue/job_rows.h"
#include "queue/postgres_job_queue.h"
#include "testing/delivery_builder.h"
#include "testing/migrated_database.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;

PostgresJobQueueOptions QueueOptions(const MigratedDatabase& db) {
  PostgresJobQueueOptions options;
  options.database_url = db.url();
  options.holder = "worker";
  options.poll_interval = 50ms;
  return options;
}

class PostgresBackend final : public DeadLetterBackend {
 public:
  DeadLetterStore& store() override { return store_; }
  JobQueue& queue() override { return queue_; }
  void Enqueue(const std::vector<Delivery>& deliveries) override {
    std::vector<NewJob> jobs;
    for (const Delivery& delivery : deliveries) jobs.push_back({delivery, 0});
    PgConnection conn = db_.Connect();
    ASSERT_TRUE(InsertJobs(conn, "default", jobs, std::nullopt));
  }
  size_t Queued() override { return static_cast<size_t>(db_.Count("SELECT count(*) FROM observer_jobs")); }

 private:
  MigratedDatabase db_{"dlq"};
  PgConnection conn_ = db_.Connect();
  PostgresDeadLetterStore store_{&conn_};
  PostgresJobQueue queue_{QueueOptions(db_), RealClock()};
};

FRAISEQL_CONTRACT_BACKEND(DeadLetterStoreContract, Postgres, PostgresBackend);

TEST(PostgresDeadLetterStoreTest, AddWithCommitsAndRollsBackWithTheCallersTransaction) {
  MigratedDatabase db("dlq");
  PgConnection conn = db.Connect();
  DeadLetter letter;
  letter.listener_id = "default";
  letter.reason = "r";
  ASSERT_TRUE(conn.Execute("BEGIN"));
  ASSERT_TRUE(PostgresDeadLetterStore::AddWith(conn, {&letter, 1}));
  ASSERT_TRUE(conn.Execute("ROLLBACK"));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters"), 0);
  ASSERT_TRUE(conn.Execute("BEGIN"));
  ASSERT_TRUE(PostgresDeadLetterStore::AddWith(conn, {&letter, 1}));
  ASSERT_TRUE(conn.Execute("COMMIT"));
  EXPECT_EQ(db.Count("SELECT count(*) FROM observer_dead_letters"), 1);
}

TEST(PostgresDeadLetterStoreTest, SinceFiltersByTheDatabasesCreatedAt) {
  MigratedDatabase db("dlq");
  PgConnection conn = db.Connect();
  PostgresDeadLetterStore store(&conn);
  DeadLetter letter;
  letter.reason = "r";
  const std::vector<DeadLetter> two = {letter, letter};
  ASSERT_TRUE(store.Add(two));
  db.Execute("UPDATE observer_dead_letters SET created_at = now() - interval '1 day' WHERE id = 1");
  DeadLetterFilter recent;
  recent.since = std::chrono::system_clock::now() - 1h;
  Result<std::vector<StoredDeadLetter>> letters = store.List(recent);
  ASSERT_TRUE(letters) << letters.error().message;
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].id, 2);
}

}  // namespace
}  // namespace fraiseql::testing
