// Checks that Condition::Compile handles any text (compiles or returns an error) without crashing,
// hanging or leaking, and that a compiled condition evaluates on an UPDATE and an INSERT and prints.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "condition/condition.h"
#include "fuzz_events.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fraiseql::Condition;
  using fraiseql::EntityEvent;
  using fraiseql::Result;

  const std::string_view source(reinterpret_cast<const char*>(data), size);
  Result<Condition> condition = Condition::Compile(source);
  if (!condition) return 0;

  for (const EntityEvent& event : fraiseql::fuzz::FixedEvents()) {
    // True, false or an evaluation error are all fine; only crashes and leaks are findings.
    const Result<bool> outcome = condition->Evaluate(event);
    static_cast<void>(outcome.has_value());
  }
  const std::string display = condition->ToString();
  static_cast<void>(display.size());
  return 0;
}
