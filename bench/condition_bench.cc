// Condition compile and evaluation speed on a realistic order event (20 data fields: strings,
// numbers, a nested object, an array). Target: >= 2M evaluations/s of the simple condition.

#include <cstdlib>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "condition/condition.h"
#include "event/entity_event.h"

namespace fraiseql {
namespace {

nlohmann::json OrderData() {
  return {
      {"id", "5b1f6f0e-8c1d-4c55-9a8e-0f3e2a9c7d11"},
      {"order_number", "ORD-2026-004211"},
      {"status", "shipped"},
      {"total", 249.90},
      {"subtotal", 219.90},
      {"tax", 20.00},
      {"shipping", 10.00},
      {"currency", "EUR"},
      {"customer",
       {{"id", 48213}, {"email", "ada@example.com"}, {"name", "Ada Lovelace"}, {"tier", "gold"}}},
      {"items",
       nlohmann::json::array({{{"sku", "KB-01"}, {"qty", 1}, {"price", 129.90}},
                              {{"sku", "MS-07"}, {"qty", 2}, {"price", 45.00}}})},
      {"created_at", "2026-11-29T11:58:03.120000Z"},
      {"updated_at", "2026-11-29T12:00:00.000000Z"},
      {"priority", "normal"},
      {"notes", ""},
      {"coupon", nullptr},
      {"is_gift", false},
      {"warehouse", "FRA-2"},
      {"carrier", "DHL"},
      {"tracking_number", "JD014600006281234567"},
      {"weight_kg", 1.35},
  };
}

EntityEvent OrderEvent() {
  EntityEvent event;
  event.id = "0d9c2b5e-3f7a-4b8e-9a61-2c4d5e6f7a8b";
  event.event_type = EventKind::kUpdate;
  event.entity_type = "Order";
  event.entity_id = "5b1f6f0e-8c1d-4c55-9a8e-0f3e2a9c7d11";
  event.data = OrderData();
  nlohmann::json before = event.data;
  before["status"] = "processing";
  before["updated_at"] = "2026-11-29T11:58:03.120000Z";
  event.changes = ShallowDiff(before, event.data);
  event.tenant_id = "7c0e8a54-1b2d-4e3f-8a9b-0c1d2e3f4a5b";
  return event;
}

Condition CompileOrDie(const char* source) {
  auto condition = Condition::Compile(source);
  if (!condition) std::abort();
  return std::move(condition).value();
}

void BM_EvaluateTotalAndStatus(benchmark::State& state) {
  const Condition condition = CompileOrDie("total > 100 && status == 'shipped'");
  const EntityEvent event = OrderEvent();
  for (auto _ : state) {
    auto result = condition.Evaluate(event);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EvaluateTotalAndStatus);

void BM_EvaluateInAndFunction(benchmark::State& state) {
  const Condition condition = CompileOrDie(
      "event.entity_type IN ('Order', 'Invoice') && "
      "status IN ('pending', 'processing', 'shipped') && "
      "field_changed_to('status', 'shipped') && has_field('customer.email')");
  const EntityEvent event = OrderEvent();
  for (auto _ : state) {
    auto result = condition.Evaluate(event);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EvaluateInAndFunction);

void BM_CompileTotalAndStatus(benchmark::State& state) {
  for (auto _ : state) {
    auto condition = Condition::Compile("total > 100 && status == 'shipped'");
    benchmark::DoNotOptimize(condition);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CompileTotalAndStatus);

void BM_CompileComplex(benchmark::State& state) {
  const char* source =
      "(total > 100 && status == 'shipped') || priority == 'high' || "
      "(CHANGED_TO(status, 'cancelled') AND customer.tier IN ('gold', 'platinum')) || "
      "(NOT has_field('deleted_at') and data.customer.email IS NOT NULL)";
  for (auto _ : state) {
    auto condition = Condition::Compile(source);
    benchmark::DoNotOptimize(condition);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CompileComplex);

}  // namespace
}  // namespace fraiseql
