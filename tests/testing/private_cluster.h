// PrivateCluster: a PostgreSQL 15 cluster of one test's own (initdb into a temporary directory,
// loopback port), for tests that restart or stop the server, which they must not do to the
// cluster other tests share. Costs a few seconds; use only where a restart is the point.
// Thread-safety: use from one thread.
#pragma once

#include <cstdint>
#include <string>

namespace fraiseql::testing {

class PrivateCluster {
 public:
  // initdb, start, and create database "observer". Fails the test (ADD_FAILURE) on error.
  PrivateCluster();
  // Stops the server and removes the directory.
  ~PrivateCluster();
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  // postgresql://postgres@127.0.0.1:<port>/observer
  std::string url() const;
  uint16_t port() const { return port_; }

  // pg_ctl restart -m fast: every connection is cut, the server is back when this returns.
  bool Restart();
  bool Stop();
  bool Start();

 private:
  bool Run(const std::string& command) const;

  std::string directory_;
  uint16_t port_ = 0;
};

}  // namespace fraiseql::testing
