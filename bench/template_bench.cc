// Template benchmarks: compiling a webhook body, and rendering it (JSON-body) and a Slack-like
// message (text) for a realistic 20-field order event.
#include <string>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "event/entity_event.h"
#include "template/template.h"
#include "testing/event_builder.h"

namespace fraiseql {
namespace {

constexpr std::string_view kOrderBody =
    "{\n"
    "  \"order_id\": \"{{ data.id }}\",\n"
    "  \"total\": {{ data.total }},\n"
    "  \"customer_id\": \"{{ data.customer_id }}\"\n"
    "}";

constexpr std::string_view kSlackMessage =
    ":package: Order *{{ data.id }}* for {{ data.customer.name }} <{{ data.customer.email }}> "
    "is now *{{ data.status }}* (was {{ changes.status.old }}).\n"
    "Total: ${{ data.total }} {{ data.currency }}, {{ data.item_count }} items, "
    "ship to {{ data.shipping.city }}, {{ data.shipping.country }}.\n"
    "Event {{ event.id }} at {{ event.timestamp }} by {{ event.user_id }}";

EntityEvent OrderEvent() {
  return testing::MakeOrderUpdate(nlohmann::json::parse(R"({
    "id": "550e8400-e29b-41d4-a716-446655440000",
    "number": "ORD-2026-001234",
    "status": "shipped",
    "total": 1499.95,
    "subtotal": 1399.95,
    "tax": 100.0,
    "currency": "EUR",
    "customer_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "customer": {"name": "Ann O'Neil", "email": "ann@example.com", "tier": "gold"},
    "item_count": 3,
    "items": [{"sku": "SKU-1", "qty": 2, "price": 499.99},
              {"sku": "SKU-2", "qty": 1, "price": 399.97}],
    "shipping": {"city": "Lyon", "country": "FR", "carrier": "DHL",
                 "tracking": "JD014600003828381234"},
    "paid": true,
    "coupon": null,
    "notes": "Leave at the door \"B\"",
    "created_at": "2026-11-29T11:58:00Z",
    "updated_at": "2026-11-29T12:00:00Z",
    "warehouse": "LYS-2",
    "priority": 2,
    "gift": false
  })"),
                                  nlohmann::json::parse(R"({"status": {"old": "paid", "new": "shipped"}})"),
                                  "2026-11-29T12:00:00Z");
}

void BM_RenderJsonBody(benchmark::State& state) {
  const Template tmpl = Template::Compile(kOrderBody);
  const EntityEvent event = OrderEvent();
  for (auto _ : state) {
    RenderResult result = tmpl.RenderJsonBody(event);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_RenderJsonBody);

void BM_RenderText(benchmark::State& state) {
  const Template tmpl = Template::Compile(kSlackMessage);
  const EntityEvent event = OrderEvent();
  for (auto _ : state) {
    RenderResult result = tmpl.RenderText(event);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_RenderText);

void BM_Compile(benchmark::State& state) {
  for (auto _ : state) {
    Template tmpl = Template::Compile(kOrderBody);
    benchmark::DoNotOptimize(tmpl);
  }
}
BENCHMARK(BM_Compile);

}  // namespace
}  // namespace fraiseql
