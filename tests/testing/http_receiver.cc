// HttpReceiver: blocking sockets, one accept thread and one thread per connection.
// Thread-per-connection keeps each exchange a straight line of code and lets delayed replies overlap.
// Thread-safety: all shared state lives in Impl under mu_; each connection's fd belongs to its thread.
#include "testing/http_receiver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "common/mutex.h"
#include "common/text.h"

namespace fraiseql::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Requests larger than this are answered 413 and the connection closed, so a runaway client
// cannot make a test eat all memory.
constexpr size_t kMaxHeaderBytes = 1 << 20;
constexpr size_t kMaxBodyBytes = size_t{256} << 20;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

[[noreturn]] void AbortTest(const std::string& what) {
  const std::string message = "HttpReceiver: " + what + ": " + std::strerror(errno);
  ADD_FAILURE() << message;
  // The receiver cannot work half-built and a constructor cannot return an error: stop here
  // rather than let the test fail later with a confusing connection error.
  std::fprintf(stderr, "%s\n", message.c_str());
  std::abort();
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (EqualsIgnoreCase(TrimAsciiSpace(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::string> FindHeader(const std::vector<HttpHeaderLine>& headers, std::string_view name) {
  for (const HttpHeaderLine& line : headers) {
    if (EqualsIgnoreCase(line.name, name)) return line.value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ReceivedRequest::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

struct HttpReceiver::Impl {
  Impl();
  ~Impl();

  void AcceptLoop();
  void Serve(UniqueFd fd, uint64_t id);
  struct Conn;
  // Reads one request from `conn`; false when the connection should end (EOF, error, garbage).
  bool ReadRequest(Conn& conn, ReceivedRequest* request, bool* keep_alive);
  bool Answer(Conn& conn, const ReceivedRequest& request, const ScriptedReply& reply, bool keep_alive);
  // Waits until `deadline` or until the receiver stops; false when it stopped.
  bool SleepUntil(Clock::time_point deadline) LOCKS_EXCLUDED(mu_);
  bool stopping() const LOCKS_EXCLUDED(mu_);
  void FinishConnection(Conn& conn, uint64_t id, bool reset) LOCKS_EXCLUDED(mu_);

  UniqueFd listen_fd;
  // Written once by the destructor to wake the accept thread out of poll().
  UniqueFd wake_read;
  UniqueFd wake_write;
  uint16_t port = 0;
  std::thread accept_thread;

  mutable Mutex mu_;
  mutable std::condition_variable cv_;  // requests recorded, stop requested, a connection finished
  bool stopping_ GUARDED_BY(mu_) = false;
  bool gate_open_ GUARDED_BY(mu_) = false;
  std::vector<ReceivedRequest> requests_ GUARDED_BY(mu_);
  std::deque<ScriptedReply> script_ GUARDED_BY(mu_);
  ScriptedReply default_ GUARDED_BY(mu_);
  size_t connection_count_ GUARDED_BY(mu_) = 0;
  // Fds of live connections, so the destructor can shutdown(2) them. A connection closes its
  // fd while holding mu_, so the destructor never shuts down a number the kernel reused.
  std::set<int> open_fds_ GUARDED_BY(mu_);
  std::map<uint64_t, std::thread> threads_ GUARDED_BY(mu_);
  // Connections whose thread is exiting; the accept thread joins them to keep threads_ small.
  std::vector<uint64_t> finished_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
};

struct HttpReceiver::Impl::Conn {
  UniqueFd fd;
  std::string buffer;  // received bytes not yet consumed (pipelined requests stay here)

  // Appends whatever recv() gives; false on EOF or error (including shutdown by the destructor).
  bool Fill() {
    char chunk[64 * 1024];
    for (;;) {
      const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }

  bool SendAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One CRLF-terminated line without its CRLF (a bare LF is accepted too).
  bool ReadLine(std::string* line) {
    size_t scanned = 0;
    for (;;) {
      const size_t lf = buffer.find('\n', scanned);
      if (lf != std::string::npos) {
        const size_t end = (lf > 0 && buffer[lf - 1] == '\r') ? lf - 1 : lf;
        line->assign(buffer, 0, end);
        buffer.erase(0, lf + 1);
        return true;
      }
      scanned = buffer.size();
      if (buffer.size() > kMaxHeaderBytes || !Fill()) return false;
    }
  }

  bool ReadExact(size_t n, std::string* out) {
    while (buffer.size() < n) {
      if (!Fill()) return false;
    }
    out->append(buffer, 0, n);
    buffer.erase(0, n);
    return true;
  }
};

HttpReceiver::Impl::Impl() {
  default_ = ScriptedReply::Status(200);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) AbortTest("pipe2");
  wake_read = UniqueFd(pipe_fds[0]);
  wake_write = UniqueFd(pipe_fds[1]);

  listen_fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd.valid()) AbortTest("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // ephemeral: parallel tests never collide
  if (::bind(listen_fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    AbortTest("bind 127.0.0.1:0");
  }
  // A deep backlog so a burst of ~1000 concurrent connects is not refused before accept catches up.
  if (::listen(listen_fd.get(), 4096) != 0) AbortTest("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    AbortTest("getsockname");
  }
  port = ntohs(addr.sin_port);
  accept_thread = std::thread([this] { AcceptLoop(); });
}

HttpReceiver::Impl::~Impl() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    // Wakes connection threads blocked in recv()/send(); delays wake through cv_.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    cv_.notify_all();
  }
  const char byte = 0;
  while (::write(wake_write.get(), &byte, 1) < 0 && errno == EINTR) {
  }
  accept_thread.join();
  std::map<uint64_t, std::thread> threads;
  {
    MutexLock lock(&mu_);
    threads.swap(threads_);
  }
  for (auto& [id, thread] : threads) thread.join();
}

bool HttpReceiver::Impl::stopping() const {
  MutexLock lock(&mu_);
  return stopping_;
}

bool HttpReceiver::Impl::SleepUntil(Clock::time_point deadline) {
  MutexLock lock(&mu_);
  while (!stopping_ && Clock::now() < deadline) mu_.WaitUntil(cv_, deadline);
  return !stopping_;
}

void HttpReceiver::Impl::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      AbortTest("poll on the listening socket");
    }
    if (fds[1].revents != 0) return;
    UniqueFd fd(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of fds: the pending connection stays queued; retry once some connection ended,
        // rather than spinning on a poll() that keeps reporting it.
        if (!SleepUntil(Clock::now() + std::chrono::milliseconds(10))) return;
      }
      continue;  // EAGAIN, ECONNABORTED, EINTR...: the next poll() tells
    }
    const int one = 1;
    // Replies go out as several writes (and one byte at a time for slow bodies): no Nagle stalls.
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    std::vector<std::thread> to_join;
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      for (uint64_t done : finished_) {
        auto it = threads_.find(done);
        if (it != threads_.end()) {
          to_join.push_back(std::move(it->second));
          threads_.erase(it);
        }
      }
      finished_.clear();
      ++connection_count_;
      const uint64_t id = next_id_++;
      open_fds_.insert(fd.get());
      threads_.emplace(id, std::thread([this, conn_fd = std::move(fd), id]() mutable {
                         Serve(std::move(conn_fd), id);
                       }));
    }
    for (std::thread& thread : to_join) thread.join();
  }
}

void HttpReceiver::Impl::FinishConnection(Conn& conn, uint64_t id, bool reset) {
  MutexLock lock(&mu_);
  if (reset) {
    // Linger 0: close() sends RST and drops unsent data, which is what the client must see.
    const linger lg{1, 0};
    ::setsockopt(conn.fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  open_fds_.erase(conn.fd.get());
  conn.fd.Reset();
  finished_.push_back(id);
  cv_.notify_all();
}

void HttpReceiver::Impl::Serve(UniqueFd fd, uint64_t id) {
  Conn conn;
  conn.fd = std::move(fd);
  bool reset = false;
  for (;;) {
    ReceivedRequest request;
    bool keep_alive = true;
    if (!ReadRequest(conn, &request, &keep_alive)) break;
    ScriptedReply reply;
    {
      // Recording and taking the reply under one lock gives a single global arrival order.
      MutexLock lock(&mu_);
      if (stopping_) break;
      requests_.push_back(request);
      if (!script_.empty()) {
        reply = std::move(script_.front());
        script_.pop_front();
      } else {
        reply = default_;
      }
      cv_.notify_all();
    }
    if (reply.kind == ScriptedReply::Kind::kReset) {
      reset = true;
      break;
    }
    // A scripted "Connection: close" means what it says: the client expects the close.
    const std::optional<std::string> connection = FindHeader(reply.headers, "Connection");
    if (connection.has_value() && HasToken(*connection, "close")) keep_alive = false;
    if (!Answer(conn, request, reply, keep_alive) || !keep_alive) break;
  }
  FinishConnection(conn, id, reset);
}

bool HttpReceiver::Impl::ReadRequest(Conn& conn, ReceivedRequest* request, bool* keep_alive) {
  std::string line;
  // RFC 9112 section 2.2: ignore empty lines before a request line.
  do {
    if (!conn.ReadLine(&line)) return false;
  } while (line.empty());

  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) {
    conn.SendAll("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return false;
  }
  request->method = line.substr(0, sp1);
  request->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string version = line.substr(sp2 + 1);

  size_t header_bytes = 0;
  for (;;) {
    if (!conn.ReadLine(&line)) return false;
    if (line.empty()) break;
    header_bytes += line.size();
    const size_t colon = line.find(':');
    if (colon == std::string::npos || header_bytes > kMaxHeaderBytes) {
      conn.SendAll("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return false;
    }
    request->headers.push_back(HttpHeaderLine{line.substr(0, colon),
                                              std::string(TrimAsciiSpace(std::string_view(line).substr(colon + 1)))});
  }

  const std::optional<std::string> connection = request->Header("Connection");
  if (version == "HTTP/1.0") {
    *keep_alive = connection.has_value() && HasToken(*connection, "keep-alive");
  } else {
    *keep_alive = !(connection.has_value() && HasToken(*connection, "close"));
  }

  const std::optional<std::string> expect = request->Header("Expect");
  const std::optional<std::string> transfer_encoding = request->Header("Transfer-Encoding");
  const std::optional<std::string> content_length = request->Header("Content-Length");
  const bool chunked = transfer_encoding.has_value() && HasToken(*transfer_encoding, "chunked");
  const bool has_body = chunked || (content_length.has_value() && *content_length != "0");
  // curl waits (up to a second) for this before sending large bodies; answer it so tests stay fast.
  if (has_body && expect.has_value() && EqualsIgnoreCase(*expect, "100-continue") && conn.buffer.empty()) {
    if (!conn.SendAll("HTTP/1.1 100 Continue\r\n\r\n")) return false;
  }

  if (chunked) {
    for (;;) {
      if (!conn.ReadLine(&line)) return false;
      const std::string_view size_text = TrimAsciiSpace(std::string_view(line).substr(0, line.find(';')));
      size_t size = 0;
      if (size_text.empty()) return false;
      for (char c : size_text) {
        int digit;
        if (c >= '0' && c <= '9') {
          digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
          digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
          digit = c - 'A' + 10;
        } else {
          return false;
        }
        size = size * 16 + static_cast<size_t>(digit);
        if (size > kMaxBodyBytes) return false;
      }
      if (size == 0) break;
      if (request->body.size() + size > kMaxBodyBytes) return false;
      if (!conn.ReadExact(size, &request->body)) return false;
      if (!conn.ReadLine(&line) || !line.empty()) return false;  // the CRLF after the data
    }
    // Trailer fields up to the empty line; not recorded, tests have no use for them.
    do {
      if (!conn.ReadLine(&line)) return false;
    } while (!line.empty());
  } else if (content_length.has_value()) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long length = std::strtoull(content_length->c_str(), &end, 10);
    if (content_length->empty() || *end != '\0' || errno != 0 || length > kMaxBodyBytes) {
      conn.SendAll("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return false;
    }
    if (!conn.ReadExact(static_cast<size_t>(length), &request->body)) return false;
  }
  request->received_at = Clock::now();
  return true;
}

bool HttpReceiver::Impl::Answer(Conn& conn, const ReceivedRequest& request, const ScriptedReply& reply,
                                bool keep_alive) {
  if (reply.delay.count() > 0 && !SleepUntil(request.received_at + reply.delay)) return false;
  if (reply.wait_for_gate) {
    MutexLock lock(&mu_);
    while (!stopping_ && !gate_open_) mu_.Wait(cv_);
    if (stopping_) return false;
  }

  std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " ";
  head += ReasonPhrase(reply.status);
  head += "\r\n";
  for (const HttpHeaderLine& line : reply.headers) {
    head += line.name + ": " + line.value + "\r\n";
  }
  // A scripted Content-Length wins, so a test can send a lying one on purpose.
  if (!FindHeader(reply.headers, "Content-Length").has_value()) {
    head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  }
  if (!keep_alive && !FindHeader(reply.headers, "Connection").has_value()) head += "Connection: close\r\n";
  head += "\r\n";
  const bool send_body = request.method != "HEAD";

  if (reply.body_byte_delay.count() <= 0 || !send_body) {
    return conn.SendAll(send_body ? head + reply.body : head);
  }
  if (!conn.SendAll(head)) return false;
  for (size_t i = 0; i < reply.body.size(); ++i) {
    if (i > 0 && !SleepUntil(Clock::now() + reply.body_byte_delay)) return false;
    if (!conn.SendAll(std::string_view(reply.body).substr(i, 1))) return false;
  }
  return true;
}

HttpReceiver::HttpReceiver() : impl_(std::make_unique<Impl>()) {}
HttpReceiver::~HttpReceiver() = default;

uint16_t HttpReceiver::port() const { return impl_->port; }

void HttpReceiver::OpenGate() {
  MutexLock lock(&impl_->mu_);
  impl_->gate_open_ = true;
  impl_->cv_.notify_all();
}

std::string HttpReceiver::url(std::string_view path) const {
  std::string url = "http://127.0.0.1:" + std::to_string(impl_->port);
  url += path;
  return url;
}

void HttpReceiver::Script(std::vector<ScriptedReply> replies) {
  MutexLock lock(&impl_->mu_);
  for (ScriptedReply& reply : replies) impl_->script_.push_back(std::move(reply));
}

void HttpReceiver::SetDefault(ScriptedReply reply) {
  MutexLock lock(&impl_->mu_);
  impl_->default_ = std::move(reply);
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  MutexLock lock(&impl_->mu_);
  return impl_->requests_;
}

size_t HttpReceiver::request_count() const {
  MutexLock lock(&impl_->mu_);
  return impl_->requests_.size();
}

bool HttpReceiver::WaitForRequests(size_t count, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  MutexLock lock(&impl_->mu_);
  while (impl_->requests_.size() < count) {
    if (Clock::now() >= deadline) return false;
    impl_->mu_.WaitUntil(impl_->cv_, deadline);
  }
  return true;
}

size_t HttpReceiver::connection_count() const {
  MutexLock lock(&impl_->mu_);
  return impl_->connection_count_;
}

}  // namespace fraiseql::testing
