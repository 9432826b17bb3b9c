// `fraiseql-observer run --config C [--log-format text|json] [--log-level L]`: the daemon.
// Thread-safety: call from the main thread, before any other thread starts.
#pragma once

#include <iosfwd>
#include <string>

namespace fraiseql::cli {

struct RunOptions {
  std::string config_path;
  std::string log_format = "text";  // text | json
  std::string log_level = "info";   // trace | debug | info | warn | error
};

int RunRun(const RunOptions& options, std::ostream& out, std::ostream& err);

}  // namespace fraiseql::cli
