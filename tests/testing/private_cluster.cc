#include "testing/private_cluster.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

namespace fraiseql::testing {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

// A free loopback port, chosen by the kernel.
uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// initdb and postgres refuse root; the test suite runs as root on CI.
std::string AsPostgres(const std::string& command) {
  return geteuid() == 0 ? "runuser -u postgres -- " + command : command;
}

}  // namespace

PrivateCluster::PrivateCluster() : port_(FreePort()) {
  char pattern[] = "/tmp/fraiseql-cluster-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    ADD_FAILURE() << "cannot create a directory for the private cluster";
    return;
  }
  directory_ = pattern;
  if (geteuid() == 0 && !Run("chown postgres " + directory_)) return;
  const std::string data = directory_ + "/data";
  if (!Run(AsPostgres(std::string(kBin) + "/initdb -D " + data + " -A trust -U postgres --no-sync >" + directory_ +
                      "/initdb.log 2>&1"))) {
    ADD_FAILURE() << "initdb failed: see " << directory_ << "/initdb.log";
    return;
  }
  if (!Start()) return;
  Run(AsPostgres(std::string(kBin) + "/psql -q -h 127.0.0.1 -p " + std::to_string(port_) +
                 " -U postgres -d postgres -c 'CREATE DATABASE observer' >/dev/null 2>&1"));
}

PrivateCluster::~PrivateCluster() {
  if (directory_.empty()) return;
  Stop();
  Run("rm -rf " + directory_);
}

std::string PrivateCluster::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/observer";
}

bool PrivateCluster::Start() {
  const bool ok = Run(AsPostgres(std::string(kBin) + "/pg_ctl -D " + directory_ + "/data -l " + directory_ +
                                 "/server.log -w -t 60 -o '-c listen_addresses=127.0.0.1 -p " +
                                 std::to_string(port_) + " -k " + directory_ + "' start >/dev/null"));
  if (!ok) ADD_FAILURE() << "the private cluster did not start: see " << directory_ << "/server.log";
  return ok;
}

bool PrivateCluster::Stop() {
  return Run(AsPostgres(std::string(kBin) + "/pg_ctl -D " + directory_ + "/data -m fast -w -t 60 stop >/dev/null"));
}

bool PrivateCluster::Restart() { return Stop() && Start(); }

bool PrivateCluster::Run(const std::string& command) const { return std::system(command.c_str()) == 0; }

}  // namespace fraiseql::testing
