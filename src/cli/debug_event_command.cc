// `fraiseql-observer debug-event --config C --event E [--format text|json]`: a dry run that
// shows, for every observer, whether the event reaches it and why, and what its actions would
// send. No side effects.
#include <algorithm>
#include <fstream>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/action_preview.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/clock.h"
#include "config/config.h"
#include "matcher/matcher.h"

namespace fraiseql::cli {
namespace {

using nlohmann::json;

struct LoadedEvent {
  EntityEvent event;
  std::optional<int64_t> row_pk;  // set when the file held a change-log row
};

Result<LoadedEvent> LoadEventFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error::InvalidArgument(path + ": error: cannot open the event file");
  std::ostringstream text;
  text << file.rdbuf();
  const std::string content = text.str();
  json document;
  try {
    document = json::parse(content);
  } catch (const json::parse_error& error) {
    const SourceLocation where = LocationOfOffset(content, error.byte > 0 ? error.byte - 1 : 0);
    return Error::InvalidArgument(path + ":" + std::to_string(where.line) + ":" +
                                  std::to_string(where.column) + ": error: invalid JSON: " + error.what());
  }
  SystemClock clock;
  if (LooksLikeChangeLogRow(document)) {
    Result<ChangeLogRow> row = ChangeLogRowFromJson(document);
    if (!row) return Error::InvalidArgument(path + ": error: " + row.error().message);
    Result<EntityEvent> event = FromChangeLogRow(*row, clock);
    if (!event) return Error::InvalidArgument(path + ": error: " + event.error().message);
    return LoadedEvent{std::move(*event), row->pk};
  }
  Result<EntityEvent> event = EventFromJson(document);
  if (!event) return Error::InvalidArgument(path + ": error: " + event.error().message);
  return LoadedEvent{std::move(*event), std::nullopt};
}

bool Contains(const std::vector<const ObserverConfig*>& list, const ObserverConfig* observer) {
  return std::find(list.begin(), list.end(), observer) != list.end();
}

// One observer's verdict, in the JSON shape of the contract.
json Verdict(const ObserverConfig& observer, bool candidate, const EntityEvent& event) {
  json out = {{"name", observer.name}, {"matched", false}, {"condition_result", nullptr}};
  if (!candidate) {
    out["reason"] = !observer.enabled                          ? "disabled"
                    : !observer.MatchesEntity(event.entity_type) ? "entity mismatch"
                                                                 : "event kind mismatch";
    return out;
  }
  if (observer.condition) {
    Result<bool> result = observer.condition->Evaluate(event);
    if (!result) {
      out["reason"] = "condition error: " + result.error().message;
      return out;
    }
    out["condition_result"] = *result;
    if (!*result) {
      out["reason"] = "condition false";
      return out;
    }
  }
  out["matched"] = true;
  out["reason"] = "ok";
  json actions = json::array();
  for (size_t i = 0; i < observer.actions.size(); ++i) {
    const ActionConfig& action = observer.actions[i];
    actions.push_back({{"index", i},
                       {"type", ActionTypeName(action.type)},
                       {"rendered", PreviewAction(action, event)}});
  }
  out["actions"] = std::move(actions);
  return out;
}

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += prefix + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

void PrintText(const json& report, const LoadedEvent& loaded, const Config& config, std::ostream& out) {
  const EntityEvent& event = loaded.event;
  out << "Event " << event.id << ": " << EventKindName(event.event_type) << " " << event.entity_type
      << " " << event.entity_id;
  if (loaded.row_pk) out << " (from change-log row " << *loaded.row_pk << ")";
  out << "\n";
  size_t matched = 0;
  for (const json& observer : report["observers"]) if (observer["matched"].get<bool>()) ++matched;
  out << matched << " of " << config.observers.size() << " observers matched\n";
  size_t index = 0;
  for (const json& verdict : report["observers"]) {
    const ObserverConfig& observer = config.observers[index++];
    out << "\n" << (verdict["matched"].get<bool>() ? "MATCH " : "skip  ") << observer.name << " ("
        << observer.entity << " " << observer.event_kinds.ToString() << ")";
    if (!verdict["matched"].get<bool>()) out << ": " << verdict["reason"].get<std::string>();
    out << "\n";
    if (observer.condition) {
      out << "  condition: "
          << (observer.condition_from_environment ? Secret::kRedacted : observer.condition->source()) << " -> "
          << (verdict["condition_result"].is_null() ? "not evaluated" : DumpJson(verdict["condition_result"], -1))
          << "\n";
    }
    if (!verdict.contains("actions")) continue;
    for (const json& action : verdict["actions"]) {
      out << "  action " << action["index"].get<size_t>() << " (" << action["type"].get<std::string>()
          << ") would send:\n"
          << Indent(DumpJson(action["rendered"]), "    ");
    }
  }
}

}  // namespace

int RunDebugEvent(const DebugEventOptions& options, std::ostream& out, std::ostream& err) {
  const LoadResult loaded_config = LoadConfigFile(options.config_path);
  if (!loaded_config.ok()) {
    PrintDiagnostics(loaded_config.diagnostics, err);
    err << options.config_path << ": invalid: fix the config first ('fraiseql-observer validate "
        << options.config_path << "')\n";
    return kExitInvalidInput;
  }
  Result<LoadedEvent> loaded = LoadEventFile(options.event_path);
  if (!loaded) {
    err << loaded.error().message << "\n";
    return kExitInvalidInput;
  }
  const Config& config = *loaded_config.config;
  const EntityEvent& event = loaded->event;
  const ObserverIndex index(config.observers);
  const auto& candidates = index.Match(event.event_type, event.entity_type);

  json observers = json::array();
  for (const ObserverConfig& observer : config.observers) {
    observers.push_back(Verdict(observer, Contains(candidates, &observer), event));
  }
  json report = {{"event", EventToJson(event)}, {"observers", std::move(observers)}};

  if (options.format == OutputFormat::kJson) {
    out << DumpJson(report) << "\n";
  } else {
    PrintText(report, *loaded, config, out);
  }
  return kExitOk;
}

}  // namespace fraiseql::cli
