#include "http/http_server.h"

// Why libmicrohttpd and not cpp-httplib (measured, docs/security.md): cpp-httplib 0.11 gives a
// connection a thread for its whole life, reads chunked bodies whole whatever their size, and
// only has a read timeout that every byte restarts, so four slow clients stop every probe.
// libmicrohttpd reads every connection on one epoll thread and hands each piece of a body to us
// as it arrives; what it lacks (an absolute deadline, a 503 at the connection caps, handlers off
// the reading thread) is built here around its documented hooks.

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <exception>
#include <map>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/log.h"
#include "common/mutex.h"
#include "common/text.h"
#include "http/connection_table.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using http_internal::ConnectionId;
using http_internal::ConnectionPhase;
using http_internal::ClientAddress;
using http_internal::ConnectionTable;
using http_internal::DescribeClient;
using http_internal::SteadyTime;

// A refusal kind is logged at most once per this long (with how many went unlogged), so that an
// attack cannot flood the log.
constexpr auto kLogInterval = 10s;

SteadyTime Now() { return std::chrono::steady_clock::now(); }

// ---- Binding ----

// Why bind() failed, in words an operator can act on. `error` is the errno bind left behind.
std::string BindFailure(const ListenAddress& address, int error) {
  const std::string where = address.ToString();
  switch (error) {
    case EADDRINUSE:
      return where + " is in use (is another fraiseql-observer or another program listening there?)";
    case EADDRNOTAVAIL:
      return "cannot listen on " + where + ": the address is not one of this host's";
    case EACCES:
      return "cannot listen on " + where + ": permission denied (ports below 1024 need privileges)";
    case 0:
      return "cannot listen on " + where;
    default:
      return "cannot listen on " + where + ": " + std::generic_category().message(error);
  }
}

// A listening, non-blocking socket on the first address `address.host` resolves to that binds.
// SO_REUSEADDR (a quick restart past TIME_WAIT) but not SO_REUSEPORT, which would let a second
// daemon bind the same port and silently take half the scrapes.
Result<int> Listen(const ListenAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  const int status = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
  if (status != 0) {
    return Error::Unavailable("cannot listen on " + address.ToString() + ": " + ::gai_strerror(status));
  }
  int error = 0;
  int bound = -1;
  for (const addrinfo* candidate = found; candidate != nullptr && bound < 0; candidate = candidate->ai_next) {
    const int fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            candidate->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      bound = fd;
    } else {
      error = errno;
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (bound < 0) return Error::Unavailable(BindFailure(address, error));
  return bound;
}

uint16_t BoundPort(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return 0;
  if (local.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
}

// ---- Refusals ----

enum class Refusal { kAddressCap, kTotalCap, kEvicted, kDeadline, kBodyTooLarge, kBodiesFull, kQueueFull };

std::string_view RefusalMessage(Refusal refusal) {
  switch (refusal) {
    case Refusal::kAddressCap:
      return "HTTP server refused a connection: the client address holds max_connections_per_address already";
    case Refusal::kTotalCap:
      return "HTTP server refused a connection: max_connections are open and all are being answered";
    case Refusal::kEvicted:
      return "HTTP server full (max_connections): closed a connection still waiting for its request";
    case Refusal::kDeadline:
      return "HTTP server closed a connection at request_deadline (request or answer not through in time)";
    case Refusal::kBodyTooLarge:
      return "HTTP server refused a request body over max_body_bytes";
    case Refusal::kBodiesFull:
      return "HTTP server refused a request body: max_buffered_body_bytes are held for other requests";
    case Refusal::kQueueFull:
      return "HTTP server refused a request: every handler thread busy and max_queued_requests waiting";
  }
  return "HTTP server refusal";
}

// One line per kind and interval, naming the last client and how many lines were held back.
class RefusalLog {
 public:
  void Note(Refusal refusal, std::string_view client) {
    const SteadyTime now = Now();
    uint64_t held_back = 0;
    {
      MutexLock lock(&mu_);
      Kind& kind = kinds_[refusal];
      if (kind.logged_once && now - kind.last < kLogInterval) {
        ++kind.held_back;
        return;
      }
      kind.logged_once = true;
      kind.last = now;
      held_back = std::exchange(kind.held_back, 0);
    }
    log::Warn(RefusalMessage(refusal),
              {{"client", std::string(client)}, {"not_logged_since_last", std::to_string(held_back)}});
  }

 private:
  struct Kind {
    bool logged_once = false;
    SteadyTime last;
    uint64_t held_back = 0;
  };
  Mutex mu_;
  std::map<Refusal, Kind> kinds_ GUARDED_BY(mu_);
};

// libmicrohttpd's own messages (its 400/414/431 answers, sockets that failed), at most one line
// per message kind and interval too: a broken client is not worth more.
class LibraryLog {
 public:
  // `format` comes from libmicrohttpd, with its arguments.
  [[gnu::format(printf, 2, 0)]] void Note(const char* format, va_list arguments) {
    const SteadyTime now = Now();
    {
      MutexLock lock(&mu_);
      auto [kind, fresh] = last_.try_emplace(format, now);
      if (!fresh && now - kind->second < kLogInterval) return;
      kind->second = now;
    }
    char text[512];
    std::vsnprintf(text, sizeof text, format, arguments);
    std::string_view message = TrimAsciiSpace(text);
    // Answers it refused a client with are worth a warning; the rest is socket housekeeping.
    const bool refusal = message.starts_with("Error processing request");
    log::Write(refusal ? log::Level::kWarn : log::Level::kDebug, "HTTP server (libmicrohttpd)",
               {{"message", std::string(message)}});
  }

 private:
  Mutex mu_;
  std::unordered_map<const char*, SteadyTime> last_ GUARDED_BY(mu_);  // by format: one per kind
};

// A short answer written straight onto a socket MHD has not written anything to yet (a refused
// connection, or a request refused in the middle of its body), when MHD's own response queue
// cannot be used. Best effort: the socket's send buffer is empty, so it fits.
void WriteRaw(int fd, int status, std::string_view reason, std::string_view body, std::string_view extra = "") {
  const std::string answer = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                             "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n" + std::string(extra) +
                             "\r\n" + std::string(body);
  [[maybe_unused]] const ssize_t sent = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

ServerResponse PlainText(int status, std::string body) {
  return ServerResponse{status, "text/plain; charset=utf-8", std::move(body), {}};
}

std::string BodyTooLargeText(size_t limit) {
  return "request body over the limit of " + std::to_string(limit) + " bytes\n";
}

ServerResponse RunHandler(const ServerHandler& handler, const ServerRequest& request) {
  ServerResponse response;
  try {
    response = handler(request);
  } catch (const std::exception& error) {
    // The client gets a plain 500: an exception's text may say more than a client should see.
    log::Error("HTTP handler threw", {{"path", TruncateUtf8(request.path, 200)}, {"error", error.what()}});
    return PlainText(500, "internal error\n");
  } catch (...) {
    log::Error("HTTP handler threw a non-standard exception", {{"path", TruncateUtf8(request.path, 200)}});
    return PlainText(500, "internal error\n");
  }
  if (response.status < 200 || response.status > 999) {
    // 1xx are interim answers: sent as the final one, the client would wait for another.
    log::Error("HTTP handler answered a status that cannot end a request",
               {{"path", TruncateUtf8(request.path, 200)}, {"status", std::to_string(response.status)}});
    return PlainText(500, "internal error\n");
  }
  return response;
}

// Threads that run handlers, fed by a bounded queue.
class HandlerPool {
 public:
  using Job = std::function<void()>;

  HandlerPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }
  ~HandlerPool() { Stop(); }
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues `job`, calling `before` under the queue's lock first so that no thread can start the
  // job before `before` is done. False, without calling either, when full or stopped.
  bool Submit(Job job, const std::function<void()>& before) {
    MutexLock lock(&mu_);
    if (stopping_ || queue_.size() >= max_queued_ + idle_) return false;
    before();
    queue_.push_back(std::move(job));
    changed_.notify_one();
    return true;
  }

  // Refuses new jobs, runs the queued ones, joins.
  void Stop() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
      changed_.notify_all();
    }
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void Work() {
    while (true) {
      Job job;
      {
        MutexLock lock(&mu_);
        ++idle_;
        while (queue_.empty() && !stopping_) mu_.Wait(changed_);
        --idle_;
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  const size_t max_queued_;
  Mutex mu_;
  std::condition_variable changed_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  size_t idle_ GUARDED_BY(mu_) = 0;  // threads waiting: jobs for them do not wait in the queue
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace

// ---- ServerRequest, ServerResponse, ListenAddress ----

std::optional<std::string_view> ServerRequest::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

ServerResponse ServerResponse::Json(int status, std::string body) {
  return ServerResponse{status, "application/json", std::move(body), {}};
}

std::string ListenAddress::ToString() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return Error::InvalidArgument("listen address \"" + TruncateUtf8(text, 100) + "\" " + std::string(why) +
                                  "; expected host:port, e.g. \"127.0.0.1:9464\"");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return invalid("has no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return invalid("has an IPv6 host without brackets");
  }
  if (host.empty()) return invalid("has no host (use 0.0.0.0 to listen on every interface)");
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return invalid("has no port from 0 to 65535");
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(port)};
}

// ---- HttpServer ----
//
// Threads: MHD's one polling thread reads and writes every connection and runs the callbacks
// below; handler threads run the handler for all but the inline paths; the guard thread closes
// connections past their deadline. A connection moves through ConnectionTable's phases:
//   reading  (from its opening, or its previous answer, until its request is whole)
//   handling (suspended in MHD while a handler thread answers it; no deadline)
//   writing  (until MHD has sent the answer) -> reading again on keep-alive.
// Closing from outside MHD is a shutdown() of the socket: MHD then sees the end of the stream
// and closes the connection itself. That is safe only while the descriptor is the connection's:
// MHD reports a connection closed (ConnectionCallback, CLOSED) before it closes the descriptor, and
// the table forgets it under the same lock the shutdown() is done under.

struct HttpServer::Impl {
  // Per TCP connection; MHD's socket context.
  struct Connection {
    ConnectionId id = 0;
    int fd = -1;
    ClientAddress client;
  };

  // Per request; MHD's request context, made when the request line has arrived.
  struct Request {
    std::string target;
    bool head_done = false;       // the access handler has seen the whole head
    bool body_refused = false;    // answered in the middle of the body; the rest is dropped
    size_t buffered = 0;          // body bytes counted in stats.body_bytes_held
    bool answered = false;        // a handler thread has set `response`
    ServerResponse response;      // written by the handler thread before it resumes MHD
    ServerRequest request;
  };

  HttpServerOptions options;
  ServerHandler handler;
  MHD_Daemon* daemon = nullptr;
  int listen_fd = -1;
  uint16_t port = 0;
  bool start_called = false;
  std::unique_ptr<HandlerPool> pool;
  std::thread guard;
  RefusalLog refusals;
  LibraryLog library_log;

  Mutex mu;
  std::condition_variable guard_wake;
  ConnectionTable table GUARDED_BY(mu);
  // The admitted connections, until MHD reports them closed (just before it closes the socket).
  std::unordered_map<ConnectionId, Connection*> connections GUARDED_BY(mu);
  ConnectionId next_id GUARDED_BY(mu) = 1;
  std::optional<SteadyTime> guard_wakes_at GUARDED_BY(mu);  // nullopt: waits for news
  bool guard_stopping GUARDED_BY(mu) = false;
  // Stop() waits on it for the answers still to be written (table.answering() down to 0).
  std::condition_variable answers_written;
  bool stopping GUARDED_BY(mu) = false;
  HttpServerStats stats GUARDED_BY(mu);

  Impl(HttpServerOptions server_options, ServerHandler server_handler)
      : options(std::move(server_options)),
        handler(std::move(server_handler)),
        table(http_internal::ConnectionLimits{options.limits.max_connections,
                                              options.limits.max_connections_per_address,
                                              options.limits.request_deadline}) {}

  // ---- Connections ----

  void Opened(MHD_Connection* mhd, void** socket_context) {
    auto connection = std::make_unique<Connection>();
    const MHD_ConnectionInfo* fd_info = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
    const MHD_ConnectionInfo* address_info = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    connection->fd = fd_info != nullptr ? fd_info->connect_fd : -1;
    connection->client = DescribeClient(address_info != nullptr ? address_info->client_addr : nullptr);
    std::optional<Refusal> refused;
    {
      MutexLock lock(&mu);
      connection->id = next_id++;
      const ConnectionTable::Admission admission =
          table.Admit(connection->id, connection->client.key, Now());
      switch (admission.verdict) {
        case ConnectionTable::Verdict::kAdmitted:
          connections[connection->id] = connection.get();
          if (admission.evict) {
            ::shutdown(connections.at(*admission.evict)->fd, SHUT_RDWR);
            ++stats.evicted;
            refused = Refusal::kEvicted;
          }
          WakeGuardFor(Now() + options.limits.request_deadline);
          break;
        case ConnectionTable::Verdict::kOverAddressCap:
          ++stats.refused_at_address_cap;
          refused = Refusal::kAddressCap;
          break;
        case ConnectionTable::Verdict::kOverTotalCap:
          ++stats.refused_at_total_cap;
          refused = Refusal::kTotalCap;
          break;
      }
      stats.open_connections = table.open();
    }
    if (refused == Refusal::kAddressCap || refused == Refusal::kTotalCap) {
      // Nothing has been read or written yet: a whole answer, then the end of the stream, which
      // MHD reads first thing and closes on.
      WriteRaw(connection->fd, 503, "Service Unavailable",
               refused == Refusal::kAddressCap ? "too many connections from this address\n"
                                               : "too many connections\n");
      ::shutdown(connection->fd, SHUT_RDWR);
    }
    if (refused) refusals.Note(*refused, connection->client.text);
    *socket_context = connection.release();
  }

  void Closed(void** socket_context) {
    std::unique_ptr<Connection> connection(static_cast<Connection*>(*socket_context));
    *socket_context = nullptr;
    if (!connection) return;
    MutexLock lock(&mu);
    table.Remove(connection->id);
    connections.erase(connection->id);
    stats.open_connections = table.open();
    NoteAnswersWritten();
  }

  void EnterPhase(const Connection& connection, ConnectionPhase phase) {
    MutexLock lock(&mu);
    table.Enter(connection.id, phase, Now());
    if (phase != ConnectionPhase::kHandling) WakeGuardFor(Now() + options.limits.request_deadline);
    NoteAnswersWritten();
  }

  // Wakes Stop() once no answer is left to write.
  void NoteAnswersWritten() EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (stopping && table.answering() == 0) answers_written.notify_all();
  }

  // Once the handlers are done, their answers are still to be written: MHD_stop_daemon closes
  // every connection without writing what is queued, so a client whose request was handled
  // (`receive --count`'s last one) would get nothing. Bounded: the guard gives up a client
  // that does not take its answer by its deadline; the bound here is a backstop.
  void WaitForAnswersWritten() {
    MutexLock lock(&mu);
    stopping = true;
    const SteadyTime until = Now() + options.limits.request_deadline + 1s;
    while (table.answering() > 0 && Now() < until) mu.WaitUntil(answers_written, until);
  }

  // Wakes the guard when `deadline` comes before the time it sleeps until.
  void WakeGuardFor(SteadyTime deadline) EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!guard_wakes_at || deadline < *guard_wakes_at) guard_wake.notify_one();
  }

  void Guard() {
    mu.Lock();
    while (!guard_stopping) {
      const std::vector<ConnectionId> overdue = table.TakeOverdue(Now());
      std::string client;
      for (const ConnectionId id : overdue) {
        const Connection& connection = *connections.at(id);
        ::shutdown(connection.fd, SHUT_RDWR);
        client = connection.client.text;
      }
      stats.closed_at_deadline += overdue.size();
      stats.open_connections = table.open();
      NoteAnswersWritten();
      if (!overdue.empty()) {
        mu.Unlock();  // the log's sink may be slow; the table must not wait for it
        refusals.Note(Refusal::kDeadline, client);
        mu.Lock();
        continue;
      }
      guard_wakes_at = table.NextDeadline();
      if (guard_wakes_at) {
        mu.WaitUntil(guard_wake, *guard_wakes_at);
      } else {
        mu.Wait(guard_wake);
      }
    }
    mu.Unlock();
  }

  static Connection& ConnectionOf(MHD_Connection* mhd) {
    return *static_cast<Connection*>(MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT)->socket_context);
  }

  // ---- Requests ----

  MHD_Result OnRequest(MHD_Connection* mhd, const char* url, const char* method, const char* upload_data,
                       size_t* upload_size, void** request_context) {
    Request& request = *static_cast<Request*>(*request_context);
    Connection& connection = ConnectionOf(mhd);
    if (!request.head_done) return OnHead(mhd, connection, request, url, method);
    if (*upload_size > 0) {
      OnBodyPiece(connection, request, std::string_view(upload_data, *upload_size));
      *upload_size = 0;
      return MHD_YES;
    }
    if (request.body_refused) return MHD_NO;  // the 413 went out already; close
    if (request.answered) {
      EnterPhase(connection, ConnectionPhase::kWriting);
      return Queue(mhd, request.response);
    }
    return Dispatch(mhd, connection, request);
  }

  MHD_Result OnHead(MHD_Connection* mhd, const Connection& connection, Request& request, const char* url,
                    const char* method) {
    request.head_done = true;
    ServerRequest& in = request.request;
    in.method = method;
    in.path = url;
    in.target = std::move(request.target);
    in.remote_address = connection.client.text;
    MHD_get_connection_values_n(
        mhd, MHD_HEADER_KIND,
        [](void* headers, MHD_ValueKind, const char* key, size_t key_size, const char* value, size_t value_size) {
          static_cast<std::vector<HttpHeaderLine>*>(headers)->push_back(
              {std::string(key, key_size), value == nullptr ? std::string() : std::string(value, value_size)});
          return MHD_YES;
        },
        &in.headers);
    // A declared length over the limit is refused before a byte of the body is read (and, with
    // Expect: 100-continue, before the client sends it).
    if (const std::optional<std::string_view> length = in.Header("Content-Length")) {
      uint64_t declared = 0;
      const auto [end, error] = std::from_chars(length->data(), length->data() + length->size(), declared);
      if (error == std::errc() && declared > options.limits.max_body_bytes) {
        {
          MutexLock lock(&mu);
          ++stats.bodies_too_large;
        }
        refusals.Note(Refusal::kBodyTooLarge, connection.client.text);
        EnterPhase(connection, ConnectionPhase::kWriting);
        return Queue(mhd, PlainText(413, BodyTooLargeText(options.limits.max_body_bytes)), /*close=*/true);
      }
    }
    return MHD_YES;
  }

  void OnBodyPiece(const Connection& connection, Request& request, std::string_view piece) {
    if (request.body_refused) return;  // dropped: the client was told, the deadline ends it
    std::optional<Refusal> refused;
    {
      MutexLock lock(&mu);
      if (piece.size() > options.limits.max_body_bytes - request.request.body.size()) {
        ++stats.bodies_too_large;
        refused = Refusal::kBodyTooLarge;
      } else if (piece.size() > options.limits.max_buffered_body_bytes - stats.body_bytes_held) {
        ++stats.refused_bodies_full;
        refused = Refusal::kBodiesFull;
      } else {
        stats.body_bytes_held += piece.size();
        request.buffered += piece.size();
      }
    }
    if (!refused) {
      request.request.body.append(piece);
    } else if (*refused == Refusal::kBodyTooLarge) {
      RefuseBody(connection, request, 413, "Content Too Large", BodyTooLargeText(options.limits.max_body_bytes));
    } else {
      RefuseBody(connection, request, 503, "Service Unavailable", "server busy, retry shortly\n", "Retry-After: 1\r\n");
    }
    if (refused) refusals.Note(*refused, connection.client.text);
  }

  // MHD cannot queue an answer in the middle of a body, so it goes onto the socket directly, and
  // the end of our side of the stream follows it. What the client still sends is read and dropped
  // (so that it reads our answer rather than a reset) until it stops or its deadline passes;
  // meanwhile, draining, it is the first to make room when the server is full (a client that
  // sent megabytes before it read the answer can take a while to drain).
  void RefuseBody(const Connection& connection, Request& request, int status, std::string_view reason,
                  std::string_view text, std::string_view extra_headers = "") {
    request.body_refused = true;
    Release(request);
    EnterPhase(connection, ConnectionPhase::kDraining);
    WriteRaw(connection.fd, status, reason, text, extra_headers);
    ::shutdown(connection.fd, SHUT_WR);
  }

  // The request's body no longer counts against max_buffered_body_bytes.
  void Release(Request& request) {
    std::string().swap(request.request.body);
    MutexLock lock(&mu);
    stats.body_bytes_held -= std::exchange(request.buffered, 0);
  }

  MHD_Result Dispatch(MHD_Connection* mhd, const Connection& connection, Request& request) {
    const auto& inline_paths = options.inline_paths;
    if (std::find(inline_paths.begin(), inline_paths.end(), request.request.path) != inline_paths.end()) {
      EnterPhase(connection, ConnectionPhase::kWriting);
      return Queue(mhd, RunHandler(handler, request.request));
    }
    // The handler runs on a pool thread while MHD leaves the connection alone; the thread puts
    // its answer in `request` and resumes the connection, and MHD calls OnRequest again. MHD's
    // resume takes a lock MHD takes again before that call, so the answer is seen whole.
    const bool queued = pool->Submit(
        [this, mhd, &request] {
          request.response = RunHandler(handler, request.request);
          request.answered = true;
          MHD_resume_connection(mhd);
        },
        [this, mhd, &connection] {
          MHD_suspend_connection(mhd);
          EnterPhase(connection, ConnectionPhase::kHandling);
        });
    if (queued) return MHD_YES;
    {
      MutexLock lock(&mu);
      ++stats.refused_queue_full;
    }
    refusals.Note(Refusal::kQueueFull, connection.client.text);
    EnterPhase(connection, ConnectionPhase::kWriting);
    ServerResponse busy = PlainText(503, "server busy, retry shortly\n");
    busy.headers.push_back({"Retry-After", "1"});
    return Queue(mhd, busy);
  }

  static MHD_Result Queue(MHD_Connection* mhd, const ServerResponse& response, bool close = false) {
    MHD_Response* answer = MHD_create_response_from_buffer(response.body.size(), const_cast<char*>(response.body.data()),
                                                           MHD_RESPMEM_MUST_COPY);
    if (answer == nullptr) return MHD_NO;
    MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE, response.content_type.c_str());
    for (const HttpHeaderLine& header : response.headers) {
      // MHD refuses names and values that would break the head (line breaks): they are dropped.
      MHD_add_response_header(answer, header.name.c_str(), header.value.c_str());
    }
    if (close) MHD_add_response_header(answer, MHD_HTTP_HEADER_CONNECTION, "close");
    const MHD_Result queued = MHD_queue_response(mhd, static_cast<unsigned>(response.status), answer);
    MHD_destroy_response(answer);
    return queued;
  }

  // ---- MHD's callbacks ----

  static MHD_Result AccessCallback(void* self, MHD_Connection* mhd, const char* url, const char* method,
                                   const char* /*version*/, const char* upload_data, size_t* upload_size,
                                   void** request_context) {
    return static_cast<Impl*>(self)->OnRequest(mhd, url, method, upload_data, upload_size, request_context);
  }

  // Called with the raw target before MHD decodes it: where each request's context is made.
  static void* UriCallback(void* /*self*/, const char* uri, MHD_Connection* /*mhd*/) {
    auto request = std::make_unique<Request>();
    request->target = uri;
    return request.release();
  }

  static void CompletedCallback(void* self, MHD_Connection* mhd, void** request_context,
                                MHD_RequestTerminationCode /*why*/) {
    Impl& impl = *static_cast<Impl*>(self);
    std::unique_ptr<Request> request(static_cast<Request*>(*request_context));
    *request_context = nullptr;
    if (request) impl.Release(*request);
    // Answered (or given up): the wait for the next request on this connection starts now.
    impl.EnterPhase(ConnectionOf(mhd), ConnectionPhase::kReading);
  }

  static void ConnectionCallback(void* self, MHD_Connection* mhd, void** socket_context,
                                 MHD_ConnectionNotificationCode code) {
    Impl& impl = *static_cast<Impl*>(self);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      impl.Opened(mhd, socket_context);
    } else {
      impl.Closed(socket_context);
    }
  }

  [[gnu::format(printf, 2, 0)]] static void LogCallback(void* self, const char* format, va_list arguments) {
    static_cast<Impl*>(self)->library_log.Note(format, arguments);
  }
};

HttpServer::HttpServer(HttpServerOptions options, ServerHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

Result<void> HttpServer::Start() {
  Impl& impl = *impl_;
  if (impl.start_called) {
    return Error::FailedPrecondition("HTTP server on " + impl.options.address.ToString() + " was already started");
  }
  impl.start_called = true;
  Result<int> listening = Listen(impl.options.address);
  if (!listening) return listening.error();
  impl.listen_fd = *listening;
  impl.port = BoundPort(impl.listen_fd);

  const HttpServerLimits& limits = impl.options.limits;
  // The head has to fit in a connection's memory pool, with MHD's index of the header lines and
  // the head of our answer: a little more than max_head_bytes.
  const size_t pool_bytes = std::max<size_t>(limits.max_head_bytes, 1024) + 4096;
  // MHD's own cap stays above ours: connections we refuse or give up still hold a slot until
  // MHD has read their end, a moment later.
  const auto mhd_connection_limit = static_cast<unsigned>(std::min<size_t>(limits.max_connections * 2 + 64, 60000));
  // MHD's inactivity timeout is a backstop only; the guard's deadline comes first.
  const auto backstop_seconds = static_cast<unsigned>(
      std::chrono::duration_cast<std::chrono::seconds>(limits.request_deadline).count() * 2 + 2);
  impl.pool = std::make_unique<HandlerPool>(impl.options.handler_threads, limits.max_queued_requests);
  impl.daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, nullptr,
      nullptr, &Impl::AccessCallback, &impl,
      MHD_OPTION_EXTERNAL_LOGGER, &Impl::LogCallback, &impl,
      MHD_OPTION_LISTEN_SOCKET, impl.listen_fd,
      MHD_OPTION_CONNECTION_LIMIT, mhd_connection_limit,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool_bytes,
      MHD_OPTION_CONNECTION_TIMEOUT, backstop_seconds,
      MHD_OPTION_URI_LOG_CALLBACK, &Impl::UriCallback, &impl,
      MHD_OPTION_NOTIFY_COMPLETED, &Impl::CompletedCallback, &impl,
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::ConnectionCallback, &impl,
      MHD_OPTION_END);
  if (impl.daemon == nullptr) {
    impl.pool->Stop();
    ::close(impl.listen_fd);
    impl.listen_fd = -1;
    return Error::Unavailable("cannot serve HTTP on " + address().ToString() +
                              ": libmicrohttpd did not start (out of memory or threads?)");
  }
  impl.guard = std::thread([&impl] { impl.Guard(); });
  return Ok();
}

void HttpServer::Stop() {
  Impl& impl = *impl_;
  if (impl.daemon == nullptr) return;
  // No new connections; then every request a handler has taken is handled and its answer
  // written (MHD closes connections without writing what is queued), then MHD closes the rest.
  const MHD_socket listener = MHD_quiesce_daemon(impl.daemon);
  impl.pool->Stop();
  impl.WaitForAnswersWritten();
  MHD_stop_daemon(impl.daemon);
  impl.daemon = nullptr;
  if (listener != MHD_INVALID_SOCKET) ::close(listener);
  {
    MutexLock lock(&impl.mu);
    impl.guard_stopping = true;
    impl.guard_wake.notify_all();
  }
  impl.guard.join();
}

uint16_t HttpServer::port() const { return impl_->port; }

ListenAddress HttpServer::address() const { return ListenAddress{impl_->options.address.host, impl_->port}; }

HttpServerStats HttpServer::stats() const {
  MutexLock lock(&impl_->mu);
  return impl_->stats;
}

}  // namespace fraiseql
