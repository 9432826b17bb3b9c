// NotifyWakeup: the listener's way to sleep: until a NOTIFY on the change-log channel arrives
// (LISTEN on a connection of its own), a timeout passes, or another thread interrupts it.
// Thread-safety: Interrupt() may be called from any thread; everything else from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret.h"
#include "db/connection.h"

namespace fraiseql {

// The channel migrations/001 notifies on every statement that inserts change-log rows.
inline constexpr std::string_view kChangeLogChannel = "fraiseql_observer_change_log";

class NotifyWakeup {
 public:
  enum class Wake { kNotified, kTimeout, kInterrupted };

  // Creates the interrupt descriptor (an eventfd). kInternal when the system refuses one.
  static Result<NotifyWakeup> Create();

  NotifyWakeup(NotifyWakeup&& other) noexcept;
  NotifyWakeup& operator=(NotifyWakeup&&) = delete;
  NotifyWakeup(const NotifyWakeup&) = delete;
  NotifyWakeup& operator=(const NotifyWakeup&) = delete;
  ~NotifyWakeup();

  // Connects to `url` and LISTENs on `channel` (quoted as an identifier), replacing any earlier
  // connection. Notifications sent while no connection listened are not replayed: after this,
  // read the change log once before waiting. Errors as PgConnection's (kUnavailable when the
  // server cannot be reached).
  Result<void> Listen(const Secret& url, std::string_view channel, std::chrono::milliseconds connect_timeout);
  bool listening() const { return conn_.has_value(); }
  // Drops the connection (UNLISTEN happens with it).
  void Close() { conn_.reset(); }
  // The listening connection's server process id (pg_backend_pid()), 0 when not listening.
  int backend_pid() const;

  // Consumes the notifications that have arrived, without blocking; returns how many. Called
  // before each read of the change log, so a NOTIFY that comes during the read wakes the next
  // Wait at once instead of being mistaken for an old one. kUnavailable when the connection was
  // lost (it is closed then).
  Result<size_t> Drain();

  // Sleeps until a notification arrives (kNotified; all pending ones are consumed), `timeout`
  // passes (kTimeout) or Interrupt() is called (kInterrupted; sticky: every later Wait returns
  // at once until ClearInterrupt()). Without a listening connection it only sleeps.
  // kUnavailable when the connection was lost while waiting (it is closed then).
  Result<Wake> Wait(std::chrono::milliseconds timeout);

  void Interrupt();
  void ClearInterrupt();

 private:
  explicit NotifyWakeup(int event_fd) : event_fd_(event_fd) {}
  bool interrupted() const;

  int event_fd_ = -1;  // owned
  std::optional<PgConnection> conn_;
};

}  // namespace fraiseql
