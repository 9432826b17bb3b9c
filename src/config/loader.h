// The config loader's parts, shared between its source files (not a public interface).
// Thread-safety: single-threaded, lives for one load.
#pragma once

#include "config/config.h"
#include "config/toml_reader.h"

namespace fraiseql::config_internal {

// Reads every top-level section other than observers into `config`.
void ReadSections(TableReader& root, Config& config);
// Reads [[observers]] (array of tables) or [observers.<name>] (map form).
void ReadObservers(TableReader& root, Config& config);
// The keys of [circuit_breaker], starting from `defaults`.
CircuitBreakerSettings ReadCircuitBreaker(TableReader& reader, CircuitBreakerSettings defaults);

}  // namespace fraiseql::config_internal
