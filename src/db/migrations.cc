#include "db/migrations.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <libpq-fe.h>

#include "db/sqlstate.h"

namespace fraiseql {
namespace {

struct Recorded {
  std::string name;
  std::string checksum;
};

// READ COMMITTED explicitly: each statement then takes a fresh snapshot, so the re-check that
// follows the lock sees what the migrator we waited for committed. Under a server default of
// REPEATABLE READ the snapshot would predate the wait and we would apply a migration twice.
constexpr std::string_view kBegin = "BEGIN ISOLATION LEVEL READ COMMITTED";

// One migrator transaction holding the advisory lock. Rolls back unless committed, so every
// early return of an error leaves the database as it was before BEGIN.
class LockedTransaction {
 public:
  static Result<LockedTransaction> Begin(PgConnection& conn) {
    FRAISEQL_RETURN_IF_ERROR(conn.Execute(kBegin));
    LockedTransaction transaction(conn);
    const std::optional<std::string> key = std::to_string(kMigrationLockKey);
    FRAISEQL_RETURN_IF_ERROR(conn.Execute("SELECT pg_advisory_xact_lock($1::bigint)", PgParams(&key, 1)));
    return transaction;
  }

  LockedTransaction(LockedTransaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  LockedTransaction& operator=(LockedTransaction&&) = delete;
  LockedTransaction(const LockedTransaction&) = delete;
  LockedTransaction& operator=(const LockedTransaction&) = delete;

  ~LockedTransaction() {
    // Nothing to report to: the error that made us leave early is already on its way out, and
    // on a lost connection the server rolls back by itself.
    if (conn_ != nullptr && conn_->healthy()) (void)conn_->Execute("ROLLBACK");
  }

  Result<void> Commit() {
    PgConnection* conn = std::exchange(conn_, nullptr);
    FRAISEQL_RETURN_IF_ERROR(conn->Execute("COMMIT"));
    return Ok();
  }

 private:
  explicit LockedTransaction(PgConnection& conn) : conn_(&conn) {}
  PgConnection* conn_;
};

std::optional<int> ParseVersion(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  int version = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), version);
  if (error != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return version;
}

Result<void> CheckOrder(std::span<const Migration> migrations) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return Error::InvalidArgument("migrations must have ascending, unique versions: " +
                                    std::string(migrations[i].name) + " follows " +
                                    std::string(migrations[i - 1].name));
    }
  }
  return Ok();
}

Result<bool> MigrationsTableExists(PgConnection& conn) {
  const std::optional<std::string> table{std::string(kMigrationsTable)};
  PgResult result(nullptr);
  FRAISEQL_ASSIGN_OR_RETURN(result, conn.Execute("SELECT to_regclass($1) IS NOT NULL", PgParams(&table, 1)));
  return result.rows() == 1 && result.Get(0, 0) == "t";
}

Result<std::map<int, Recorded>> ReadRecorded(PgConnection& conn) {
  PgResult result(nullptr);
  FRAISEQL_ASSIGN_OR_RETURN(
      result, conn.Execute("SELECT version, name, checksum FROM " + std::string(kMigrationsTable)));
  std::map<int, Recorded> recorded;
  for (size_t row = 0; row < result.rows(); ++row) {
    const std::optional<int> version = ParseVersion(result.Get(row, 0));
    if (!version) return Error::Internal(std::string(kMigrationsTable) + " holds a row without a version");
    recorded[*version] = Recorded{std::string(result.Get(row, 1).value_or("")),
                                  std::string(result.Get(row, 2).value_or(""))};
  }
  return recorded;
}

// Applied migrations are never run again, so an edit to one would silently never reach the
// databases that already have it: refuse, and say which one.
Result<void> CheckChecksum(const Migration& migration, const Recorded& recorded) {
  if (recorded.checksum == migration.checksum) return Ok();
  return Error::FailedPrecondition(
      "migration " + std::string(migration.name) + " was applied with checksum " +
      recorded.checksum.substr(0, 12) + "... but this fraiseql-observer embeds " +
      std::string(migration.checksum.substr(0, 12)) +
      "...: an applied migration was edited. Restore its original text and put the change into "
      "a new migration; nothing was applied");
}

// Sorts the embedded migrations against what the database recorded. Fails on the first edited one.
Result<MigrationReport> Classify(std::span<const Migration> migrations, const std::map<int, Recorded>& recorded,
                                 MigrationMode mode) {
  MigrationReport report;
  report.mode = mode;
  for (const Migration& migration : migrations) {
    const auto found = recorded.find(migration.version);
    if (found == recorded.end()) {
      report.pending.push_back({migration.version, std::string(migration.name)});
      continue;
    }
    FRAISEQL_RETURN_IF_ERROR(CheckChecksum(migration, found->second));
    report.already_applied.push_back({migration.version, std::string(migration.name)});
  }
  for (const auto& [version, row] : recorded) {
    bool embedded = false;
    for (const Migration& migration : migrations) embedded = embedded || migration.version == version;
    if (!embedded) report.unknown.push_back({version, row.name});
  }
  return report;
}

// What the database has, read without writing anything (no table is created).
Result<MigrationReport> ReadOnlyReport(PgConnection& conn, std::span<const Migration> migrations,
                                       MigrationMode mode) {
  bool exists = false;
  FRAISEQL_ASSIGN_OR_RETURN(exists, MigrationsTableExists(conn));
  std::map<int, Recorded> recorded;
  if (exists) FRAISEQL_ASSIGN_OR_RETURN(recorded, ReadRecorded(conn));
  return Classify(migrations, recorded, mode);
}

Result<void> CreateMigrationsTable(PgConnection& conn) {
  // Under the lock: two sessions running CREATE TABLE IF NOT EXISTS at once can both pass the
  // existence check, and the second then fails on pg_type's unique index.
  auto begun = LockedTransaction::Begin(conn);
  if (!begun) return begun.error();
  LockedTransaction transaction = std::move(*begun);
  FRAISEQL_RETURN_IF_ERROR(conn.Execute("CREATE TABLE IF NOT EXISTS " + std::string(kMigrationsTable) +
                                        " (version INT PRIMARY KEY,"
                                        " name TEXT NOT NULL,"
                                        " checksum TEXT NOT NULL,"
                                        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"));
  return transaction.Commit();
}

// Applies one migration unless a concurrent migrator did while we waited for the lock.
// Returns whether this call applied it.
Result<bool> ApplyOne(PgConnection& conn, const Migration& migration) {
  auto begun = LockedTransaction::Begin(conn);
  if (!begun) return begun.error();
  LockedTransaction transaction = std::move(*begun);

  const std::optional<std::string> version = std::to_string(migration.version);
  PgResult existing(nullptr);
  FRAISEQL_ASSIGN_OR_RETURN(existing, conn.Execute("SELECT name, checksum FROM " + std::string(kMigrationsTable) +
                                                       " WHERE version = $1::int",
                                                   PgParams(&version, 1)));
  if (existing.rows() == 1) {
    FRAISEQL_RETURN_IF_ERROR(CheckChecksum(
        migration, Recorded{std::string(existing.Get(0, 0).value_or("")), std::string(existing.Get(0, 1).value_or(""))}));
    FRAISEQL_RETURN_IF_ERROR(transaction.Commit());
    return false;
  }

  if (Result<void> ran = conn.ExecuteScript(migration.sql); !ran) {
    Error error = ran.error();
    error.message = "migration " + std::string(migration.name) + " failed and was rolled back: " + error.message;
    return error;
  }
  const std::optional<std::string> params[] = {version, std::string(migration.name), std::string(migration.checksum)};
  FRAISEQL_RETURN_IF_ERROR(conn.Execute("INSERT INTO " + std::string(kMigrationsTable) +
                                            " (version, name, checksum) VALUES ($1::int, $2, $3)",
                                        params));
  FRAISEQL_RETURN_IF_ERROR(transaction.Commit());
  return true;
}

}  // namespace

Result<MigrationReport> ApplyMigrations(PgConnection& conn, std::span<const Migration> migrations,
                                        MigrationMode mode) {
  FRAISEQL_RETURN_IF_ERROR(CheckOrder(migrations));
  if (mode == MigrationMode::kDryRun) return ReadOnlyReport(conn, migrations, mode);

  FRAISEQL_RETURN_IF_ERROR(CreateMigrationsTable(conn));
  // Every recorded checksum is checked before anything is applied, so an edited migration stops
  // the run with the schema untouched.
  MigrationReport report;
  FRAISEQL_ASSIGN_OR_RETURN(report, ReadOnlyReport(conn, migrations, mode));
  std::vector<MigrationRef> pending = std::move(report.pending);
  report.pending.clear();
  for (const MigrationRef& ref : pending) {
    const Migration* migration = nullptr;
    for (const Migration& candidate : migrations) {
      if (candidate.version == ref.version) migration = &candidate;
    }
    bool applied_here = false;
    FRAISEQL_ASSIGN_OR_RETURN(applied_here, ApplyOne(conn, *migration));
    (applied_here ? report.applied : report.already_applied).push_back(ref);
  }
  std::sort(report.already_applied.begin(), report.already_applied.end(),
            [](const MigrationRef& a, const MigrationRef& b) { return a.version < b.version; });
  return report;
}

Result<MigrationReport> ApplyMigrations(PgConnection& conn, MigrationMode mode) {
  return ApplyMigrations(conn, EmbeddedMigrations(), mode);
}

Result<std::vector<int>> PendingMigrations(PgConnection& conn, std::span<const Migration> migrations) {
  FRAISEQL_RETURN_IF_ERROR(CheckOrder(migrations));
  MigrationReport report;
  FRAISEQL_ASSIGN_OR_RETURN(report, ReadOnlyReport(conn, migrations, MigrationMode::kDryRun));
  std::vector<int> versions;
  for (const MigrationRef& ref : report.pending) versions.push_back(ref.version);
  return versions;
}

Result<std::vector<int>> PendingMigrations(PgConnection& conn) {
  return PendingMigrations(conn, EmbeddedMigrations());
}

}  // namespace fraiseql
