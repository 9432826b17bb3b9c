// `fraiseql-observer migrate [--database-url URL] [--dry-run] [--format text|json]`
#include "cli/migrate_command.h"

#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/output.h"
#include "config/database_url.h"
#include "db/connection.h"
#include "db/migrations.h"

namespace fraiseql::cli {
namespace {

nlohmann::json RefsToJson(const std::vector<MigrationRef>& refs) {
  nlohmann::json list = nlohmann::json::array();
  for (const MigrationRef& ref : refs) list.push_back({{"version", ref.version}, {"name", ref.name}});
  return list;
}

std::string Plural(size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

void PrintText(const std::string& database, const MigrationReport& report, std::ostream& out, std::ostream& err) {
  const bool dry_run = report.mode == MigrationMode::kDryRun;
  for (const MigrationRef& ref : report.applied) out << "applied " << ref.name << "\n";
  for (const MigrationRef& ref : report.pending) out << (dry_run ? "would apply " : "pending ") << ref.name << "\n";
  for (const MigrationRef& ref : report.unknown) {
    err << "fraiseql-observer: note: " << database << " records migration " << ref.name
        << ", which this fraiseql-observer does not know: a newer version migrated this database\n";
  }
  if (dry_run) {
    out << database << ": dry run, nothing changed: " << report.pending.size() << " pending, "
        << report.already_applied.size() << " already applied\n";
    return;
  }
  out << database << ": up to date: " << Plural(report.applied.size(), "migration") << " applied now, "
      << report.already_applied.size() << " before\n";
}

}  // namespace

int RunMigrate(const MigrateOptions& options, std::ostream& out, std::ostream& err) {
  // No config here: the URL is --database-url, else DATABASE_URL (better: it stays out of `ps`).
  const Result<Secret> url = ResolveDatabaseUrl(options.database_url, nullptr);
  if (!url) {
    err << "fraiseql-observer: error: " << url.error().message << "\n";
    return kExitUsage;
  }
  const MigrationMode mode = options.dry_run ? MigrationMode::kDryRun : MigrationMode::kApply;
  const bool json = options.format == OutputFormat::kJson;

  // Every failure on the way: in JSON mode as {"error"} on stdout, so a script reads one document
  // whatever happened. Messages come from db/, which never includes the URL's password.
  const auto fail = [&](const nlohmann::json& database, const std::string& message) {
    if (json) {
      out << DumpJson({{"database", database}, {"dry_run", options.dry_run}, {"error", message}}) << "\n";
    } else {
      err << "fraiseql-observer: error: " << message << "\n";
    }
    return kExitInvalidInput;
  };

  Result<PgConnection> conn = PgConnection::Connect(*url, kConnectTimeout);
  if (!conn) return fail(nullptr, conn.error().message);
  const std::string database = conn->description();
  Result<MigrationReport> report = ApplyMigrations(*conn, mode);
  if (!report) return fail(database, report.error().message);

  if (json) {
    out << DumpJson({{"database", database},
                     {"dry_run", options.dry_run},
                     {"applied", RefsToJson(report->applied)},
                     {"already_applied", RefsToJson(report->already_applied)},
                     {"pending", RefsToJson(report->pending)},
                     {"unknown", RefsToJson(report->unknown)}})
        << "\n";
  } else {
    PrintText(database, *report, out, err);
  }
  return kExitOk;
}

}  // namespace fraiseql::cli
