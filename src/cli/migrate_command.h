// `fraiseql-observer migrate`: applies the embedded schema migrations (db/migrations.h) and
// prints which versions were applied and which are pending; plus what every database subcommand
// shares: how long it waits to connect. (Which database: config/database_url.h.)
// Thread-safety: call from one thread.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

#include "cli/commands.h"

namespace fraiseql::cli {

struct MigrateOptions {
  std::string database_url;  // empty: $DATABASE_URL (ResolveDatabaseUrl)
  bool dry_run = false;      // report what would be applied, change nothing
  OutputFormat format = OutputFormat::kText;
};
int RunMigrate(const MigrateOptions& options, std::ostream& out, std::ostream& err);

// How long a subcommand waits for the database to accept its connection.
inline constexpr std::chrono::seconds kConnectTimeout{10};

}  // namespace fraiseql::cli
