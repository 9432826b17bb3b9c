// ChildProcess: runs a program (the real fraiseql-observer binary) as a separate process for
// end-to-end tests, capturing its output to a file, so tests can SIGKILL or SIGTERM it at will.
// Thread-safety: use from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fraiseql::testing {

class ChildProcess {
 public:
  // Starts `program` with `args`, the current environment plus `env`, stdout and stderr appended
  // to `log_path`. Fails the test (ADD_FAILURE) when it cannot be spawned.
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env, const std::string& log_path);
  // SIGKILLs the process if it still runs, and reaps it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal) const;
  // Waits for the process to exit; its exit status (WEXITSTATUS, or 128 + signal), or nullopt
  // when `timeout` passed first.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();
  // Everything the process wrote so far.
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

// The fraiseql-observer binary of this build.
std::string ObserverBinary();

}  // namespace fraiseql::testing
