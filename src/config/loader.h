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
// One [[observers.actions]] table; nullopt when its type is missing or unknown (then its other
// keys are not judged).
std::optional<ActionConfig> ReadAction(TableReader& in);
// A template-valued key: compiled, with warnings for placeholders that can never resolve.
std::optional<Template> ReadTemplate(TableReader& in, std::string_view key);
// The same for a key that must be present.
std::optional<Template> RequiredTemplate(TableReader& in, std::string_view key);
// The keys of [circuit_breaker], starting from `defaults`.
CircuitBreakerSettings ReadCircuitBreaker(TableReader& reader, CircuitBreakerSettings defaults);

}  // namespace fraiseql::config_internal
