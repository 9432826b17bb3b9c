#include "cli/cli.h"

#include <map>
#include <ostream>

#include <CLI/CLI.hpp>

#include "cli/attach_command.h"
#include "cli/commands.h"
#include "cli/dlq_command.h"
#include "cli/migrate_command.h"
#include "cli/receive_command.h"
#include "cli/run_command.h"

namespace fraiseql::cli {
namespace {

const std::map<std::string, OutputFormat> kFormats = {{"text", OutputFormat::kText},
                                                       {"json", OutputFormat::kJson}};

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"fraiseql-observer: runs actions (webhooks, Slack, email, ...) for the changes "
               "recorded in a PostgreSQL entity change log"};
  app.name("fraiseql-observer");
  app.set_version_flag("--version", "fraiseql-observer " FRAISEQL_VERSION);
  app.require_subcommand(1);

  ValidateOptions validate;
  CLI::App* validate_command =
      app.add_subcommand("validate", "Check a config file and report every problem as file:line:col");
  validate_command->add_option("config", validate.config_path, "The TOML config file")->required();
  validate_command->add_option("--format", validate.format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case));

  DebugEventOptions debug;
  CLI::App* debug_command = app.add_subcommand(
      "debug-event",
      "Show which observers an event matches and what their actions would send; with --execute, send it");
  debug_command->add_option("--config", debug.config_path, "The TOML config file")->required();
  debug_command
      ->add_option("--event", debug.event_path,
                   "A JSON file holding an EntityEvent or a core.tb_entity_change_log row")
      ->required();
  debug_command->add_option("--format", debug.format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case));
  debug_command->add_flag("--execute", debug.execute,
                          "Perform the matched actions for real (retries included) and report each delivery");

  RunOptions run;
  CLI::App* run_command = app.add_subcommand(
      "run", "Run the daemon: read the change log, deliver, until SIGTERM or SIGINT");
  run_command->add_option("--config", run.config_path, "The TOML config file")->required();
  run_command->add_option("--log-format", run.log_format, "Log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}));
  run_command->add_option("--log-level", run.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  MigrateOptions migrate;
  CLI::App* migrate_command = app.add_subcommand(
      "migrate", "Apply the observer's schema migrations (additive; safe on a FraiseQL database)");
  migrate_command->add_option("--database-url", migrate.database_url,
                              "PostgreSQL URL (default: $DATABASE_URL, which keeps it out of `ps`)");
  migrate_command->add_flag("--dry-run", migrate.dry_run, "Show the pending migrations, change nothing");
  migrate_command->add_option("--format", migrate.format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case));

  AttachOptions attach;
  CLI::App* attach_command = app.add_subcommand(
      "attach", "Install the change-log capture triggers on an application table");
  attach_command->add_option("--database-url", attach.database_url, "PostgreSQL URL (default: $DATABASE_URL)");
  attach_command->add_option("--table", attach.table, "The table, as schema.table or table")->required();
  attach_command->add_option("--entity", attach.entity, "The entity type its rows are (object_type), e.g. Order")
      ->required();
  attach_command->add_option("--pk", attach.pk, "The UUID column that identifies a row (default: id)");
  attach_command->add_flag("--pre-image", attach.pre_image,
                           "Also record the row as it was before UPDATE and DELETE (enables field_changed)");

  DetachOptions detach;
  CLI::App* detach_command = app.add_subcommand("detach", "Remove the capture triggers from an application table");
  detach_command->add_option("--database-url", detach.database_url, "PostgreSQL URL (default: $DATABASE_URL)");
  detach_command->add_option("--table", detach.table, "The table, as schema.table or table")->required();

  ReceiveOptions receive;
  CLI::App* receive_command = AddReceiveCommand(app, receive);
  DlqCommand dlq(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    out << "fraiseql-observer " FRAISEQL_VERSION "\n";
    return kExitOk;
  } catch (const CLI::ParseError& error) {
    // Subcommand help (`validate --help`) arrives here as a ParseError with exit code 0.
    if (error.get_exit_code() == 0) {
      const CLI::App* sub = !app.get_subcommands().empty() ? app.get_subcommands().front() : &app;
      out << sub->help();
      return kExitOk;
    }
    err << "fraiseql-observer: " << error.what() << "\n"
        << "Run 'fraiseql-observer --help' for usage.\n";
    return kExitUsage;
  }

  try {
    if (validate_command->parsed()) return RunValidate(validate, out, err);
    if (debug_command->parsed()) return RunDebugEvent(debug, out, err);
    if (run_command->parsed()) return RunRun(run, out, err);
    if (migrate_command->parsed()) return RunMigrate(migrate, out, err);
    if (attach_command->parsed()) return RunAttach(attach, out, err);
    if (detach_command->parsed()) return RunDetach(detach, out, err);
    if (receive_command->parsed()) return RunReceiveCommand(receive, out, err);
    if (dlq.parsed()) return dlq.Run(out, err);
  } catch (const std::exception& error) {
    // A library threw on input we did not anticipate: report it rather than abort.
    err << "fraiseql-observer: error: " << error.what() << "\n";
    return kExitInvalidInput;
  }
  err << app.help();
  return kExitUsage;
}

}  // namespace fraiseql::cli
