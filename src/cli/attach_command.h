// `fraiseql-observer attach` and `detach`: install or remove the change-log capture triggers of
// migration 002 (core.fn_observer_attach / core.fn_observer_detach) on an application table.
// Thread-safety: call from one thread.
#pragma once

#include <iosfwd>
#include <string>

namespace fraiseql::cli {

struct AttachOptions {
  std::string database_url;  // empty: $DATABASE_URL
  std::string table;         // "schema.table" or "table" (resolved by the search_path)
  std::string entity;        // the entity type name recorded as object_type ("Order")
  std::string pk = "id";     // the column whose value becomes object_id; rows without a UUID there are skipped
  bool pre_image = false;    // also record the row as it was before UPDATE and DELETE
};
int RunAttach(const AttachOptions& options, std::ostream& out, std::ostream& err);

struct DetachOptions {
  std::string database_url;  // empty: $DATABASE_URL
  std::string table;
};
int RunDetach(const DetachOptions& options, std::ostream& out, std::ostream& err);

}  // namespace fraiseql::cli
