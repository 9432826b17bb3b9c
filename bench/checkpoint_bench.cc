// Checkpoint writes and the listener's batch hand-off against a real PostgreSQL, with
// synchronous_commit on (durable) and off (asynchronous; safe, a lost commit only replays).
//   BM_CheckpointCompareAndSwap/sync:N/threads:T  one compare-and-swap per transaction, T listeners
//                                                 at once (seed target 10,000/s)
//   BM_BatchCommit/jobs:1000/sync:N     BEGIN; lease check; 1000 jobs; checkpoint CAS; COMMIT
// The cluster comes from FRAISEQL_TEST_PG_URL (scripts/services start); the benchmark creates a
// database of its own, applies the migrations and drops it at exit.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <benchmark/benchmark.h>

#include "checkpoint/postgres_checkpoint_store.h"
#include "db/migrations.h"
#include "delivery/delivery.h"
#include "listener/postgres_lease.h"
#include "queue/job_rows.h"

namespace fraiseql {
namespace {

constexpr std::chrono::milliseconds kConnectTimeout{10'000};

// The benchmark's own database on the cluster of FRAISEQL_TEST_PG_URL.
class BenchDatabase {
 public:
  static BenchDatabase& Get() {
    static BenchDatabase database;
    return database;
  }
  const Secret& url() const { return url_; }
  PgConnection Connect() const {
    Result<PgConnection> conn = PgConnection::Connect(url_, kConnectTimeout);
    if (!conn) Die("connect: " + conn.error().message);
    return std::move(conn).value();
  }
  ~BenchDatabase() {
    Result<PgConnection> admin = PgConnection::Connect(Secret(admin_url_), kConnectTimeout);
    if (!admin) return;
    Result<PgResult> dropped = admin->Execute("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    if (!dropped) std::fprintf(stderr, "checkpoint_bench: could not drop %s\n", name_.c_str());
  }

  [[noreturn]] static void Die(const std::string& message) {
    std::fprintf(stderr, "checkpoint_bench: %s\n", message.c_str());
    std::exit(1);
  }

 private:
  BenchDatabase() {
    const char* url = std::getenv("FRAISEQL_TEST_PG_URL");
    if (url == nullptr || *url == '\0') Die("set FRAISEQL_TEST_PG_URL (source .test-services/env)");
    admin_url_ = url;
    name_ = "checkpoint_bench_" + std::to_string(::getpid());
    const size_t scheme = admin_url_.find("://");
    const size_t path = admin_url_.find('/', scheme + 3);
    if (scheme == std::string::npos || path == std::string::npos) Die("FRAISEQL_TEST_PG_URL is not a URI with a path");
    const size_t query = admin_url_.find('?', path);
    url_ = Secret(admin_url_.substr(0, path) + "/" + name_ +
                  (query == std::string::npos ? "" : admin_url_.substr(query)));
    Result<PgConnection> admin = PgConnection::Connect(Secret(admin_url_), kConnectTimeout);
    if (!admin) Die("connect: " + admin.error().message);
    Result<PgResult> created = admin->Execute("CREATE DATABASE " + name_ + " TEMPLATE template0");
    if (!created) Die(created.error().message);
    PgConnection conn = Connect();
    Result<MigrationReport> migrated = ApplyMigrations(conn, MigrationMode::kApply);
    if (!migrated) Die(migrated.error().message);
  }

  std::string admin_url_;
  std::string name_;
  Secret url_;
};

void Exec(PgConnection& conn, std::string_view sql) {
  Result<PgResult> result = conn.Execute(sql);
  if (!result) BenchDatabase::Die(std::string(sql) + ": " + result.error().message);
}

Checkpoint At(const std::string& id, int64_t epoch, ChangeLogPosition position) {
  Checkpoint checkpoint;
  checkpoint.listener_id = id;
  checkpoint.lease_epoch = epoch;
  checkpoint.position = position;
  checkpoint.batch_size = 1000;
  checkpoint.event_count = 1000;
  checkpoint.updated_by = "bench";
  return checkpoint;
}

void BM_CheckpointCompareAndSwap(benchmark::State& state) {
  const bool synchronous = state.range(0) != 0;
  BenchDatabase& database = BenchDatabase::Get();
  PostgresCheckpointStore store(database.url(), PostgresCheckpointStore::Options{kConnectTimeout, synchronous});
  // One listener id (and connection) per thread: several listeners checkpointing at once.
  const std::string id =
      std::string("cas-") + (synchronous ? "sync-" : "async-") + std::to_string(state.thread_index());
  ChangeLogPosition position{};
  int64_t epoch = 0;
  if (Result<std::optional<Checkpoint>> stored = store.Load(id); stored && *stored) {
    position = (*stored)->position;
    epoch = (*stored)->lease_epoch;
  } else if (!store.CompareAndSwap(id, 0, {}, At(id, 1, {1, 0})).value_or(false)) {
    BenchDatabase::Die("first compare-and-swap failed");
  } else {
    position = {1, 0};
    epoch = 1;
  }
  for (auto _ : state) {
    const ChangeLogPosition next{position.txid, position.pk + 1};
    Result<bool> swapped = store.CompareAndSwap(id, epoch, position, At(id, epoch, next));
    if (!swapped || !*swapped) {
      state.SkipWithError("compare-and-swap failed or was fenced");
      break;
    }
    position = next;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckpointCompareAndSwap)
    ->ArgName("sync")
    ->Arg(1)
    ->Arg(0)
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime()
    ->MinTime(3.0);

void BM_BatchCommit(benchmark::State& state) {
  const size_t job_count = static_cast<size_t>(state.range(0));
  const bool synchronous = state.range(1) != 0;
  BenchDatabase& database = BenchDatabase::Get();
  const std::string id = std::string("batch-") + (synchronous ? "sync" : "async");
  PostgresLeaseStore lease_store(database.url());
  Result<std::optional<Lease>> lease = lease_store.TryAcquire(id, "bench", std::chrono::hours(1));
  if (!lease || !*lease) BenchDatabase::Die("lease");
  PgConnection tx = database.Connect();
  Result<std::optional<Checkpoint>> stored = PostgresCheckpointStore::LoadWith(tx, id);
  ChangeLogPosition position = stored && *stored ? (*stored)->position : ChangeLogPosition{};
  int64_t expected_epoch = stored && *stored ? (*stored)->lease_epoch : 0;

  EntityEvent event;
  event.event_type = EventKind::kInsert;
  event.entity_type = "Order";
  event.entity_id = "00000000-0000-4000-8000-000000000001";
  event.data = {{"id", 1}, {"status", "new"}, {"total", 249.9}, {"customer", {{"email", "ada@example.com"}}}};
  const std::string run = std::to_string(::getpid()) + "-" + (synchronous ? "s" : "a");
  uint64_t batch = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // Fresh delivery ids every batch, or ON CONFLICT DO NOTHING would skip the inserts.
    std::vector<NewJob> jobs;
    jobs.reserve(job_count);
    for (size_t i = 0; i < job_count; ++i) {
      auto copy = std::make_shared<EntityEvent>(event);
      copy->id = MakeDeliveryId(run, std::to_string(batch), i);  // any unique UUID will do
      Delivery delivery;
      delivery.id = MakeDeliveryId(copy->id, "bench", 0);
      delivery.event = std::move(copy);
      delivery.observer = "bench";
      jobs.push_back(NewJob{std::move(delivery), static_cast<int64_t>(i)});
    }
    const ChangeLogPosition next{position.txid + 1, position.pk + static_cast<int64_t>(job_count)};
    ++batch;
    state.ResumeTiming();

    Exec(tx, "BEGIN");
    Exec(tx, synchronous ? "SET LOCAL synchronous_commit = on" : "SET LOCAL synchronous_commit = off");
    if (!PostgresLeaseStore::HeldInTransaction(tx, **lease).value_or(false)) BenchDatabase::Die("lease lost");
    if (auto inserted = InsertJobs(tx, id, jobs, std::nullopt); !inserted) {
      BenchDatabase::Die("InsertJobs: " + inserted.error().message);
    }
    Result<bool> swapped = PostgresCheckpointStore::CompareAndSwapInTransaction(
        tx, id, expected_epoch, position, At(id, (*lease)->epoch, next));
    if (!swapped || !*swapped) BenchDatabase::Die("checkpoint compare-and-swap failed");
    Exec(tx, "COMMIT");
    position = next;
    expected_epoch = (*lease)->epoch;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(job_count));
  state.counters["batches_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                       benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BatchCommit)
    ->ArgNames({"jobs", "sync"})
    ->Args({1000, 1})
    ->Args({1000, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(5.0);

}  // namespace
}  // namespace fraiseql
