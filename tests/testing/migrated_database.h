// MigratedDatabase: a ScratchDatabase with every migration applied by the product's own runner
// (db/migrations.h), plus the few one-statement helpers the PostgreSQL suites all need.
// Thread-safety: as ScratchDatabase; the helpers open a connection per call.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"
#include "db/migrations.h"
#include "testing/scratch_database.h"

namespace fraiseql::testing {

class MigratedDatabase {
 public:
  // REQUIRES: `prefix` is lower-case letters and digits (it names the database).
  explicit MigratedDatabase(std::string_view prefix = "migrated") : scratch_(prefix) {
    PgConnection conn = scratch_.Connect();
    Result<MigrationReport> report = ApplyMigrations(conn, MigrationMode::kApply);
    if (!report) throw std::runtime_error("migrations failed: " + report.error().message);
  }

  const Secret& url() const { return scratch_.url(); }
  const std::string& name() const { return scratch_.name(); }
  PgConnection Connect() const { return scratch_.Connect(); }

  // Runs one statement with parameters on a new connection; throws when it fails.
  PgResult Execute(std::string_view sql, std::vector<std::optional<std::string>> params = {}) const {
    PgConnection conn = Connect();
    Result<PgResult> result = conn.Execute(sql, params);
    if (!result) throw std::runtime_error(std::string(sql) + ": " + result.error().message);
    return std::move(result).value();
  }

  // The first column of the first row, as a number; throws when there is none.
  int64_t Count(std::string_view sql, std::vector<std::optional<std::string>> params = {}) const {
    PgResult result = Execute(sql, std::move(params));
    if (result.rows() == 0 || !result.Get(0, 0)) throw std::runtime_error(std::string(sql) + ": no value");
    return std::stoll(std::string(*result.Get(0, 0)));
  }

  // The text of the first column of the first row, nullopt for NULL or no row.
  std::optional<std::string> Value(std::string_view sql, std::vector<std::optional<std::string>> params = {}) const {
    PgResult result = Execute(sql, std::move(params));
    if (result.rows() == 0 || !result.Get(0, 0)) return std::nullopt;
    return std::string(*result.Get(0, 0));
  }

 private:
  ScratchDatabase scratch_;
};

}  // namespace fraiseql::testing
