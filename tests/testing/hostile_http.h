// Hostile HTTP clients and a steady prober, for the abuse tests of our servers (HttpServer, the
// admin server, `receive`): raw sockets from a chosen loopback source address, so that
// per-address limits can tell the attackers (127.0.0.2 and up) from the probe (127.0.0.1).
// Thread-safety: a RawConnection belongs to one thread; Attack and Repeat run threads of their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "testing/poll.h"

namespace fraiseql::testing {

// A TCP connection to 127.0.0.1:`port` from `source`, any address of 127/8 (Linux routes all of
// it to lo). Never blocks longer than the deadline a call is given.
class RawConnection {
 public:
  RawConnection(uint16_t port, const std::string& source = "127.0.0.1");
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&&) = delete;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends all of `data` within `deadline`. False when the peer closed or reset the connection
  // first (or the deadline passed); what the peer sent meanwhile is kept in received().
  bool Send(std::string_view data, std::chrono::milliseconds deadline = kPollDeadline);
  // Sends `data` a byte at a time, `pause` apart, until the peer closes the connection, `stop`
  // is requested or `deadline` passes; once `data` is all sent, waits for the close. True when
  // the peer closed the connection.
  bool TrickleUntilClosed(std::string_view data, std::chrono::milliseconds pause, std::stop_token stop = {},
                          std::chrono::milliseconds deadline = kPollDeadline);
  // Reads everything the peer sends until it closes the connection, at most `deadline`. True
  // when it closed.
  bool WaitClosed(std::chrono::milliseconds deadline = kPollDeadline);
  // Reads what has already arrived, without waiting.
  void ReadAvailable();

  bool closed() const { return closed_; }
  // Everything the peer sent so far.
  const std::string& received() const { return received_; }
  // The status code of the first response in received(); 0 when none has arrived.
  int status() const;

 private:
  // Waits for the socket to be readable (and writable when `write`), reading what arrives.
  // Returns true when it may be written to; false on close or at `until`.
  bool Wait(bool write, std::chrono::steady_clock::time_point until);

  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

// Sends a chunked POST of `path`, `chunk_bytes` a chunk, until the server answers or closes the
// connection or `max_bytes` of body were sent, then waits for the connection to close. Returns
// the body bytes sent.
size_t SendChunkedUntilAnswered(RawConnection& connection, std::string_view path, size_t chunk_bytes,
                                size_t max_bytes);

// One request with `Connection: close` over a fresh connection from 127.0.0.1; the status
// answered, or 0 when none came within `deadline`.
int RequestOnce(uint16_t port, std::string_view method, std::string_view path, std::string_view body = "",
                std::chrono::milliseconds deadline = std::chrono::seconds(10));

// `clients` threads, each running `round` again and again until Stop(): one hostile connection
// per round, which returns true when the server ended it and false when it outlasted the round.
class Attack {
 public:
  using Round = std::function<bool(std::stop_token, size_t client)>;
  Attack(size_t clients, Round round);
  ~Attack();  // Stop()
  Attack(const Attack&) = delete;
  Attack& operator=(const Attack&) = delete;

  size_t rounds_closed_by_server() const { return closed_; }
  size_t rounds_outlasted() const { return outlasted_; }
  void Stop();

 private:
  std::atomic<size_t> closed_{0};
  std::atomic<size_t> outlasted_{0};
  std::vector<std::jthread> threads_;
};

// Calls `attempt` every `interval` on a thread of its own until Stop(). `attempt` returns an
// empty string on success, else what went wrong.
class Repeat {
 public:
  Repeat(std::chrono::milliseconds interval, std::function<std::string()> attempt);
  ~Repeat();  // Stop()
  Repeat(const Repeat&) = delete;
  Repeat& operator=(const Repeat&) = delete;

  size_t attempts() const { return attempts_; }
  // Stops and joins; then the failures, each as `attempt` described it.
  std::vector<std::string> Stop();

 private:
  std::atomic<size_t> attempts_{0};
  Mutex mu_;
  std::vector<std::string> failures_ GUARDED_BY(mu_);
  std::jthread thread_;
};

// A Repeat attempt: GET `url` answers 200 (HttpGet, 10 s timeout).
std::function<std::string()> Expect200(std::string url);

}  // namespace fraiseql::testing
