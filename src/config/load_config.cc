// LoadConfigFile / LoadConfigString: TOML text -> validated Config plus every diagnostic.
#include <algorithm>

#include "common/file.h"
#include "config/loader.h"
#include "config/toml_limits.h"

namespace fraiseql {
namespace {

using config_internal::LoadContext;
using config_internal::TableReader;

// Checks that need the whole file: things that are valid alone but not together.
void CheckAcrossSections(const Config& config, LoadContext& context) {
  for (const ObserverConfig& observer : config.observers) {
    for (const ActionConfig& action : observer.actions) {
      if (action.type == ActionType::kEmail && !config.email) {
        context.Warning(action.location,
                        (observer.name_from_environment
                             ? std::string("this observer (its name is from the environment)")
                             : "observer '" + observer.name + "'") +
                            " sends email but there is no [email] section (SMTP host, port, from): "
                            "its deliveries will fail until one is added");
      }
    }
  }
  if (config.observers.empty() && config.transport.run_executors) {
    context.Warning({context.file_name(), 1, 1},
                    "no observers are configured: events will be read but nothing will be done");
  }
}

}  // namespace

namespace {
// In ActionType order.
constexpr std::array<std::string_view, 9> kActionTypeNames = {
    "webhook", "slack", "email", "database", "log", "cache", "search", "sms", "push"};
LoadResult FileError(const std::string& path, std::string message) {
  Diagnostic error;
  error.location.file = path;
  error.message = std::move(message);
  LoadResult result;
  result.diagnostics.push_back(std::move(error));
  return result;
}

}  // namespace

std::string_view ActionTypeName(ActionType type) { return kActionTypeNames[static_cast<size_t>(type)]; }

std::span<const std::string_view> AllActionTypeNames() { return kActionTypeNames; }

std::optional<ActionType> ParseActionType(std::string_view name) {
  const auto found = std::find(kActionTypeNames.begin(), kActionTypeNames.end(), name);
  if (found == kActionTypeNames.end()) return std::nullopt;
  return static_cast<ActionType>(found - kActionTypeNames.begin());
}

std::string_view SignatureSchemeName(WebhookAction::SignatureScheme scheme) {
  static constexpr std::array<std::string_view, 3> kNames = {"standard", "fraiseql", "both"};
  return kNames[static_cast<size_t>(scheme)];
}

std::string_view LogLevelName(LogAction::Level level) {
  static constexpr std::array<std::string_view, 5> kNames = {"trace", "debug", "info", "warn", "error"};
  return kNames[static_cast<size_t>(level)];
}

std::string_view FailurePolicyName(FailurePolicy policy) {
  switch (policy) {
    case FailurePolicy::kDlq: return "dlq";
    case FailurePolicy::kLog: return "log";
    case FailurePolicy::kAlert: return "alert";
  }
  return "dlq";
}

std::string EventKindSet::ToString() const {
  if (IsAll()) return "*";
  std::string out;
  for (int i = 0; i < kEventKindCount; ++i) {
    const auto kind = static_cast<EventKind>(i);
    if (Contains(kind)) out += (out.empty() ? "" : "|") + std::string(EventKindName(kind));
  }
  return out;
}

size_t LoadResult::error_count() const {
  return static_cast<size_t>(std::count_if(diagnostics.begin(), diagnostics.end(),
                                           [](const Diagnostic& d) { return d.severity == Severity::kError; }));
}

size_t LoadResult::warning_count() const { return diagnostics.size() - error_count(); }

LoadResult LoadConfigString(std::string_view text, const std::string& file_name,
                            const LoadOptions& options) {
  LoadContext context(file_name, text, options.getenv ? options.getenv : ProcessEnv);
  LoadResult result;
  // Before toml++: it recurses once per level of the text's nesting (docs/security.md).
  if (Result<void> within = CheckTomlLimits(text); !within) {
    SourceLocation where = within.error().location.value_or(SourceLocation{});
    where.file = file_name;
    context.Error(where, within.error().message);
    result.diagnostics = context.TakeDiagnostics();
    return result;
  }
  toml::table document;
  try {
    document = toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    context.Error(context.Where(error.source()), "invalid TOML: " + std::string(error.description()));
    result.diagnostics = context.TakeDiagnostics();
    return result;
  }

  Config config;
  config.source_file = file_name;
  TableReader root(document, "", context);
  config_internal::ReadObservers(root, config);
  config_internal::ReadSections(root, config);
  root.Finish();
  CheckAcrossSections(config, context);

  const bool ok = !context.has_errors();
  result.diagnostics = context.TakeDiagnostics();
  if (ok) result.config = std::move(config);
  return result;
}

LoadResult LoadConfigFile(const std::string& path, const LoadOptions& options) {
  // Bounded: a huge file or an endless pipe is refused without being held in memory.
  Result<std::string> text = ReadWholeFile(path, kDefaultTomlMaxBytes);
  if (!text && text.error().DetailCode(kFileErrorDomain) == kFileTooLarge) {
    return FileError(path, "the config file is larger than " + std::to_string(kDefaultTomlMaxBytes >> 20) +
                               " MiB; config files are limited to that size");
  }
  if (!text) return FileError(path, "cannot open the config file: " + text.error().message);
  return LoadConfigString(*text, path, options);
}

}  // namespace fraiseql
