// `fraiseql-observer validate <config> [--format text|json]`
#include <map>
#include <ostream>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "config/config.h"

namespace fraiseql::cli {
namespace {

// "3 actions (email 1, slack 1, webhook 1)"
std::string ActionSummary(const Config& config, size_t* total) {
  std::map<std::string_view, size_t> by_type;
  *total = 0;
  for (const ObserverConfig& observer : config.observers) {
    for (const ActionConfig& action : observer.actions) {
      ++by_type[ActionTypeName(action.type)];
      ++*total;
    }
  }
  std::string text;
  for (const auto& [type, count] : by_type) {
    text += (text.empty() ? "" : ", ") + std::string(type) + " " + std::to_string(count);
  }
  return text;
}

std::string Plural(size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

}  // namespace

int RunValidate(const ValidateOptions& options, std::ostream& out, std::ostream& err) {
  const LoadResult result = LoadConfigFile(options.config_path);
  size_t action_count = 0;
  std::string actions;
  size_t enabled = 0;
  if (result.config) {
    actions = ActionSummary(*result.config, &action_count);
    for (const ObserverConfig& observer : result.config->observers) enabled += observer.enabled ? 1 : 0;
  }

  if (options.format == OutputFormat::kJson) {
    nlohmann::json report = {
        {"file", options.config_path},
        {"valid", result.ok()},
        {"errors", result.error_count()},
        {"warnings", result.warning_count()},
        {"diagnostics", DiagnosticsToJson(result.diagnostics)},
    };
    if (result.config) {
      report["observers"] = result.config->observers.size();
      report["enabled_observers"] = enabled;
      report["actions"] = action_count;
    }
    out << DumpJson(report) << "\n";
    return result.ok() ? kExitOk : kExitInvalidInput;
  }

  PrintDiagnostics(result.diagnostics, err);
  if (!result.ok()) {
    err << options.config_path << ": invalid: " << Plural(result.error_count(), "error") << ", "
        << Plural(result.warning_count(), "warning") << "\n";
    return kExitInvalidInput;
  }
  const Config& config = *result.config;
  out << options.config_path << ": valid: " << Plural(config.observers.size(), "observer") << " ("
      << enabled << " enabled), " << Plural(action_count, "action")
      << (actions.empty() ? "" : " (" + actions + ")") << ", "
      << Plural(result.warning_count(), "warning") << "\n";
  return kExitOk;
}

}  // namespace fraiseql::cli
