// `fraiseql-observer debug-event --config C --event E [--format text|json] [--execute]`: shows,
// for every observer, whether the event reaches it and why, and what its actions would send.
// Without --execute it has no side effects; with it, the matched actions run for real.
#include <algorithm>
#include <optional>
#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/action_preview.h"
#include "cli/delivery_run.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/url.h"
#include "common/json_limits.h"
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
  // The event file is JSON from outside like a change-log row, under the same limits
  // (docs/security.md): the event reader copies and dumps it, recursing once per level.
  const JsonLimits limits;
  Result<std::string> text = ReadWholeFile(path, limits.max_bytes);
  if (!text && text.error().DetailCode(kFileErrorDomain) == kFileTooLarge) {
    return Error::InvalidArgument(path + ": error: the event file is larger than " +
                                  std::to_string(limits.max_bytes >> 20) + " MiB, the limit for JSON input");
  }
  if (!text) return Error::InvalidArgument(path + ": error: cannot open the event file: " + text.error().message);
  Result<json> parsed = ParseJsonWithin(*text, limits);
  if (!parsed) {
    const SourceLocation where = parsed.error().location.value_or(SourceLocation{});
    return Error::InvalidArgument(path + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                                  ": error: " + parsed.error().message);
  }
  const json& document = *parsed;
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

struct ActionPreviewEntry {
  size_t index = 0;
  ActionType type = ActionType::kLog;
  json rendered;
};

// What the dry run decided for one observer; rendered as JSON or as text.
struct ObserverVerdict {
  const ObserverConfig* observer = nullptr;
  bool matched = false;
  std::string reason;
  std::optional<bool> condition_result;  // nullopt: no condition, not evaluated, or an error
  std::vector<ActionPreviewEntry> actions;
};

// Why `observer` was not a candidate at all.
std::string_view MismatchReason(const ObserverConfig& observer, const EntityEvent& event) {
  if (!observer.enabled) return "disabled";
  return observer.MatchesEntity(event.entity_type) ? "event kind mismatch" : "entity mismatch";
}

ObserverVerdict Judge(const ObserverConfig& observer, const EventMatch& match, const EntityEvent& event) {
  ObserverVerdict verdict{&observer, false, "", std::nullopt, {}};
  if (const EventMatch::ConditionError* failed = match.ErrorOf(&observer)) {
    verdict.reason = "condition error: " + observer.ConditionErrorText(failed->error.message);
    return verdict;
  }
  const bool condition_false = std::find(match.condition_false.begin(), match.condition_false.end(), &observer) !=
                               match.condition_false.end();
  if (condition_false) {
    verdict.condition_result = false;
    verdict.reason = "condition false";
    return verdict;
  }
  if (!match.Matched(&observer)) {
    verdict.reason = std::string(MismatchReason(observer, event));
    return verdict;
  }
  if (observer.condition) verdict.condition_result = true;
  verdict.matched = true;
  verdict.reason = "ok";
  for (size_t i = 0; i < observer.actions.size(); ++i) {
    const ActionConfig& action = observer.actions[i];
    verdict.actions.push_back({i, action.type, PreviewAction(action, event)});
  }
  return verdict;
}

// The JSON shape of the command's contract (docs/cli.md).
json ToJson(const ObserverVerdict& verdict) {
  json out = {{"name", verdict.observer->name},
              {"matched", verdict.matched},
              {"reason", verdict.reason},
              {"condition_result", verdict.condition_result ? json(*verdict.condition_result) : json()}};
  if (verdict.matched) {
    json actions = json::array();
    for (const ActionPreviewEntry& action : verdict.actions) {
      actions.push_back({{"index", action.index}, {"type", ActionTypeName(action.type)}, {"rendered", action.rendered}});
    }
    out["actions"] = std::move(actions);
  }
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

void PrintVerdict(const ObserverVerdict& verdict, std::ostream& out) {
  const ObserverConfig& observer = *verdict.observer;
  out << "\n" << (verdict.matched ? "MATCH " : "skip  ") << observer.name << " (" << observer.entity
      << " " << observer.event_kinds.ToString() << ")";
  if (!verdict.matched) out << ": " << verdict.reason;
  out << "\n";
  if (observer.condition) {
    out << "  condition: "
        << (observer.condition_from_environment ? Secret::kRedacted : observer.condition->source())
        << " -> "
        << (verdict.condition_result ? (*verdict.condition_result ? "true" : "false") : "not evaluated")
        << "\n";
  }
  for (const ActionPreviewEntry& action : verdict.actions) {
    out << "  action " << action.index << " (" << ActionTypeName(action.type) << ") would send:\n"
        << Indent(DumpJson(action.rendered), "    ");
  }
}

void PrintText(const std::vector<ObserverVerdict>& verdicts, const LoadedEvent& loaded, std::ostream& out) {
  const EntityEvent& event = loaded.event;
  out << "Event " << event.id << ": " << EventKindName(event.event_type) << " " << event.entity_type
      << " " << event.entity_id;
  if (loaded.row_pk) out << " (from change-log row " << *loaded.row_pk << ")";
  out << "\n";
  const auto matched = std::count_if(verdicts.begin(), verdicts.end(),
                                     [](const ObserverVerdict& verdict) { return verdict.matched; });
  out << matched << " of " << verdicts.size() << " observers matched\n";
  for (const ObserverVerdict& verdict : verdicts) PrintVerdict(verdict, out);
}

void PrintReports(const std::vector<DeliveryReport>& reports, std::ostream& out) {
  out << "\nDeliveries performed:\n";
  if (reports.empty()) out << "  none (no observer matched)\n";
  for (const DeliveryReport& report : reports) {
    const Delivery& delivery = report.delivery;
    out << "  " << delivery.observer << " action " << delivery.action_index << " ("
        << ActionTypeName(report.action_type) << ") " << delivery.id << ": "
        << (report.finished ? FinalOutcomeName(report.outcome) : "unfinished") << " after "
        << delivery.attempts.size() << (delivery.attempts.size() == 1 ? " attempt\n" : " attempts\n");
    for (size_t i = 0; i < delivery.attempts.size(); ++i) {
      const AttemptRecord& attempt = delivery.attempts[i];
      out << "    " << (i + 1) << ". " << DeliveryOutcomeKindName(attempt.outcome) << " in "
          << static_cast<double>(attempt.duration.count()) / 1000.0 << " ms";
      if (!attempt.error.empty()) out << ": " << RedactUrlsIn(attempt.error);
      out << "\n";
    }
  }
}

bool AllSucceeded(const std::vector<DeliveryReport>& reports) {
  return std::all_of(reports.begin(), reports.end(), [](const DeliveryReport& report) {
    return report.finished && report.outcome == FinalOutcome::kSuccess;
  });
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
  const EventMatch match = MatchEvent(index, event);

  std::vector<ObserverVerdict> verdicts;
  for (const ObserverConfig& observer : config.observers) verdicts.push_back(Judge(observer, match, event));

  std::optional<std::vector<DeliveryReport>> reports;
  if (options.execute) {
    Result<std::vector<DeliveryReport>> run =
        RunDeliveries(config, std::make_shared<const EntityEvent>(event), match.matched);
    if (!run) {
      err << options.config_path << ": error: " << run.error().message << "\n";
      return kExitInvalidInput;
    }
    reports = std::move(*run);
  }

  if (options.format == OutputFormat::kJson) {
    json observers = json::array();
    for (const ObserverVerdict& verdict : verdicts) observers.push_back(ToJson(verdict));
    json document = {{"event", EventToJson(event)}, {"observers", std::move(observers)}};
    if (reports) {
      json deliveries = json::array();
      for (const DeliveryReport& report : *reports) deliveries.push_back(DeliveryReportToJson(report));
      document["deliveries"] = std::move(deliveries);
    }
    out << DumpJson(document) << "\n";
  } else {
    PrintText(verdicts, *loaded, out);
    if (reports) PrintReports(*reports, out);
  }
  if (reports && !AllSucceeded(*reports)) return kExitDeliveryFailed;
  return kExitOk;
}

}  // namespace fraiseql::cli
