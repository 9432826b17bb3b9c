// fast_http_receiver: the fastest HTTP/1.1 sink we can write, answering every request 200 with
// an empty body. It is the ceiling against which wrk and the curl engine benchmark are read.
// Thread-safety: single-threaded (one epoll loop); signals arrive through a signalfd.
//
// Build (bench/CMakeLists.txt):
//   add_executable(fast_http_receiver fast_http_receiver.cc)
//   target_link_libraries(fast_http_receiver PRIVATE fraiseql_build_options)
//
// Usage: fast_http_receiver [--port P] [--expect N] [--record FILE]
//   --port P      P = 0, the default, picks an ephemeral port
//   --expect N    exit after answering N requests, printing "done N requests first_us F last_us L"
//                 (CLOCK_REALTIME microseconds of the first and the Nth request): the end of a
//                 drain, measured where the deliveries arrive (bench/pipeline_bench.cc)
//   --record FILE at exit, write "<arrival_us> <webhook-id>" per request to FILE (latency runs)
// Prints "listening on 127.0.0.1:PORT" once ready, serves until SIGTERM, SIGINT or --expect.
//
// What it parses, and why no more: the request line and headers up to the blank line, then
// Content-Length bytes of body, so keep-alive and pipelined requests stay in step. "Connection:
// close" and HTTP/1.0 close after the reply. Chunked request bodies get 501 and a close: no
// client we measure sends them, and decoding them would cost the common case.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kOkClose = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view kNotImplemented =
    "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view kTooLarge =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
// A request head larger than this is not a benchmark client; refuse it rather than buffer it.
constexpr size_t kMaxHead = 64 * 1024;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fast_http_receiver: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ::strncasecmp(text.data(), prefix.data(), prefix.size()) == 0;
}

bool ContainsIgnoreCase(std::string_view text, std::string_view word) {
  for (size_t i = 0; i + word.size() <= text.size(); ++i) {
    if (::strncasecmp(text.data() + i, word.data(), word.size()) == 0) return true;
  }
  return false;
}

int64_t RealtimeMicros() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

// What --expect and --record need: when requests arrived, and (recording) their webhook-id.
struct Tally {
  uint64_t expect = 0;  // 0: serve until a signal
  bool record = false;
  uint64_t count = 0;
  int64_t first_us = 0;
  int64_t last_us = 0;
  std::vector<std::pair<int64_t, std::string>> arrivals;

  void Count(std::string_view webhook_id) {
    const int64_t now = RealtimeMicros();
    if (count++ == 0) first_us = now;
    last_us = now;
    if (record) arrivals.emplace_back(now, std::string(webhook_id));
  }
  bool done() const { return expect > 0 && count >= expect; }
};

struct Connection {
  UniqueFd fd;
  std::string in;
  size_t in_pos = 0;          // start of unparsed input
  size_t body_remaining = 0;  // request body bytes still to skip
  std::string out;            // replies not yet written
  size_t out_pos = 0;
  bool close_after_output = false;
  bool want_write = false;  // registered for EPOLLOUT instead of EPOLLIN
};

class Server {
 public:
  Server(UniqueFd listen_fd, UniqueFd signal_fd, Tally& tally)
      : listen_(std::move(listen_fd)), signals_(std::move(signal_fd)), tally_(tally) {
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_.valid()) Die("epoll_create1");
    Watch(listen_.get(), EPOLLIN, EPOLL_CTL_ADD);
    Watch(signals_.get(), EPOLLIN, EPOLL_CTL_ADD);
  }

  void Run() {
    epoll_event events[256];
    for (;;) {
      const int n = ::epoll_wait(epoll_.get(), events, 256, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        Die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == signals_.get()) return;
        if (fd == listen_.get()) {
          AcceptAll();
          continue;
        }
        Connection* conn = Find(fd);
        if (conn == nullptr) continue;  // closed earlier in this batch
        const bool ok = (events[i].events & EPOLLOUT) != 0 ? OnWritable(*conn) : OnReadable(*conn);
        if (!ok) Close(fd);
        if (tally_.done()) {
          FlushAll();  // the last replies may still sit in a full socket's buffer
          return;
        }
      }
    }
  }

 private:
  void Watch(int fd, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), op, fd, &ev) != 0) Die("epoll_ctl");
  }

  // Writes every queued reply, waiting for sockets to drain (up to a second each): used once,
  // when --expect has been met and the loop is about to end.
  void FlushAll() {
    for (std::unique_ptr<Connection>& conn : connections_) {
      for (int tries = 0; conn && conn->out_pos < conn->out.size() && tries < 1000; ++tries) {
        if (!Flush(*conn)) break;
        if (conn->out_pos < conn->out.size()) ::usleep(1000);
      }
    }
  }

  Connection* Find(int fd) {
    const auto index = static_cast<size_t>(fd);
    return index < connections_.size() ? connections_[index].get() : nullptr;
  }

  void Close(int fd) {
    // The fd leaves the epoll set when close() drops its last reference.
    connections_[static_cast<size_t>(fd)].reset();
  }

  void AcceptAll() {
    for (;;) {
      UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd.valid()) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // EAGAIN: drained; EMFILE and friends: retried on the next event
      }
      const int one = 1;
      // Replies are tiny and latency-bound: never hold one back waiting for an ACK.
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const auto index = static_cast<size_t>(fd.get());
      if (index >= connections_.size()) connections_.resize(index + 1);
      auto conn = std::make_unique<Connection>();
      Watch(fd.get(), EPOLLIN, EPOLL_CTL_ADD);
      conn->fd = std::move(fd);
      connections_[index] = std::move(conn);
    }
  }

  bool OnReadable(Connection& conn) {
    // Read until EAGAIN with a level-triggered fd would starve others; one large read per wake-up
    // drains a whole wrk pipeline burst and leaves fairness to epoll.
    char buffer[64 * 1024];
    const ssize_t n = ::recv(conn.fd.get(), buffer, sizeof buffer, 0);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    std::string_view data(buffer, static_cast<size_t>(n));

    // Body bytes are skipped straight from the read buffer, never copied.
    if (conn.body_remaining > 0 && conn.in.size() == conn.in_pos) {
      const size_t skip = std::min(conn.body_remaining, data.size());
      conn.body_remaining -= skip;
      data.remove_prefix(skip);
    }
    if (conn.in_pos == conn.in.size()) {
      conn.in.clear();
      conn.in_pos = 0;
    }
    conn.in.append(data);
    const bool keep = Parse(conn);
    return Flush(conn) && keep;
  }

  // Consumes every complete request in conn.in and queues one reply for each. False when the
  // connection must close after the queued output (the caller flushes first).
  bool Parse(Connection& conn) {
    for (;;) {
      if (conn.body_remaining > 0) {
        const size_t skip = std::min(conn.body_remaining, conn.in.size() - conn.in_pos);
        conn.body_remaining -= skip;
        conn.in_pos += skip;
        if (conn.body_remaining > 0) break;
      }
      const std::string_view pending(conn.in.data() + conn.in_pos, conn.in.size() - conn.in_pos);
      const size_t head_end = pending.find("\r\n\r\n");
      if (head_end == std::string_view::npos) {
        if (pending.size() > kMaxHead) {
          conn.out.append(kTooLarge);
          conn.close_after_output = true;
        }
        break;
      }
      const std::string_view head = pending.substr(0, head_end);
      conn.in_pos += head_end + 4;

      size_t line_end = head.find("\r\n");
      const std::string_view request_line = head.substr(0, line_end);
      bool close = request_line.ends_with("HTTP/1.0");
      bool chunked = false;
      size_t content_length = 0;
      std::string_view webhook_id;
      while (line_end != std::string_view::npos) {
        const size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        const std::string_view line = head.substr(start, line_end == std::string_view::npos ? line_end : line_end - start);
        // Only lines starting with c/C/t/T (w/W when recording) matter; the first byte skips most headers.
        const char first = static_cast<char>(line.empty() ? 0 : (line[0] | 0x20));
        if (first == 'c') {
          if (StartsWithIgnoreCase(line, "content-length:")) {
            content_length = 0;
            for (char c : line.substr(15)) {
              if (c >= '0' && c <= '9') content_length = content_length * 10 + static_cast<size_t>(c - '0');
            }
          } else if (StartsWithIgnoreCase(line, "connection:")) {
            const std::string_view value = line.substr(11);
            if (ContainsIgnoreCase(value, "close")) close = true;
            if (ContainsIgnoreCase(value, "keep-alive")) close = false;
          }
        } else if (first == 't' && StartsWithIgnoreCase(line, "transfer-encoding:")) {
          chunked = ContainsIgnoreCase(line.substr(18), "chunked");
        } else if (first == 'w' && tally_.record && StartsWithIgnoreCase(line, "webhook-id:")) {
          webhook_id = line.substr(11);
          while (!webhook_id.empty() && webhook_id.front() == ' ') webhook_id.remove_prefix(1);
        }
      }
      tally_.Count(webhook_id);
      if (chunked) {
        conn.out.append(kNotImplemented);
        conn.close_after_output = true;
        break;
      }
      conn.body_remaining = content_length;
      if (close) {
        conn.out.append(kOkClose);
        conn.close_after_output = true;
        break;
      }
      conn.out.append(kOk);
    }
    if (conn.in_pos == conn.in.size()) {
      conn.in.clear();
      conn.in_pos = 0;
    } else if (conn.in_pos > 0 && conn.in_pos >= conn.in.size() / 2) {
      conn.in.erase(0, conn.in_pos);  // keep the partial request, drop what was parsed
      conn.in_pos = 0;
    }
    return !conn.close_after_output;
  }

  // Writes queued replies; switches the fd to EPOLLOUT while the socket is full. False to close.
  bool Flush(Connection& conn) {
    while (conn.out_pos < conn.out.size()) {
      const ssize_t n =
          ::send(conn.fd.get(), conn.out.data() + conn.out_pos, conn.out.size() - conn.out_pos, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return false;
        // Reading pauses until the client takes its replies, so one that never reads cannot
        // make us buffer without bound.
        if (!conn.want_write) {
          conn.want_write = true;
          Watch(conn.fd.get(), EPOLLOUT, EPOLL_CTL_MOD);
        }
        return true;
      }
      conn.out_pos += static_cast<size_t>(n);
    }
    conn.out.clear();
    conn.out_pos = 0;
    if (conn.close_after_output) return false;
    if (conn.want_write) {
      conn.want_write = false;
      Watch(conn.fd.get(), EPOLLIN, EPOLL_CTL_MOD);
    }
    return true;
  }

  bool OnWritable(Connection& conn) {
    if (!Flush(conn)) return false;
    // Requests that arrived while the socket was full are still buffered: answer them now.
    if (!conn.want_write && conn.in_pos < conn.in.size()) {
      const bool keep = Parse(conn);
      return Flush(conn) && keep;
    }
    return true;
  }

  UniqueFd listen_;
  UniqueFd signals_;
  UniqueFd epoll_;
  std::vector<std::unique_ptr<Connection>> connections_;  // indexed by fd
  Tally& tally_;
};

bool ParseNumber(const char* text, long max, long& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && errno == 0 && out >= 0 && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  long expect = 0;
  const char* record_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      if (!ParseNumber(argv[++i], 65535, port)) {
        std::fprintf(stderr, "fast_http_receiver: bad port '%s'\n", argv[i]);
        return 2;
      }
    } else if (arg == "--expect" && i + 1 < argc) {
      if (!ParseNumber(argv[++i], 1000000000L, expect)) {
        std::fprintf(stderr, "fast_http_receiver: bad --expect '%s'\n", argv[i]);
        return 2;
      }
    } else if (arg == "--record" && i + 1 < argc) {
      record_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: fast_http_receiver [--port P] [--expect N] [--record FILE]\n");
      return 2;
    }
  }
  Tally tally;
  tally.expect = static_cast<uint64_t>(expect);
  tally.record = record_path != nullptr;

  // Blocked before any other work so the signals are only ever seen through the signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) Die("sigprocmask");
  UniqueFd signal_fd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd.valid()) Die("signalfd");

  UniqueFd listen_fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_fd.valid()) Die("socket");
  const int one = 1;
  // A fixed --port must be reusable right after a previous run left TIME_WAIT sockets.
  ::setsockopt(listen_fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(listen_fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) Die("bind");
  if (::listen(listen_fd.get(), 4096) != 0) Die("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) Die("getsockname");

  Server server(std::move(listen_fd), std::move(signal_fd), tally);
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(ntohs(addr.sin_port)));
  std::fflush(stdout);
  server.Run();
  if (tally.done()) {
    std::printf("done %llu requests first_us %lld last_us %lld\n", static_cast<unsigned long long>(tally.count),
                static_cast<long long>(tally.first_us), static_cast<long long>(tally.last_us));
    std::fflush(stdout);
  }
  if (record_path != nullptr) {
    std::FILE* file = std::fopen(record_path, "w");
    if (file == nullptr) Die("fopen --record");
    for (const auto& [arrival, id] : tally.arrivals) {
      std::fprintf(file, "%lld %s\n", static_cast<long long>(arrival), id.c_str());
    }
    std::fclose(file);
  }
  return 0;
}
