// The observers the listener tests run: "orders" takes every Order event; "status_changes" errors
// on an UPDATE without a pre-image (a condition that cannot be evaluated).
// Thread-safety: pure functions.
#pragma once

#include <stdexcept>
#include <string>

#include "config/config.h"

namespace fraiseql::testing {

inline constexpr const char* kListenerObservers = R"toml(
[[observers]]
name = "orders"
entity = "Order"
event_type = "*"

[[observers.actions]]
type = "log"
message_template = "order {{ data.n }}"

[[observers]]
name = "status_changes"
entity = "Order"
event_type = "UPDATE"
condition = "field_changed(status)"

[[observers.actions]]
type = "log"
message_template = "status of {{ data.n }}"
)toml";

inline Config ListenerObserversConfig() {
  LoadResult loaded = LoadConfigString(kListenerObservers, "listener_observers.toml");
  if (!loaded.ok()) {
    std::string all;
    for (const Diagnostic& diagnostic : loaded.diagnostics) all += diagnostic.ToString() + "\n";
    throw std::runtime_error("the listener tests' config does not load: " + all);
  }
  return std::move(*loaded.config);
}

}  // namespace fraiseql::testing
