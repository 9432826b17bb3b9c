// `fraiseql-observer attach --table T --entity E [--pk C] [--pre-image]` and `detach --table T`.
// Everything the user typed reaches SQL as a parameter; identifiers are quoted server-side.
#include "cli/attach_command.h"

#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "cli/cli.h"
#include "cli/migrate_command.h"
#include "config/database_url.h"
#include "db/connection.h"
#include "db/migrations.h"

namespace fraiseql::cli {
namespace {

// Failures carry the whole line the user sees (after "fraiseql-observer: error: ").
using Failure = std::string;

std::optional<PgConnection> Connect(const std::string& flag_value, std::ostream& err, int* exit_code) {
  const Result<Secret> url = ResolveDatabaseUrl(flag_value, nullptr);
  if (!url) {
    err << "fraiseql-observer: error: " << url.error().message << "\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  Result<PgConnection> conn = PgConnection::Connect(*url, kConnectTimeout);
  if (!conn) {
    err << "fraiseql-observer: error: " << conn.error().message << "\n";
    *exit_code = kExitInvalidInput;
    return std::nullopt;
  }
  return std::move(*conn);
}

// The capture functions come with migration 002; the rest of the schema should match the
// binary too, so attach and detach ask for a fully migrated database.
std::optional<Failure> RequireMigrated(PgConnection& conn) {
  Result<std::vector<int>> pending = PendingMigrations(conn);
  if (!pending) return pending.error().message;
  if (pending->empty()) return std::nullopt;
  std::string names;
  for (const int version : *pending) {
    for (const Migration& migration : EmbeddedMigrations()) {
      if (migration.version == version) names += (names.empty() ? "" : ", ") + std::string(migration.name);
    }
  }
  return conn.description() + " is not migrated (pending: " + names +
         "): run `fraiseql-observer migrate` first";
}

struct Table {
  std::string name;  // schema-qualified and quoted where needed: public."Order Items"
};

// Resolves what the user typed the way PostgreSQL will (search_path, quoting) and checks that it
// is a table (views and the like take no capture triggers).
std::variant<Table, Failure> ResolveTable(PgConnection& conn, const std::string& typed) {
  if (typed.empty()) return Failure("--table must not be empty");
  const std::optional<std::string> param = typed;
  Result<PgResult> found = conn.Execute(
      "SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
      PgParams(&param, 1));
  if (!found) return Failure("invalid table name \"" + typed + "\": " + found.error().message);
  if (found->rows() == 0) return Failure("table " + typed + " does not exist in " + conn.description());
  Table table{std::string(found->Get(0, 0).value_or(typed))};
  const std::string_view kind = found->Get(0, 1).value_or("");
  if (kind != "r" && kind != "p") {
    const std::string what = kind == "v"   ? "a view"
                             : kind == "m" ? "a materialized view"
                             : kind == "f" ? "a foreign table"
                             : kind == "S" ? "a sequence"
                                           : "not a table (relkind " + std::string(kind) + ")";
    return Failure(table.name + " is " + what + ": capture triggers go on the table the rows are written to");
  }
  return table;
}

}  // namespace

int RunAttach(const AttachOptions& options, std::ostream& out, std::ostream& err) {
  int exit_code = kExitOk;
  std::optional<PgConnection> conn = Connect(options.database_url, err, &exit_code);
  if (!conn) return exit_code;
  const auto fail = [&](const Failure& message) {
    err << "fraiseql-observer: error: " << message << "\n";
    return kExitInvalidInput;
  };
  if (options.entity.empty()) return fail("--entity must not be empty");
  if (std::optional<Failure> unmigrated = RequireMigrated(*conn)) return fail(*unmigrated);
  std::variant<Table, Failure> resolved = ResolveTable(*conn, options.table);
  if (const Failure* failure = std::get_if<Failure>(&resolved)) return fail(*failure);
  const Table& table = std::get<Table>(resolved);

  // The key column, checked here for a message that lists the alternatives (the server function
  // checks it too, for callers of its own).
  const std::optional<std::string> column_params[] = {table.name, options.pk};
  Result<PgResult> column = conn->Execute(
      "SELECT format_type(atttypid, atttypmod), "
      "(SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
      " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped) "
      "FROM (SELECT 1) one LEFT JOIN pg_attribute "
      "ON attrelid = $1::regclass AND attname = $2 AND attnum > 0 AND NOT attisdropped",
      column_params);
  if (!column) return fail("cannot read the columns of " + table.name + ": " + column.error().message);
  const std::optional<std::string_view> column_type = column->Get(0, 0);
  if (!column_type) {
    return fail("table " + table.name + " has no column \"" + options.pk + "\" (its columns: " +
                std::string(column->Get(0, 1).value_or("none")) + "); name the key column with --pk");
  }

  const std::optional<std::string> table_param = table.name;
  Result<PgResult> existing = conn->Execute(
      "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass "
      "AND tgname IN ('tr_fraiseql_observer_ins', 'tr_fraiseql_observer_upd', 'tr_fraiseql_observer_del')",
      PgParams(&table_param, 1));
  const bool replaced = existing && existing->Get(0, 0).value_or("0") != "0";

  const std::optional<std::string> params[] = {table.name, options.entity, options.pk,
                                               options.pre_image ? "true" : "false"};
  Result<PgResult> attached =
      conn->Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", params);
  if (!attached) return fail("cannot attach to " + table.name + ": " + attached.error().message);

  if (*column_type != "uuid") {
    err << "fraiseql-observer: warning: " << table.name << "." << options.pk << " is " << *column_type
        << ": only rows whose " << options.pk << " holds a UUID are recorded\n";
  }
  out << "attached to " << table.name << (replaced ? " (its previous capture triggers replaced)" : "")
      << ": INSERT, UPDATE and DELETE are recorded in core.tb_entity_change_log as " << options.entity
      << " (key column " << options.pk << ", " << (options.pre_image ? "with" : "without") << " pre-image)\n";
  return kExitOk;
}

int RunDetach(const DetachOptions& options, std::ostream& out, std::ostream& err) {
  int exit_code = kExitOk;
  std::optional<PgConnection> conn = Connect(options.database_url, err, &exit_code);
  if (!conn) return exit_code;
  const auto fail = [&](const Failure& message) {
    err << "fraiseql-observer: error: " << message << "\n";
    return kExitInvalidInput;
  };
  if (std::optional<Failure> unmigrated = RequireMigrated(*conn)) return fail(*unmigrated);
  std::variant<Table, Failure> resolved = ResolveTable(*conn, options.table);
  if (const Failure* failure = std::get_if<Failure>(&resolved)) return fail(*failure);
  const Table& table = std::get<Table>(resolved);

  const std::optional<std::string> param = table.name;
  Result<PgResult> detached = conn->Execute("SELECT core.fn_observer_detach($1::regclass)", PgParams(&param, 1));
  if (!detached) return fail("cannot detach from " + table.name + ": " + detached.error().message);
  if (detached->Get(0, 0) == "t") {
    out << "detached from " << table.name << ": its capture triggers are removed\n";
  } else {
    out << table.name << " had no capture triggers: nothing to remove\n";
  }
  return kExitOk;
}

}  // namespace fraiseql::cli
