// `fraiseql-observer migrate`: applies the embedded schema migrations (db/migrations.h) and
// prints which versions were applied and which are pending; plus what every database subcommand
// shares: where the database URL comes from.
// Thread-safety: call from one thread.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "common/secret.h"

namespace fraiseql::cli {

struct MigrateOptions {
  std::string database_url;  // empty: $DATABASE_URL
  bool dry_run = false;      // report what would be applied, change nothing
  OutputFormat format = OutputFormat::kText;
};
int RunMigrate(const MigrateOptions& options, std::ostream& out, std::ostream& err);

// The database URL from --database-url, else from $DATABASE_URL; nullopt when neither is set.
// (The environment is the better place: a command line is visible to every user in `ps`.)
std::optional<Secret> DatabaseUrl(const std::string& flag_value);

// What a database subcommand prints (to stderr, exit kExitUsage) when DatabaseUrl() is nullopt.
inline constexpr const char* kNoDatabaseUrlMessage =
    "fraiseql-observer: error: no database given: pass --database-url URL or set DATABASE_URL\n";

// How long a subcommand waits for the database to accept its connection.
inline constexpr std::chrono::seconds kConnectTimeout{10};

}  // namespace fraiseql::cli
