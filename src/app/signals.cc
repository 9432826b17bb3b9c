#include "app/signals.h"

#include <pthread.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

#include "common/log.h"

namespace fraiseql {
namespace {

// How a stop request interrupts sigtimedwait: the stop callback sends this signal to the waiting
// thread. It is blocked wherever the shutdown signals are, so it never takes its default action
// (termination); one sent by someone else is only a spurious wake-up. SIGRTMIN is a function
// call in glibc, which reserves the first real-time signals for itself.
int WakeSignal() { return SIGRTMIN; }

// Every signal a Wait() takes: the stopping ones and SIGHUP (which stops, or is logged).
sigset_t ShutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&set, signal);
  return set;
}

sigset_t BlockedSet() {
  sigset_t set = ShutdownSet();
  sigaddset(&set, WakeSignal());
  return set;
}

// One pending signal of `set`, waiting at most `timeout` (nullptr: for ever); nullopt on timeout.
std::optional<int> TakeSignal(const sigset_t& set, const timespec* timeout) {
  while (true) {
    siginfo_t info{};
    const int signal = sigtimedwait(&set, &info, timeout);
    if (signal > 0) return signal;
    // EINTR: a handled signal (not one of ours) interrupted the wait. The caller recomputes its
    // deadline and comes back, so no time is lost to the retry.
    if (errno == EINTR && timeout == nullptr) continue;
    return std::nullopt;  // EAGAIN: the timeout passed; EINTR with a timeout: let the caller loop
  }
}

timespec Remaining(std::chrono::steady_clock::time_point deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return timespec{0, 0};
  const auto seconds = std::chrono::floor<std::chrono::seconds>(left);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(left - seconds);
  return timespec{static_cast<time_t>(seconds.count()), static_cast<long>(nanos.count())};
}

}  // namespace

std::string SignalName(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGPIPE:
      return "SIGPIPE";
    default:
      return "signal " + std::to_string(signal);
  }
}

ShutdownSignals::ShutdownSignals(HangUp hang_up) : hang_up_(hang_up) {
  // Neither call can fail: the arguments are valid by construction.
  const sigset_t blocked = BlockedSet();
  pthread_sigmask(SIG_BLOCK, &blocked, &previous_mask_);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &previous_sigpipe_);
}

ShutdownSignals::~ShutdownSignals() {
  // Only what the restore unblocks: an outer instance still waits for the rest.
  sigset_t unblocking;
  sigemptyset(&unblocking);
  const sigset_t blocked = BlockedSet();
  for (int signal : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, WakeSignal()}) {
    if (sigismember(&blocked, signal) == 1 && sigismember(&previous_mask_, signal) == 0) {
      sigaddset(&unblocking, signal);
    }
  }
  const timespec now{0, 0};
  while (TakeSignal(unblocking, &now)) {
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  sigaction(SIGPIPE, &previous_sigpipe_, nullptr);
}

std::optional<int> ShutdownSignals::Take(const sigset_t& set, const timespec* timeout) const {
  const std::optional<int> signal = TakeSignal(set, timeout);
  if (signal != SIGHUP || hang_up_ == HangUp::kStops) return signal;
  log::Warn("SIGHUP received: configuration reload is not supported in this version; still running "
            "(restart the process to apply a new configuration)");
  return std::nullopt;
}

int ShutdownSignals::Wait() {
  const sigset_t shutdown = ShutdownSet();
  while (true) {
    if (std::optional<int> signal = Take(shutdown, nullptr)) return *signal;
  }
}

std::optional<int> ShutdownSignals::Wait(std::stop_token stop,
                                         std::optional<std::chrono::steady_clock::time_point> deadline) {
  const sigset_t shutdown = ShutdownSet();
  const sigset_t any = BlockedSet();
  const timespec now{0, 0};
  {
    // Runs on the thread requesting the stop (or here, at once, if it already was): the signal
    // is directed at this thread and stays pending until the wait below takes it, so a stop
    // requested between the check and the wait is not lost.
    std::stop_callback wake(stop, [waiter = pthread_self()] { pthread_kill(waiter, WakeSignal()); });
    while (true) {
      if (std::optional<int> signal = Take(shutdown, &now)) return signal;
      if (stop.stop_requested()) break;
      timespec timeout{};
      if (deadline) {
        timeout = Remaining(*deadline);
        if (timeout.tv_sec == 0 && timeout.tv_nsec == 0) return std::nullopt;
      }
      const std::optional<int> signal = Take(any, deadline ? &timeout : nullptr);
      if (signal && *signal != WakeSignal()) return signal;
      // A wake-up, a timeout or an interruption: the checks at the top of the loop decide.
    }
  }
  // The callback has finished (destroying it waits for that): consume its wake-up if still
  // pending, so it cannot cut a later Wait short.
  sigset_t wake_only;
  sigemptyset(&wake_only);
  sigaddset(&wake_only, WakeSignal());
  while (TakeSignal(wake_only, &now)) {
  }
  return std::nullopt;
}

}  // namespace fraiseql
