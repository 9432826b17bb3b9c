// Daemon: `fraiseql-observer run`. Wires the listener (change log -> job queue, under the lease),
// the durable job queue, the delivery stack (queue -> actions) and the admin endpoint from one
// Config, runs them until SIGTERM or SIGINT, then shuts down gracefully (guarantee 6).
// Thread-safety: RunDaemon is called once, from the main thread, before any other thread starts.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace fraiseql {

struct DaemonOptions {
  // Reads an environment variable (DATABASE_URL); default: the process environment.
  std::function<std::optional<std::string>(std::string_view)> getenv;
};

// Runs until a shutdown signal. Returns the process exit code: 0 after a graceful stop, 1 when it
// cannot start (no database URL, unmigrated database, an action that cannot be built, the metrics
// address in use), with the reason written to `err` and the log.
int RunDaemon(const Config& config, std::ostream& err, const DaemonOptions& options = {});

}  // namespace fraiseql
