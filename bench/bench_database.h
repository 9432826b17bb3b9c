// What the PostgreSQL benchmarks share: the URL of another database on the same server, and a
// connection that throws (a benchmark has nothing to recover into).
// Thread-safety: pure functions and a fresh connection per call.
#pragma once

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include "db/connection.h"

namespace fraiseql::bench {

// `url` with its database part replaced by `database` (query parameters kept).
inline std::string WithDatabase(const std::string& url, const std::string& database) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) throw std::runtime_error("the URL is not a postgresql:// URI");
  const size_t path = url.find('/', scheme + 3);
  const size_t query = url.find('?', scheme + 3);
  return url.substr(0, std::min(path, query)) + "/" + database + (query == std::string::npos ? "" : url.substr(query));
}

inline PgConnection MustConnect(const std::string& url) {
  Result<PgConnection> conn = PgConnection::Connect(Secret(url), std::chrono::seconds(10));
  if (!conn) throw std::runtime_error(conn.error().message);
  return std::move(conn).value();
}

}  // namespace fraiseql::bench
