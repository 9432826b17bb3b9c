// Log action: writes its rendered message_template as one structured log line per attempt.
// Thread-safety: Execute() may run concurrently; it completes before returning.
#pragma once

#include <memory>

#include "actions/action.h"

namespace fraiseql {

Result<std::unique_ptr<Action>> MakeLogAction(const ActionConfig& config, const LogAction& spec,
                                              const ActionDependencies& deps);

}  // namespace fraiseql
