#include "listener/notify_wakeup.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

namespace fraiseql {

Result<NotifyWakeup> NotifyWakeup::Create() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return Error::Internal(std::string("eventfd: ") + std::strerror(errno));
  return NotifyWakeup(fd);
}

NotifyWakeup::NotifyWakeup(NotifyWakeup&& other) noexcept
    : event_fd_(std::exchange(other.event_fd_, -1)), conn_(std::move(other.conn_)) {
  other.conn_.reset();
}

NotifyWakeup::~NotifyWakeup() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

Result<void> NotifyWakeup::Listen(const Secret& url, std::string_view channel,
                                  std::chrono::milliseconds connect_timeout) {
  conn_.reset();
  Result<PgConnection> conn = PgConnection::Connect(url, connect_timeout);
  if (!conn) return std::move(conn).error();
  const std::string channel_text(channel);
  std::unique_ptr<char, decltype(&PQfreemem)> quoted(
      PQescapeIdentifier(conn->native(), channel_text.c_str(), channel_text.size()), &PQfreemem);
  if (!quoted) {
    return Error::InvalidArgument("cannot quote the channel name: " + std::string(PQerrorMessage(conn->native())));
  }
  Result<PgResult> listen = conn->Execute("LISTEN " + std::string(quoted.get()));
  if (!listen) return std::move(listen).error();
  conn_.emplace(std::move(conn).value());
  return Ok();
}

int NotifyWakeup::backend_pid() const { return conn_ ? PQbackendPID(conn_->native()) : 0; }

Result<size_t> NotifyWakeup::Drain() {
  if (!conn_) return size_t{0};
  PGconn* native = conn_->native();
  if (PQconsumeInput(native) == 0 || PQstatus(native) != CONNECTION_OK) {
    std::string reason = PQerrorMessage(native);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r')) reason.pop_back();
    const std::string where = conn_->description();
    conn_.reset();
    return Error::Unavailable("the LISTEN connection to " + where + " is lost: " + reason);
  }
  size_t count = 0;
  while (PGnotify* notify = PQnotifies(native)) {
    PQfreemem(notify);
    ++count;
  }
  return count;
}

bool NotifyWakeup::interrupted() const {
  pollfd fd{event_fd_, POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0 && (fd.revents & POLLIN) != 0;
}

Result<NotifyWakeup::Wake> NotifyWakeup::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (interrupted()) return Wake::kInterrupted;
    size_t drained = 0;
    FRAISEQL_ASSIGN_OR_RETURN(drained, Drain());
    if (drained > 0) return Wake::kNotified;

    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) return Wake::kTimeout;
    pollfd fds[2] = {{event_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
    nfds_t count = 1;
    if (conn_) {
      fds[1].fd = PQsocket(conn_->native());
      count = 2;
    }
    const int wait_ms = static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), INT_MAX));
    const int ready = ::poll(fds, count, wait_ms);
    if (ready < 0 && errno != EINTR) return Error::Internal(std::string("poll: ") + std::strerror(errno));
    // Loop: the checks at the top tell an interrupt, a notification, a lost connection (the
    // socket reads EOF) and a timeout apart.
  }
}

void NotifyWakeup::Interrupt() {
  const uint64_t one = 1;
  // A full counter (impossible in practice) still leaves it readable, which is all that counts.
  [[maybe_unused]] const ssize_t written = ::write(event_fd_, &one, sizeof(one));
}

void NotifyWakeup::ClearInterrupt() {
  uint64_t value = 0;
  [[maybe_unused]] const ssize_t read_bytes = ::read(event_fd_, &value, sizeof(value));
}

}  // namespace fraiseql
