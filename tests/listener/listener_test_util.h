// Helpers for the listener tests: change-log inserts and one-statement reads (the migrated
// scratch database and polling are tests/testing's).
// Thread-safety: test code; each helper is used by the test's own thread unless stated.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "testing/migrated_database.h"
#include "testing/poll.h"

namespace fraiseql::testing {

inline PgResult MustExecute(PgConnection& conn, std::string_view sql) {
  Result<PgResult> result = conn.Execute(sql);
  if (!result) throw std::runtime_error(std::string(sql) + ": " + result.error().message);
  return std::move(result).value();
}

inline std::string Scalar(PgConnection& conn, std::string_view sql) {
  PgResult result = MustExecute(conn, sql);
  if (result.rows() == 0) return "<no row>";
  return std::string(result.Get(0, 0).value_or("<null>"));
}

inline int64_t Count(PgConnection& conn, std::string_view sql) { return std::stoll(Scalar(conn, sql)); }

// A deterministic UUID for entity `n`.
inline std::string EntityUuid(int n) {
  char text[40];
  std::snprintf(text, sizeof(text), "00000000-0000-4000-8000-%012d", n);
  return text;
}

// Inserts one change-log row and returns its pk. `object_id` "NULL" inserts SQL NULL.
inline int64_t InsertRow(PgConnection& conn, std::string_view object_type, std::string_view verb,
                         std::string_view object_id, std::string_view data_json = "{}") {
  const std::optional<std::string> params[] = {std::string(object_type), std::string(verb),
                                               object_id == "NULL" ? std::nullopt
                                                                   : std::optional<std::string>(std::string(object_id)),
                                               std::string(data_json)};
  Result<PgResult> result = conn.Execute(
      "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) "
      "VALUES ($1, $2, $3, $4::jsonb) RETURNING pk_entity_change_log",
      params);
  if (!result) throw std::runtime_error("insert into the change log: " + result.error().message);
  return std::stoll(std::string(result->Get(0, 0).value_or("0")));
}

inline int64_t InsertOrder(PgConnection& conn, int n) {
  return InsertRow(conn, "Order", "INSERT", EntityUuid(n), "{\"n\": " + std::to_string(n) + "}");
}

}  // namespace fraiseql::testing
