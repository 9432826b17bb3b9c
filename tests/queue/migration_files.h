// ApplyMigrationFiles: runs migrations/NNN_*.sql in order, each file as one simple-protocol query,
// for scratch databases of tests and benchmarks (no embedded migrations needed; records nothing).
// Thread-safety: uses the caller's connection on the calling thread.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "db/connection.h"

namespace fraiseql::testing {

inline void ApplyMigrationFiles(PgConnection& conn, const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  }
  if (files.empty()) throw std::runtime_error("no migrations in " + dir.string());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    PGresult* result = PQexec(conn.native(), text.str().c_str());
    const ExecStatusType status = PQresultStatus(result);
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw std::runtime_error(file.filename().string() + ": " + message);
    }
  }
}

}  // namespace fraiseql::testing
