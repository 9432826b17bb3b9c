// Slack action: a message to a Slack incoming webhook per attempt, through the HttpClient. 429
// answers are retried after their Retry-After, like any HTTP action's.
// Thread-safety: Execute() may run concurrently; the action is immutable after construction.
#pragma once

#include <memory>
#include <string>

#include "actions/action.h"

namespace fraiseql {

// FraiseQL's Slack payload: {"text": ..., "channel"?: ...}; the default text is
// "Event: <KIND> on <Entity> (ID: <id>)".
std::string SlackBody(const SlackAction& spec, const EntityEvent& event);

Result<std::unique_ptr<Action>> MakeSlackAction(const ActionConfig& config, const SlackAction& spec,
                                                const ActionDependencies& deps);

}  // namespace fraiseql
