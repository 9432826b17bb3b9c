// What the client spends turning a batch of deliveries into the job-row parameters InsertJobs
// sends (the listener's slow path and every retry), per job, for a realistic order event.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "queue/job_rows.h"

namespace fraiseql {
namespace {

std::vector<NewJob> OrderJobs(int count, bool with_attempt) {
  std::vector<NewJob> jobs;
  for (int n = 0; n < count; ++n) {
    auto event = std::make_shared<EntityEvent>();
    char id[37];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    event->id = id;
    event->event_type = EventKind::kUpdate;
    event->entity_type = "Order";
    event->entity_id = "550e8400-e29b-41d4-a716-446655440000";
    event->tenant_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    event->data = {{"id", n},
                   {"status", "paid"},
                   {"total", 42.5},
                   {"currency", "EUR"},
                   {"lines", {{{"sku", "A-1"}, {"qty", 2}}, {{"sku", "B-7"}, {"qty", 1}}}},
                   {"customer", {{"name", "Ada Lovelace"}, {"email", "ada@example.com"}, {"tier", "gold"}}}};
    event->changes = {{"status", {{"old", "new"}, {"new", "paid"}}}};
    event->timestamp = *ParseTimestamp("2026-11-29T12:00:00Z");
    event->seq = n;
    Delivery delivery;
    delivery.id = MakeDeliveryId(event->id, "order-webhook", 0);
    delivery.event = std::move(event);
    delivery.observer = "order-webhook";
    if (with_attempt) {
      delivery.attempts.push_back({std::chrono::system_clock::now(), DeliveryOutcomeKind::kRetryable, 503,
                                   "HTTP 503 from https://hooks.example.com/orders", std::chrono::microseconds(1234)});
    }
    jobs.push_back({std::move(delivery), n + 1});
  }
  return jobs;
}

void BM_JobRowArrays(benchmark::State& state) {
  const std::vector<NewJob> jobs = OrderJobs(1000, state.range(0) != 0);
  for (auto _ : state) {
    Result<std::vector<std::string>> arrays = JobRowArrays(jobs);
    benchmark::DoNotOptimize(arrays);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(jobs.size()));
}
// Arg: 0 = a first hand-off (no attempt yet), 1 = a retry carrying one attempt.
BENCHMARK(BM_JobRowArrays)->Arg(0)->Arg(1);

}  // namespace
}  // namespace fraiseql
