// Helpers shared by the condition tests: building events and compiling conditions that must
// compile, with gtest-friendly failure messages.
// Thread-safety: test code, single-threaded.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "condition/condition.h"
#include "event/entity_event.h"

namespace fraiseql::condition_test {

// An event of `kind` with `data`; `changes` stays JSON null (no before-image) unless given.
inline EntityEvent MakeEvent(nlohmann::json data, EventKind kind = EventKind::kInsert,
                             nlohmann::json changes = nullptr) {
  EntityEvent event;
  event.id = "00000000-0000-0000-0000-000000000001";
  event.event_type = kind;
  event.entity_type = "Order";
  event.entity_id = "00000000-0000-0000-0000-0000000000aa";
  event.data = std::move(data);
  event.changes = std::move(changes);
  event.tenant_id = "00000000-0000-0000-0000-0000000000bb";
  return event;
}

// An UPDATE whose change set is ShallowDiff(before, after), as the converter computes it.
inline EntityEvent MakeUpdate(const nlohmann::json& before, const nlohmann::json& after) {
  return MakeEvent(after, EventKind::kUpdate, ShallowDiff(before, after));
}

inline Condition MustCompile(std::string_view source) {
  auto condition = Condition::Compile(source);
  EXPECT_TRUE(condition.has_value())
      << "'" << source << "': " << (condition ? "" : condition.error().message);
  if (!condition) return Condition();
  return std::move(condition).value();
}

// Compiles and evaluates; a compile or evaluation error fails the test and gives false.
inline bool Eval(std::string_view source, const EntityEvent& event) {
  Condition condition = MustCompile(source);
  auto result = condition.Evaluate(event);
  EXPECT_TRUE(result.has_value())
      << "'" << source << "': " << (result ? "" : result.error().message);
  return result.value_or(false);
}

// The evaluation error of a condition that compiles.
inline Error EvalError(std::string_view source, const EntityEvent& event) {
  Condition condition = MustCompile(source);
  auto result = condition.Evaluate(event);
  EXPECT_FALSE(result.has_value()) << "'" << source << "' evaluated to " << result.value_or(false);
  if (result) return Error::Internal("no error");
  return std::move(result).error();
}

// The compile error of a condition that must not compile.
inline Error CompileError(std::string_view source) {
  auto condition = Condition::Compile(source);
  EXPECT_FALSE(condition.has_value()) << "'" << source << "' compiled";
  if (condition) return Error::Internal("no error");
  return std::move(condition).error();
}

}  // namespace fraiseql::condition_test
