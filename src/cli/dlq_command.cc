#include "cli/dlq_command.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <sstream>
#include <string_view>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/numeric_option.h"
#include "cli/output.h"
#include "common/timestamp.h"
#include "common/url.h"
#include "config/config.h"
#include "config/database_url.h"
#include "db/connection.h"
#include "dlq/postgres_dead_letter_store.h"

namespace fraiseql::cli {

struct DlqCommand::Options {
  CLI::App* dlq = nullptr;
  CLI::App* list = nullptr;
  CLI::App* show = nullptr;
  CLI::App* retry = nullptr;
  CLI::App* purge = nullptr;

  std::string database_url;
  std::string config_path;
  OutputFormat format = OutputFormat::kText;
  std::string id;  // show, retry, purge
  bool all = false;
  bool dry_run = false;
  std::string observer;
  std::string entity;
  std::string since;
  size_t limit = 0;
  size_t list_limit = 50;
};

namespace {

using std::chrono::system_clock;

constexpr std::chrono::milliseconds kConnectTimeout{10000};
// More dead letters than a table on a terminal or one JSON array is for; 0 means "all".
constexpr int64_t kMaxLimit = 1'000'000;

const std::map<std::string, OutputFormat> kFormats = {{"text", OutputFormat::kText}, {"json", OutputFormat::kJson}};

// A failure with the exit code it calls for.
struct Failure {
  int exit_code;
  std::string message;
};

void AddCommonOptions(CLI::App* command, DlqCommand::Options& options) {
  command->add_option("--database-url", options.database_url,
                      "PostgreSQL URL of the observer's database (else --config's [database] url, else DATABASE_URL)");
  command->add_option("--config", options.config_path, "A config file whose [database] url to use");
  command->add_option("--format", options.format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case));
}

void AddFilterOptions(CLI::App* command, DlqCommand::Options& options, size_t* limit, const std::string& limit_help) {
  command->add_option("--observer", options.observer, "Only dead letters of this observer");
  command->add_option("--entity", options.entity, "Only dead letters of this entity type");
  command->add_option("--since", options.since,
                      "Only dead letters created since this time: RFC 3339 (2026-11-29T12:00:00Z) or a duration "
                      "back from now (90s, 30m, 1h, 7d, 2w)");
  command->add_option("--limit", *limit, limit_help)->check(IntegerRange(0, kMaxLimit));
}

bool HasFilter(const DlqCommand::Options& options) {
  return !options.observer.empty() || !options.entity.empty() || !options.since.empty() || options.limit > 0;
}

// Further back than this is a typo, and beyond what a system_clock time point holds anyway.
constexpr int64_t kMaxSinceSeconds = int64_t{100} * 366 * 86400;

// "7d" -> now - 7 days; otherwise an RFC 3339 time. The error says why not.
std::variant<system_clock::time_point, std::string> ParseSince(std::string_view text, system_clock::time_point now) {
  const std::string_view kForms =
      "' is neither an RFC 3339 time (2026-11-29T12:00:00Z) nor a duration like 30m, 1h or 7d";
  if (text.size() >= 2 && !text.starts_with("-")) {
    const char unit = text.back();
    const std::string_view digits = text.substr(0, text.size() - 1);
    const int64_t unit_seconds = unit == 's'   ? 1
                                 : unit == 'm' ? 60
                                 : unit == 'h' ? 3600
                                 : unit == 'd' ? 86400
                                 : unit == 'w' ? 7 * 86400
                                               : 0;
    int64_t count = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (unit_seconds > 0 && end == digits.data() + digits.size() &&
        (ec == std::errc::result_out_of_range || (ec == std::errc() && count > kMaxSinceSeconds / unit_seconds))) {
      return "'" + std::string(text) + "' is more than 100 years back";
    }
    if (unit_seconds > 0 && ec == std::errc() && end == digits.data() + digits.size()) {
      return now - std::chrono::seconds(count * unit_seconds);
    }
  }
  Result<Timestamp> at = ParseTimestamp(text);
  if (!at) return "'" + std::string(text) + std::string(kForms);
  // Beyond what system_clock holds (about 1678 to 2262), a conversion would overflow.
  const auto earliest = std::chrono::time_point_cast<Timestamp::duration>(system_clock::time_point::min());
  const auto latest = std::chrono::time_point_cast<Timestamp::duration>(system_clock::time_point::max());
  if (*at <= earliest || *at >= latest) return "'" + std::string(text) + "' is outside the years 1678 to 2262";
  return std::chrono::time_point_cast<system_clock::duration>(*at);
}

std::variant<DeadLetterFilter, Failure> BuildFilter(const DlqCommand::Options& options, size_t limit) {
  DeadLetterFilter filter;
  if (!options.observer.empty()) filter.observer = options.observer;
  if (!options.entity.empty()) filter.entity_type = options.entity;
  if (!options.since.empty()) {
    std::variant<system_clock::time_point, std::string> since = ParseSince(options.since, system_clock::now());
    if (auto* why = std::get_if<std::string>(&since)) return Failure{kExitUsage, "--since: " + *why};
    filter.since = std::get<system_clock::time_point>(since);
  }
  filter.limit = limit;
  return filter;
}

std::variant<int64_t, Failure> ParseId(const std::string& text) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    return Failure{kExitUsage, "'" + text + "' is not a dead-letter id (a positive number, as `dlq list` shows)"};
  }
  return id;
}

// --database-url, else --config's [database] url, else DATABASE_URL (config/database_url.h).
std::variant<Secret, Failure> DatabaseUrl(const DlqCommand::Options& options, std::ostream& err) {
  std::optional<Config> config;
  // A config the flag overrides is not even read: a broken one must not stand in the way.
  if (options.database_url.empty() && !options.config_path.empty()) {
    LoadResult loaded = LoadConfigFile(options.config_path);
    if (!loaded.ok()) {
      PrintDiagnostics(loaded.diagnostics, err);
      return Failure{kExitInvalidInput, options.config_path + " is not a valid config file"};
    }
    config = std::move(loaded.config);
  }
  Result<Secret> url = ResolveDatabaseUrl(options.database_url, config ? &config->database : nullptr);
  if (!url) return Failure{kExitUsage, url.error().message};
  return std::move(*url);
}

std::string Time(system_clock::time_point at) {
  // Seconds are enough in a table; `show` and JSON give microseconds.
  std::string text = FormatTimestamp(at);
  if (const size_t dot = text.find('.'); dot != std::string::npos) text = text.substr(0, dot) + "Z";
  return text;
}

std::string Action(const DeadLetter& record) {
  if (!record.action_index) return "-";
  std::string text = std::to_string(*record.action_index);
  if (record.action_type) text += " (" + *record.action_type + ")";
  return text;
}

std::string OneLine(std::string text, size_t max) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

// What `dlq show` says about the failure: its kind, and what retrying would do.
std::string_view FailureText(const DeadLetter& record) {
  switch (record.failure()) {
    case DeadLetterFailure::kExhausted:
      return "exhausted: every attempt failed with a transient error (retryable); `dlq retry` may succeed now";
    case DeadLetterFailure::kPermanent:
      return "permanent: the last attempt's failure will repeat until its cause is fixed; then `dlq retry`";
    case DeadLetterFailure::kNotAttempted:
      return "not attempted: nothing in the configuration could perform it; restore the action, then `dlq retry`";
    case DeadLetterFailure::kPipeline:
      return "pipeline: not a delivery, so it cannot be retried; fix the cause, then purge it";
  }
  return "";
}

std::string Plural(size_t count, std::string_view one) {
  return std::to_string(count) + " " + std::string(one) + (count == 1 ? "" : "s");
}

void PrintTable(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

int RunList(DeadLetterStore& store, const DlqCommand::Options& options, std::ostream& out, std::ostream& err) {
  std::variant<DeadLetterFilter, Failure> filter = BuildFilter(options, options.list_limit);
  if (auto* failure = std::get_if<Failure>(&filter)) {
    err << "fraiseql-observer: " << failure->message << "\n";
    return failure->exit_code;
  }
  Result<std::vector<StoredDeadLetter>> letters = store.List(std::get<DeadLetterFilter>(filter));
  if (!letters) {
    err << "fraiseql-observer: error: " << letters.error().message << "\n";
    return kExitInvalidInput;
  }
  if (options.format == OutputFormat::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const StoredDeadLetter& letter : *letters) list.push_back(StoredDeadLetterToJson(letter));
    out << DumpJson(list) << "\n";
    return kExitOk;
  }
  if (letters->empty()) {
    out << "no dead letters\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "CREATED", "OBSERVER", "ACTION", "ENTITY", "ATTEMPTS", "RETRYABLE", "REASON"}};
  for (const StoredDeadLetter& letter : *letters) {
    const DeadLetter& record = letter.letter;
    rows.push_back({std::to_string(letter.id), Time(letter.created_at), record.observer.value_or("-"), Action(record),
                    record.entity_type.value_or("-"), std::to_string(record.attempts.size()),
                    record.transient() ? "yes" : "no", OneLine(RedactUrlsIn(record.reason), 80)});
  }
  PrintTable(rows, out);
  out << Plural(letters->size(), "dead letter");
  if (options.list_limit > 0 && letters->size() == options.list_limit) out << " (the --limit; there may be more)";
  out << "\n";
  return kExitOk;
}

int RunShow(DeadLetterStore& store, const DlqCommand::Options& options, int64_t id, std::ostream& out,
            std::ostream& err) {
  Result<StoredDeadLetter> letter = store.Get(id);
  if (!letter) {
    err << "fraiseql-observer: error: " << letter.error().message << "\n";
    return kExitInvalidInput;
  }
  if (options.format == OutputFormat::kJson) {
    out << DumpJson(StoredDeadLetterToJson(*letter)) << "\n";
    return kExitOk;
  }
  const DeadLetter& record = letter->letter;
  out << "dead letter " << letter->id << "\n";
  out << "  created:     " << FormatTimestamp(letter->created_at) << "\n";
  if (record.delivery_id) {
    out << "  delivery:    " << *record.delivery_id << "\n";
  } else {
    out << "  delivery:    none: a pipeline failure (it cannot be retried)\n";
  }
  out << "  listener:    " << (record.listener_id.empty() ? "-" : record.listener_id) << "\n";
  if (record.change_log_pk) out << "  change log:  row " << *record.change_log_pk << "\n";
  if (record.observer) out << "  observer:    " << *record.observer << ", action " << Action(record) << "\n";
  if (record.entity_type) out << "  entity:      " << *record.entity_type << "\n";
  out << "  retried:     " << Plural(static_cast<size_t>(letter->retry_count), "time");
  if (letter->last_retried_at) out << ", last at " << FormatTimestamp(*letter->last_retried_at);
  out << "\n";
  out << "  failure:     " << FailureText(record) << "\n";
  out << "  reason:      " << RedactUrlsIn(record.reason) << "\n";
  out << "  attempts:    " << record.attempts.size() << "\n";
  for (size_t i = 0; i < record.attempts.size(); ++i) {
    const AttemptRecord& attempt = record.attempts[i];
    std::ostringstream line;
    line << "    " << (i + 1) << ". " << FormatTimestamp(attempt.started_at) << "  "
         << DeliveryOutcomeKindName(attempt.outcome);
    if (attempt.status != 0) line << "  status " << attempt.status;
    line << "  " << static_cast<double>(attempt.duration.count()) / 1000.0 << " ms";
    if (!attempt.error.empty()) line << "  " << OneLine(RedactUrlsIn(attempt.error), 200);
    out << line.str() << "\n";
  }
  if (record.event) out << "  event:\n" << DumpJson(*record.event) << "\n";
  if (record.row_data) out << "  row data:\n" << DumpJson(*record.row_data) << "\n";
  return kExitOk;
}

// The selection of retry and purge: <id> or --all [filters], exactly one.
std::variant<DeadLetterSelector, Failure> BuildSelector(const DlqCommand::Options& options, std::string_view verb) {
  if (options.id.empty() == !options.all) {
    return Failure{kExitUsage, "dlq " + std::string(verb) + ": give a dead-letter id or --all, not " +
                                   (options.all ? "both" : "neither")};
  }
  DeadLetterSelector selector;
  if (!options.id.empty()) {
    if (HasFilter(options)) {
      return Failure{kExitUsage, "dlq " + std::string(verb) + ": --observer, --entity, --since and --limit go with --all"};
    }
    std::variant<int64_t, Failure> id = ParseId(options.id);
    if (auto* failure = std::get_if<Failure>(&id)) return *failure;
    selector.id = std::get<int64_t>(id);
    return selector;
  }
  std::variant<DeadLetterFilter, Failure> filter = BuildFilter(options, options.limit);
  if (auto* failure = std::get_if<Failure>(&filter)) return *failure;
  selector.filter = std::get<DeadLetterFilter>(filter);
  return selector;
}

std::string DeliveryText(const RetryItem& item) {
  std::string text = "delivery " + item.delivery_id.value_or("-");
  if (item.observer) {
    text += " (observer " + *item.observer;
    if (item.action_index) text += ", action " + std::to_string(*item.action_index);
    text += ")";
  }
  return text;
}

int RunRetry(DeadLetterStore& store, const DlqCommand::Options& options, const DeadLetterSelector& selector,
             std::ostream& out, std::ostream& err) {
  Result<RetryReport> report = store.Retry(selector, options.dry_run);
  if (!report) {
    err << "fraiseql-observer: error: " << report.error().message << "\n";
    return kExitInvalidInput;
  }
  const size_t refused = report->Count(RetryOutcome::kNotRetryable);
  const size_t retried = report->items.size() - refused;
  // Asked for one by id and it cannot be done: that is a failure, not a report.
  const int exit_code = selector.id && refused > 0 ? kExitInvalidInput : kExitOk;
  if (options.format == OutputFormat::kJson) {
    nlohmann::json items = nlohmann::json::array();
    for (const RetryItem& item : report->items) {
      items.push_back({{"id", item.id},
                       {"delivery_id", item.delivery_id ? nlohmann::json(*item.delivery_id) : nlohmann::json()},
                       {"observer", item.observer ? nlohmann::json(*item.observer) : nlohmann::json()},
                       {"action_index", item.action_index ? nlohmann::json(*item.action_index) : nlohmann::json()},
                       {"outcome", RetryOutcomeName(item.outcome)}});
    }
    out << DumpJson({{"dry_run", report->dry_run},
                     {"items", items},
                     {"enqueued", report->Count(RetryOutcome::kEnqueued)},
                     {"already_queued", report->Count(RetryOutcome::kAlreadyQueued)},
                     {"not_retryable", refused}})
        << "\n";
    return exit_code;
  }
  const bool dry = report->dry_run;
  for (const RetryItem& item : report->items) {
    out << "dead letter " << item.id << ": ";
    switch (item.outcome) {
      case RetryOutcome::kEnqueued:
        out << (dry ? "would re-enqueue " : "re-enqueued ") << DeliveryText(item) << "\n";
        break;
      case RetryOutcome::kAlreadyQueued:
        out << DeliveryText(item) << (dry ? " would not be queued twice: it is" : " is") << " already queued\n";
        break;
      case RetryOutcome::kNotRetryable:
        out << "cannot be retried: it records a pipeline failure (an unreadable change-log row, a failing "
               "condition, a job row that did not decode), not a delivery; fix the cause, then purge it\n";
        break;
    }
  }
  if (dry) {
    out << "dry run: would retry " << Plural(retried, "dead letter");
  } else {
    out << "retried " << Plural(retried, "dead letter");
  }
  if (refused > 0) out << "; " << refused << " cannot be retried";
  if (dry) out << "; nothing was changed";
  out << "\n";
  if (exit_code != kExitOk) err << "fraiseql-observer: dead letter " << *selector.id << " cannot be retried\n";
  return exit_code;
}

int RunPurge(DeadLetterStore& store, const DlqCommand::Options& options, const DeadLetterSelector& selector,
             std::ostream& out, std::ostream& err) {
  Result<PurgeReport> report = store.Purge(selector, options.dry_run);
  if (!report) {
    err << "fraiseql-observer: error: " << report.error().message << "\n";
    return kExitInvalidInput;
  }
  if (options.format == OutputFormat::kJson) {
    out << DumpJson({{"dry_run", report->dry_run}, {"ids", report->ids}, {"count", report->ids.size()}}) << "\n";
    return kExitOk;
  }
  std::string ids;
  for (size_t i = 0; i < report->ids.size(); ++i) ids += (i == 0 ? "" : ", ") + std::to_string(report->ids[i]);
  if (report->dry_run) {
    out << "dry run: would purge " << Plural(report->ids.size(), "dead letter");
    if (!ids.empty()) out << " (" << ids << ")";
    out << "; nothing was changed\n";
  } else {
    out << "purged " << Plural(report->ids.size(), "dead letter");
    if (!ids.empty()) out << " (" << ids << ")";
    out << "\n";
  }
  return kExitOk;
}

}  // namespace

DlqCommand::DlqCommand(CLI::App& app) : options_(std::make_unique<Options>()) {
  Options& o = *options_;
  o.dlq = app.add_subcommand("dlq", "List, show, retry and purge dead letters (deliveries that failed for good)");
  o.dlq->require_subcommand(1);

  o.list = o.dlq->add_subcommand("list", "List dead letters, oldest first");
  AddCommonOptions(o.list, o);
  AddFilterOptions(o.list, o, &o.list_limit, "At most this many (default 50; 0: all)");

  o.show = o.dlq->add_subcommand("show", "Show one dead letter: its event, every attempt and the reason");
  o.show->add_option("id", o.id, "The dead letter's id, as `dlq list` shows it")->required();
  AddCommonOptions(o.show, o);

  o.retry = o.dlq->add_subcommand(
      "retry", "Put dead-lettered deliveries back into the job queue, due now, attempts reset; only the failed "
               "action runs again");
  o.retry->add_option("id", o.id, "The dead letter's id");
  o.retry->add_flag("--all", o.all, "Every dead letter the filters select (all of them without filters)");
  o.retry->add_flag("--dry-run", o.dry_run, "Say what would happen and change nothing");
  AddCommonOptions(o.retry, o);
  AddFilterOptions(o.retry, o, &o.limit, "With --all: at most this many, oldest first (default: no limit)");

  o.purge = o.dlq->add_subcommand("purge", "Delete dead letters for good");
  o.purge->add_option("id", o.id, "The dead letter's id");
  o.purge->add_flag("--all", o.all, "Every dead letter the filters select (all of them without filters)");
  o.purge->add_flag("--dry-run", o.dry_run, "Say what would happen and change nothing");
  AddCommonOptions(o.purge, o);
  AddFilterOptions(o.purge, o, &o.limit, "With --all: at most this many, oldest first (default: no limit)");
}

DlqCommand::~DlqCommand() = default;

bool DlqCommand::parsed() const { return options_->dlq->parsed(); }

int DlqCommand::Run(std::ostream& out, std::ostream& err) const {
  const Options& o = *options_;
  auto fail = [&](const Failure& failure) {
    err << "fraiseql-observer: " << failure.message << "\n";
    if (failure.exit_code == kExitUsage) err << "Run 'fraiseql-observer dlq --help' for usage.\n";
    return failure.exit_code;
  };

  // Check the arguments before connecting, so a typo does not wait for a connection.
  std::optional<int64_t> show_id;
  std::optional<DeadLetterSelector> selector;
  if (o.show->parsed()) {
    std::variant<int64_t, Failure> id = ParseId(o.id);
    if (auto* failure = std::get_if<Failure>(&id)) return fail(*failure);
    show_id = std::get<int64_t>(id);
  } else if (o.retry->parsed() || o.purge->parsed()) {
    std::variant<DeadLetterSelector, Failure> built = BuildSelector(o, o.retry->parsed() ? "retry" : "purge");
    if (auto* failure = std::get_if<Failure>(&built)) return fail(*failure);
    selector = std::get<DeadLetterSelector>(built);
  } else if (o.list->parsed()) {
    std::variant<DeadLetterFilter, Failure> filter = BuildFilter(o, o.list_limit);
    if (auto* failure = std::get_if<Failure>(&filter)) return fail(*failure);
  }

  std::variant<Secret, Failure> url = DatabaseUrl(o, err);
  if (auto* failure = std::get_if<Failure>(&url)) return fail(*failure);
  Result<PgConnection> conn = PgConnection::Connect(std::get<Secret>(url), kConnectTimeout);
  if (!conn) {
    err << "fraiseql-observer: error: " << conn.error().message << "\n";
    return kExitInvalidInput;
  }
  PostgresDeadLetterStore store(&*conn);
  if (o.list->parsed()) return RunList(store, o, out, err);
  if (o.show->parsed()) return RunShow(store, o, *show_id, out, err);
  if (o.retry->parsed()) return RunRetry(store, o, *selector, out, err);
  return RunPurge(store, o, *selector, out, err);
}

}  // namespace fraiseql::cli
