// queue_throughput: how many jobs per second PostgresJobQueue moves through insert, claim and
// complete on a real PostgreSQL, without any action. A plain closed-loop program (not Google
// Benchmark): it creates a database of its own, applies the migrations, measures, drops it.
//
//   queue_throughput [--url postgresql://postgres@127.0.0.1:55432/postgres] [--jobs 50000]
//                    [--claim-batch 256] [--insert-batch 1000] [--async-commit]
//                    [--producers 1] [--consumers 1]
// --producers N inserts from N connections at once; --consumers N claims and completes with N
// queues (N processes' worth: each its own holder, claim and flush connections), one thread each.
// The URL names the server (its database part is replaced); default $FRAISEQL_TEST_PG_URL.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "common/clock.h"
#include "bench_database.h"
#include "process_cpu.h"
#include "db/connection.h"
#include "db/migrations.h"
#include "delivery/delivery.h"
#include "queue/job_rows.h"
#include "queue/postgres_job_queue.h"

namespace fraiseql {
namespace {

using std::chrono::steady_clock;

using bench::ClusterCpuSeconds;
using bench::CpuSeconds;
using bench::MustConnect;
using bench::PostmasterOf;
using bench::WithDatabase;

void Must(Result<PgResult> result, const char* what) {
  if (!result) throw std::runtime_error(std::string(what) + ": " + result.error().message);
}

double Seconds(steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The CPU this program and the PostgreSQL cluster spend in one phase, from its start to Per().
class PhaseCpu {
 public:
  explicit PhaseCpu(pid_t postmaster)
      : postmaster_(postmaster), self_(CpuSeconds(::getpid())), postgres_(ClusterCpuSeconds(postmaster)) {}
  // "bench 12.3 us, postgres 45.6 us" a job.
  std::string Per(int jobs) const {
    char text[96];
    std::snprintf(text, sizeof text, "bench %.1f us, postgres %.1f us", (CpuSeconds(::getpid()) - self_) * 1e6 / jobs,
                  (ClusterCpuSeconds(postmaster_) - postgres_) * 1e6 / jobs);
    return text;
  }

 private:
  pid_t postmaster_;
  double self_;
  double postgres_;
};

// Runs body(0..count-1), each on a thread of its own, and waits for them all.
template <typename Body>
void RunOnThreads(int count, Body body) {
  std::vector<std::thread> threads;
  for (int n = 0; n < count; ++n) threads.emplace_back([&body, n] { body(n); });
  for (std::thread& thread : threads) thread.join();
}

std::vector<NewJob> MakeJobs(int first, int count) {
  std::vector<NewJob> jobs;
  jobs.reserve(static_cast<size_t>(count));
  for (int n = first; n < first + count; ++n) {
    auto event = std::make_shared<EntityEvent>();
    char id[37];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    event->id = id;
    event->event_type = EventKind::kUpdate;
    event->entity_type = "Order";
    event->entity_id = "550e8400-e29b-41d4-a716-446655440000";
    event->data = {{"id", n}, {"status", "paid"}, {"total", 42.5}, {"customer", {{"name", "Ada"}, {"tier", "gold"}}}};
    event->changes = {{"status", {{"old", "new"}, {"new", "paid"}}}};
    event->timestamp = *ParseTimestamp("2026-11-29T12:00:00Z");
    Delivery delivery;
    delivery.id = MakeDeliveryId(event->id, "order-webhook", 0);
    delivery.event = std::move(event);
    delivery.observer = "order-webhook";
    jobs.push_back({std::move(delivery), n});
  }
  return jobs;
}

int Run(int argc, char** argv) {
  const char* env = std::getenv("FRAISEQL_TEST_PG_URL");
  std::string url = env ? env : "postgresql://postgres@127.0.0.1:55432/postgres";
  int jobs = 50000, claim_batch = 256, insert_batch = 1000, producers = 1, consumers = 1;
  bool async_commit = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : throw std::runtime_error(arg + " needs a value"); };
    if (arg == "--url") url = next();
    else if (arg == "--jobs") jobs = std::stoi(next());
    else if (arg == "--claim-batch") claim_batch = std::stoi(next());
    else if (arg == "--insert-batch") insert_batch = std::stoi(next());
    else if (arg == "--async-commit") async_commit = true;
    else if (arg == "--producers") producers = std::max(1, std::stoi(next()));
    else if (arg == "--consumers") consumers = std::max(1, std::stoi(next()));
    else throw std::runtime_error("unknown argument " + arg);
  }

  const std::string name = "queue_bench_" + std::to_string(getpid());
  PgConnection admin = MustConnect(url);
  Must(admin.Execute("CREATE DATABASE " + name + " TEMPLATE template0"), "CREATE DATABASE");
  const std::string db_url = WithDatabase(url, name);
  int exit_code = 0;
  try {
    PgConnection conn = MustConnect(db_url);
    if (Result<MigrationReport> migrated = ApplyMigrations(conn, MigrationMode::kApply); !migrated) {
      throw std::runtime_error("migrations: " + migrated.error().message);
    }
    if (async_commit) Must(conn.Execute("SET synchronous_commit = off"), "SET");

    // Insert, as the listener does: one transaction and one statement per batch. The events are
    // made beforehand: the listener has them already.
    std::vector<std::vector<NewJob>> batches;
    for (int first = 0; first < jobs; first += insert_batch) {
      batches.push_back(MakeJobs(first, std::min(insert_batch, jobs - first)));
    }
    // Each producer its own connection and its share of the batches, as concurrent writers do.
    std::vector<PgConnection> producer_conns;
    for (int p = 0; p < producers; ++p) {
      producer_conns.push_back(MustConnect(db_url));
      if (async_commit) Must(producer_conns.back().Execute("SET synchronous_commit = off"), "SET");
    }
    std::atomic<size_t> next_batch{0};
    std::atomic<bool> failed{false};
    const pid_t postmaster = PostmasterOf(conn);
    const PhaseCpu insert_cpu(postmaster);
    const auto insert_start = steady_clock::now();
    RunOnThreads(producers, [&](int p) {
      PgConnection& producer = producer_conns[static_cast<size_t>(p)];
      for (size_t b = next_batch++; b < batches.size() && !failed; b = next_batch++) {
        const bool ok = producer.Execute("BEGIN") && InsertJobs(producer, "default", batches[b], std::nullopt) &&
                        producer.Execute("COMMIT");
        if (!ok) failed = true;
      }
    });
    if (failed) throw std::runtime_error("an insert failed");
    const double insert_seconds = Seconds(steady_clock::now() - insert_start);
    const std::string insert_cpu_per_job = insert_cpu.Per(jobs);

    // Claim and complete, as engines do (each one dispatcher claiming, completes buffered).
    SystemClock clock;
    std::vector<std::unique_ptr<PostgresJobQueue>> queues;
    for (int c = 0; c < consumers; ++c) {
      PostgresJobQueueOptions options;
      options.database_url = Secret(db_url);
      options.synchronous_commit = !async_commit;
      options.holder = "bench-consumer-" + std::to_string(c);
      queues.push_back(std::make_unique<PostgresJobQueue>(options, clock));
    }
    std::atomic<int> done{0};
    std::atomic<size_t> claims{0};
    const PhaseCpu claim_cpu(postmaster);
    const auto claim_start = steady_clock::now();
    const auto give_up = claim_start + std::chrono::minutes(5);
    RunOnThreads(consumers, [&](int c) {
      PostgresJobQueue& queue = *queues[static_cast<size_t>(c)];
      while (done < jobs && steady_clock::now() < give_up) {
        std::vector<Delivery> claimed = queue.Claim(static_cast<size_t>(claim_batch),
                                                    steady_clock::now() + std::chrono::milliseconds(200), {});
        if (claimed.empty()) continue;
        ++claims;
        for (const Delivery& delivery : claimed) queue.Complete(delivery);
        done += static_cast<int>(claimed.size());
      }
      if (Result<void> flushed = queue.Flush(std::chrono::seconds(30)); !flushed) failed = true;
    });
    if (done < jobs) throw std::runtime_error("nothing to claim with " + std::to_string(jobs - done) + " left");
    if (failed) throw std::runtime_error("a flush failed");
    const double claim_seconds = Seconds(steady_clock::now() - claim_start);
    const std::string claim_cpu_per_job = claim_cpu.Per(jobs);
    Result<PgResult> left = conn.Execute("SELECT count(*) FROM observer_jobs");
    Must(std::move(left), "count");

    std::printf("jobs %d, insert batch %d, claim batch %d, producers %d, consumers %d, synchronous_commit %s\n", jobs,
                insert_batch, claim_batch, producers, consumers, async_commit ? "off" : "on");
    std::printf("insert:           %8.0f jobs/s (%.2f s; cpu a job: %s)\n", jobs / insert_seconds, insert_seconds,
                insert_cpu_per_job.c_str());
    std::printf("claim + complete: %8.0f jobs/s (%.2f s, %zu claims; cpu a job: %s)\n", jobs / claim_seconds,
                claim_seconds, claims.load(), claim_cpu_per_job.c_str());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "queue_throughput: %s\n", error.what());
    exit_code = 1;
  }
  Must(admin.Execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"), "DROP DATABASE");
  return exit_code;
}

}  // namespace
}  // namespace fraiseql

int main(int argc, char** argv) {
  try {
    return fraiseql::Run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "queue_throughput: %s\n", error.what());
    return 1;
  }
}
