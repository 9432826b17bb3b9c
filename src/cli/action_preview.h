// ActionPreview: what an action would send for an event, as JSON, with every secret shown as
// <redacted>. Used by `debug-event`; it performs no I/O.
// Thread-safety: pure function.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "event/entity_event.h"

namespace fraiseql::cli {

// {"url", "method", "headers", "body"} for HTTP actions, {"to", "subject", "body", ...} for
// email, and so on. Placeholders that did not resolve are listed under "unresolved".
nlohmann::json PreviewAction(const ActionConfig& action, const EntityEvent& event);

}  // namespace fraiseql::cli
