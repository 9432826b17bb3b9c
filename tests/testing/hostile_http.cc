#include "testing/hostile_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <utility>

#include "testing/http_get.h"

namespace fraiseql::testing {
namespace {

using Steady = std::chrono::steady_clock;

sockaddr_in Loopback(const std::string& address, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &in.sin_addr);
  return in;
}

int Millis(Steady::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Steady::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1000));
}

}  // namespace

RawConnection::RawConnection(uint16_t port, const std::string& source) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const sockaddr_in from = Loopback(source, 0);
  const sockaddr_in to = Loopback("127.0.0.1", port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), closed_(other.closed_), received_(std::move(other.received_)) {}

void RawConnection::ReadAvailable() {
  if (fd_ < 0 || closed_) return;
  char buffer[16384];
  while (true) {
    const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got > 0) {
      received_.append(buffer, static_cast<size_t>(got));
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (got < 0 && errno == EINTR) continue;
    closed_ = true;  // 0: an orderly close; otherwise a reset
    return;
  }
}

bool RawConnection::Wait(bool write, Steady::time_point until) {
  while (fd_ >= 0 && !closed_) {
    pollfd entry{fd_, static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
    const int ready = ::poll(&entry, 1, Millis(until));
    if (ready < 0 && errno == EINTR) continue;
    if (ready > 0 && (entry.revents & (POLLIN | POLLHUP | POLLERR)) != 0) ReadAvailable();
    if (closed_) return false;
    if (write && ready > 0 && (entry.revents & POLLOUT) != 0) return true;
    if (Steady::now() >= until) return false;
  }
  return false;
}

bool RawConnection::Send(std::string_view data, std::chrono::milliseconds deadline) {
  const auto until = Steady::now() + deadline;
  while (!data.empty()) {
    if (!Wait(/*write=*/true, until)) return false;
    const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      ReadAvailable();
      closed_ = true;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

bool RawConnection::TrickleUntilClosed(std::string_view data, std::chrono::milliseconds pause, std::stop_token stop,
                                       std::chrono::milliseconds deadline) {
  const auto until = Steady::now() + deadline;
  for (size_t i = 0; i < data.size() && !stop.stop_requested() && Steady::now() < until; ++i) {
    if (!Send(data.substr(i, 1), std::chrono::duration_cast<std::chrono::milliseconds>(until - Steady::now()))) {
      return closed_;
    }
    // Between bytes, watch for the close rather than sleeping blind.
    Wait(/*write=*/false, std::min(until, Steady::now() + pause));
    if (closed_) return true;
  }
  while (!closed_ && !stop.stop_requested() && Steady::now() < until) {
    Wait(/*write=*/false, std::min(until, Steady::now() + std::chrono::milliseconds(50)));
  }
  return closed_;
}

bool RawConnection::WaitClosed(std::chrono::milliseconds deadline) {
  const auto until = Steady::now() + deadline;
  while (!closed_ && Steady::now() < until) Wait(/*write=*/false, until);
  return closed_;
}

int RawConnection::status() const {
  // "HTTP/1.1 413 ..."; skips interim 1xx answers (100 Continue).
  size_t at = 0;
  while (received_.compare(at, 5, "HTTP/") == 0) {
    const size_t space = received_.find(' ', at);
    if (space == std::string::npos || space + 4 > received_.size()) return 0;
    int code = 0;
    std::from_chars(received_.data() + space + 1, received_.data() + space + 4, code);
    if (code >= 200 || code < 100) return code;
    const size_t end = received_.find("\r\n\r\n", at);
    if (end == std::string::npos) return 0;
    at = end + 4;
  }
  return 0;
}

size_t SendChunkedUntilAnswered(RawConnection& connection, std::string_view path, size_t chunk_bytes,
                                size_t max_bytes) {
  const std::string head = "POST " + std::string(path) +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";
  if (!connection.Send(head)) return 0;
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk_bytes);
  const std::string chunk = size_line + std::string(chunk_bytes, 'x') + "\r\n";
  size_t sent = 0;
  while (sent < max_bytes) {
    connection.ReadAvailable();
    if (connection.closed() || !connection.received().empty()) break;
    if (!connection.Send(chunk)) break;
    sent += chunk_bytes;
  }
  if (sent >= max_bytes) connection.Send("0\r\n\r\n");
  connection.WaitClosed();
  return sent;
}

int RequestOnce(uint16_t port, std::string_view method, std::string_view path, std::string_view body,
                std::chrono::milliseconds deadline) {
  RawConnection connection(port);
  if (!connection.connected()) return 0;
  const std::string request = std::string(method) + " " + std::string(path) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  connection.Send(request, deadline);
  connection.WaitClosed(deadline);
  return connection.status();
}

Attack::Attack(size_t clients, Round round) {
  for (size_t client = 0; client < clients; ++client) {
    threads_.emplace_back([this, round, client](std::stop_token stop) {
      while (!stop.stop_requested()) {
        const bool closed = round(stop, client);
        if (stop.stop_requested()) break;
        ++(closed ? closed_ : outlasted_);
      }
    });
  }
}

Attack::~Attack() { Stop(); }

void Attack::Stop() {
  for (std::jthread& thread : threads_) thread.request_stop();
  threads_.clear();  // joins
}

Repeat::Repeat(std::chrono::milliseconds interval, std::function<std::string()> attempt)
    : thread_([this, interval, attempt = std::move(attempt)](std::stop_token stop) {
        std::mutex pace_mu;
        std::condition_variable_any pace;
        while (!stop.stop_requested()) {
          std::string failure = attempt();
          ++attempts_;
          if (!failure.empty()) {
            MutexLock lock(&mu_);
            failures_.push_back(std::move(failure));
          }
          // Pacing, not waiting for a condition: the next attempt comes `interval` later.
          std::unique_lock<std::mutex> lock(pace_mu);
          pace.wait_for(lock, stop, interval, [] { return false; });
        }
      }) {}

Repeat::~Repeat() { Stop(); }

std::vector<std::string> Repeat::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  MutexLock lock(&mu_);
  return failures_;
}

std::function<std::string()> Expect200(std::string url) {
  return [url = std::move(url)]() -> std::string {
    const HttpGetReply reply = HttpGet(url);
    if (reply.status == 200) return "";
    return "GET " + url + ": " + (reply.status != 0 ? "status " + std::to_string(reply.status) : reply.error);
  };
}

}  // namespace fraiseql::testing
