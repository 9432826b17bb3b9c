// Checks the event reader as `debug-event` and the change-log reader drive it: JSON text through
// ParseJsonWithin (the limits of common/json_limits.h), then a change-log row or an event, then
// the JSON forms written back. Traps when
//   - the limit scan passes text that nlohmann parses deeper than the scan measured (run with
//     small limits, so the fuzzer reaches them);
//   - text within the limits that nlohmann accepts does not parse, or the reverse;
//   - an event does not survive EventToJson -> EventFromJson unchanged.
// Crashes, hangs and leaks are findings as usual.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/json_limits.h"
#include "event/entity_event.h"

namespace {

using nlohmann::json;

// The deepest array or object in `value`, without recursion (the point is to measure what the
// scan let through, whatever that is).
size_t Depth(const json& value) {
  size_t deepest = 0;
  std::vector<std::pair<const json*, size_t>> stack = {{&value, 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const json& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return deepest;
}

void CheckTheScanAgainstTheParser(std::string_view text) {
  constexpr fraiseql::JsonLimits kSmall{4, 1 << 20};
  fraiseql::Result<json> parsed = fraiseql::ParseJsonWithin(text, kSmall);
  if (parsed) {
    if (Depth(*parsed) > kSmall.max_depth) __builtin_trap();
    if (!json::accept(text)) __builtin_trap();
  } else if (parsed.error().DetailCode(fraiseql::kJsonErrorDomain) == fraiseql::kJsonSyntax) {
    if (json::accept(text)) __builtin_trap();
    if (!parsed.error().location) __builtin_trap();
  }
}

void CheckTheRoundTrip(const fraiseql::EntityEvent& event) {
  const json written = fraiseql::EventToJson(event);
  static_cast<void>(written.dump(-1, ' ', false, json::error_handler_t::replace));
  static_cast<void>(fraiseql::EventEnvelope(event).dump(-1, ' ', false, json::error_handler_t::replace));
  fraiseql::Result<fraiseql::EntityEvent> read = fraiseql::EventFromJson(written);
  if (!read || !(*read == event)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckTheScanAgainstTheParser(text);

  // As debug-event reads an event file.
  fraiseql::Result<json> document = fraiseql::ParseJsonWithin(text);
  if (!document) return 0;
  static fraiseql::FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1'767'225'600)));
  if (fraiseql::LooksLikeChangeLogRow(*document)) {
    fraiseql::Result<fraiseql::ChangeLogRow> row = fraiseql::ChangeLogRowFromJson(*document);
    if (!row) return 0;
    fraiseql::Result<fraiseql::EntityEvent> event = fraiseql::FromChangeLogRow(*row, clock);
    if (event) CheckTheRoundTrip(*event);
    return 0;
  }
  fraiseql::Result<fraiseql::EntityEvent> event = fraiseql::EventFromJson(*document);
  if (event) CheckTheRoundTrip(*event);
  return 0;
}
