// ShutdownSignals: SIGTERM, SIGINT and SIGQUIT as values a thread waits for (sigtimedwait) rather
// than asynchronous handlers; SIGHUP either one more way to stop or logged and ignored (a daemon
// has no reload yet); SIGPIPE ignored, so a peer closing a socket is an error code, not death.
// Thread-safety: construct on the main thread before any other starts; Wait() on one thread at a time.
//
// Usage (main, before starting threads, which inherit the blocked mask):
//   ShutdownSignals signals;
//   ... start the threads ...
//   const int signal = signals.Wait();                  // the main thread waits for good, or
//   std::optional<int> got = signals.Wait(stop_token);  // a watcher thread that can be told to stop
#pragma once

#include <signal.h>

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

namespace fraiseql {

// "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGPIPE"; "signal <n>" for others.
std::string SignalName(int signal);

// What SIGHUP means to a program: a closed terminal for a command run by hand (stop, as SIGTERM),
// or, for a daemon, what logrotate and operators send to ask for a reload. The daemon has no
// reload yet: it logs that and keeps running, rather than dying with status 129.
enum class HangUp { kStops, kLoggedAndIgnored };

class ShutdownSignals {
 public:
  // Blocks SIGTERM, SIGINT, SIGQUIT, SIGHUP and the private wake-up signal (SIGRTMIN) in the
  // calling thread; threads started later inherit that. Ignores SIGPIPE for the process. A thread
  // started before keeps them unblocked and may take a process-directed SIGTERM with its default
  // action (exit), which is why this comes first. Cannot fail.
  explicit ShutdownSignals(HangUp hang_up = HangUp::kStops);
  // Discards the pending signals that are about to be unblocked (a pending SIGTERM would otherwise
  // take its default action, exit 143, the moment the mask is restored), then restores the
  // calling thread's mask and SIGPIPE's disposition as the constructor found them. Instances nest
  // when destroyed in reverse order, as stack objects are.
  // REQUIRES: the constructing thread; every thread started since is joined (they keep the mask)
  // and no Wait() is running.
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  // Blocks until a stopping signal arrives (SIGTERM, SIGINT, SIGQUIT, and SIGHUP when it stops);
  // returns which. A SIGHUP that does not stop is logged (a warning) and the wait goes on.
  int Wait();
  // The stopping signal once one arrives, or nullopt when `stop` is requested or
  // `deadline` passes first; a signal already pending wins over both. Each arrival is returned
  // once. A signal sent to the process (kill(2): systemd, Kubernetes, a terminal's Ctrl-C) is
  // seen from any thread; one sent to a single thread (raise(3), pthread_kill) only by a Wait()
  // on that thread. REQUIRES: the calling thread has the signals blocked (see the constructor).
  std::optional<int> Wait(std::stop_token stop,
                          std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

 private:
  // One signal taken from the blocked set; a SIGHUP that does not stop is logged and becomes
  // nullopt, as a timeout does.
  std::optional<int> Take(const sigset_t& set, const timespec* timeout) const;

  HangUp hang_up_;
  sigset_t previous_mask_{};
  struct sigaction previous_sigpipe_ {};
};

}  // namespace fraiseql
