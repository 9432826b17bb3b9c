// ScratchDatabase: a PostgreSQL database of a test's own on the test cluster, created on
// construction and dropped on destruction, for tests that change the schema (migrations,
// triggers) while other tests run in parallel on the shared fraiseql_test database.
// Thread-safety: construct and destroy on one thread; url() and name() may be read from any.
#pragma once

#include <algorithm>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "db/connection.h"
#include "testing/services.h"

namespace fraiseql::testing {

class ScratchDatabase {
 public:
  static constexpr std::chrono::milliseconds kConnectTimeout{10'000};

  // Creates "<prefix><unique marker>". Throws ServiceMissing when PostgreSQL is not configured
  // and std::runtime_error when the database cannot be created: either way the test fails at
  // once with the message. REQUIRES: `prefix` is lower-case letters and digits.
  explicit ScratchDatabase(std::string_view prefix = "scratch")
      : admin_url_(PostgresUrl()), name_(UniqueMarker(prefix)), url_(WithDatabase(admin_url_, name_)) {
    // template0: nobody connects to it, so CREATE DATABASE cannot fail with "source database is
    // being accessed by other users" as it can with template1 while tests run in parallel.
    RunAdmin("CREATE DATABASE " + name_ + " TEMPLATE template0");
  }

  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  ~ScratchDatabase() {
    // FORCE ends connections a failing test left open (a LISTEN connection, a thread's).
    try {
      RunAdmin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& error) {
      std::cerr << "ScratchDatabase: could not drop " << name_ << ": " << error.what() << "\n";
    }
  }

  const std::string& name() const { return name_; }
  // The URL of this database (no password: the test cluster trusts loopback).
  const Secret& url() const { return url_; }

  // A new connection to this database. Throws std::runtime_error when it fails.
  PgConnection Connect() const {
    Result<PgConnection> conn = PgConnection::Connect(url_, kConnectTimeout);
    if (!conn) throw std::runtime_error("cannot connect to scratch database: " + conn.error().message);
    return std::move(conn).value();
  }

  // Runs one statement on a new connection. Throws std::runtime_error when it fails.
  PgResult Execute(std::string_view sql) const {
    PgConnection conn = Connect();
    Result<PgResult> result = conn.Execute(sql);
    if (!result) throw std::runtime_error(std::string(sql) + ": " + result.error().message);
    return std::move(result).value();
  }

 private:
  // `url` with its database name (the URI path) replaced by `database`.
  static Secret WithDatabase(const std::string& url, const std::string& database) {
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos) throw std::runtime_error("the test PostgreSQL URL is not a URI");
    const size_t path = url.find('/', scheme + 3);
    const size_t query = url.find('?', scheme + 3);
    const std::string authority = url.substr(0, std::min(path, query));
    const std::string rest = query == std::string::npos ? "" : url.substr(query);
    return Secret(authority + "/" + database + rest);
  }

  void RunAdmin(const std::string& sql) const {
    Result<PgConnection> admin = PgConnection::Connect(Secret(admin_url_), kConnectTimeout);
    if (!admin) throw std::runtime_error("cannot connect to the test cluster: " + admin.error().message);
    Result<PgResult> result = admin->Execute(sql);
    if (!result) throw std::runtime_error(sql + ": " + result.error().message);
  }

  std::string admin_url_;
  std::string name_;
  Secret url_;
};

}  // namespace fraiseql::testing
