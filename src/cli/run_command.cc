#include "cli/run_command.h"

#include <ostream>

#include "app/daemon.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "common/log.h"
#include "config/config.h"

namespace fraiseql::cli {

int RunRun(const RunOptions& options, std::ostream& /*out*/, std::ostream& err) {
  log::SetFormat(options.log_format == "json" ? log::Format::kJson : log::Format::kText);
  const std::string& level = options.log_level;
  log::SetLevel(level == "trace"   ? log::Level::kTrace
                : level == "debug" ? log::Level::kDebug
                : level == "warn"  ? log::Level::kWarn
                : level == "error" ? log::Level::kError
                                   : log::Level::kInfo);
  const LoadResult loaded = LoadConfigFile(options.config_path);
  PrintDiagnostics(loaded.diagnostics, err);
  if (!loaded.ok()) {
    err << options.config_path << ": invalid: fix the config first ('fraiseql-observer validate "
        << options.config_path << "')\n";
    return kExitInvalidInput;
  }
  return RunDaemon(*loaded.config, err);
}

}  // namespace fraiseql::cli
