// Schema migrations: the versioned SQL of migrations/NNN_name.sql, embedded in the binary, applied
// in version order and recorded in observer_schema_migrations, each in its own transaction.
// Thread-safety: stateless functions; the PgConnection passed in is used by the calling thread
// only. Concurrent migrators (threads or processes) serialize on a PostgreSQL advisory lock.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "db/connection.h"

namespace fraiseql {

struct Migration {
  int version = 0;             // NNN of migrations/NNN_name.sql; ascending, unique
  std::string_view name;       // "NNN_name": the file name without ".sql"
  std::string_view sql;        // the file's text (carriage returns removed); may hold many statements
  std::string_view checksum;   // SHA-256 of `sql`, lower-case hex; recorded when applied
};

// Every migration of migrations/, in version order; generated at configure time by
// cmake/EmbedMigrations.cmake. The views point into static storage.
std::span<const Migration> EmbeddedMigrations();

// Where applied migrations are recorded (in the first schema of the connection's search_path,
// like the observer's other tables).
inline constexpr std::string_view kMigrationsTable = "observer_schema_migrations";

// The pg_advisory_xact_lock key every migrator holds while it changes the schema ("frqlomig" in
// ASCII). Transaction-scoped, so a migrator that dies never leaves it held.
inline constexpr int64_t kMigrationLockKey = 0x6672716c6f6d6967;

enum class MigrationMode {
  kApply,
  kDryRun,  // read only: report what kApply would do, change nothing (not even create the table)
};

struct MigrationRef {
  int version = 0;
  std::string name;
  friend bool operator==(const MigrationRef&, const MigrationRef&) = default;
};

struct MigrationReport {
  MigrationMode mode = MigrationMode::kApply;
  std::vector<MigrationRef> already_applied;  // recorded before this run (or by a concurrent migrator)
  std::vector<MigrationRef> applied;          // applied and recorded by this run; empty on a dry run
  std::vector<MigrationRef> pending;          // not applied: on a dry run, what kApply would apply
  // Recorded versions this binary does not embed: a newer fraiseql-observer migrated the database.
  std::vector<MigrationRef> unknown;
};

// Brings the database up to date: creates kMigrationsTable if absent, then applies every pending
// migration in its own transaction (BEGIN; advisory lock; re-check; SQL; record; COMMIT), so a
// failure leaves the earlier migrations applied and nothing of the failing one. Migrations are
// idempotent SQL, but a recorded one is never run again.
// Errors: kFailedPrecondition naming the migration when a recorded checksum differs from the
// embedded one (someone edited an applied migration; nothing is applied then); a failing
// migration's error, prefixed with its name; connection errors as db/connection.h reports them.
Result<MigrationReport> ApplyMigrations(PgConnection& conn, MigrationMode mode);

// As above with an explicit list, for tests. REQUIRES: versions ascending and unique (else
// kInvalidArgument).
Result<MigrationReport> ApplyMigrations(PgConnection& conn, std::span<const Migration> migrations,
                                        MigrationMode mode);

// The embedded versions not yet applied, ascending; empty when the database is up to date. Read
// only, so the daemon can refuse to start on an unmigrated database ("run fraiseql-observer
// migrate"). Errors as ApplyMigrations' (a tampered checksum is kFailedPrecondition).
Result<std::vector<int>> PendingMigrations(PgConnection& conn);
Result<std::vector<int>> PendingMigrations(PgConnection& conn, std::span<const Migration> migrations);

}  // namespace fraiseql
