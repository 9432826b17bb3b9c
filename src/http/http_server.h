// HttpServer: the embedded HTTP/1.1 server under the admin server and `receive`, built to stay up
// under hostile clients: bodies, heads, time, connections and queued work are all bounded.
// Thread-safety: configure, Start() and Stop() from one thread; handlers run concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "http/header.h"

namespace fraiseql {

// One request as the server received it (the body whole: bodies are capped, see
// HttpServerLimits::max_body_bytes).
struct ServerRequest {
  std::string method;  // "GET", "POST", ...; HEAD requests arrive as "HEAD"
  std::string path;    // percent-decoded, without the query string
  std::string target;  // the request line's target as sent: path and query
  std::vector<HttpHeaderLine> headers;
  std::string body;
  std::string remote_address;

  // The first header of that name, compared case-insensitively.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<HttpHeaderLine> headers;  // besides Content-Type and Content-Length

  // `body` as given, with Content-Type application/json.
  static ServerResponse Json(int status, std::string body);
};

// Answers one request. Must not throw (an exception becomes a logged 500).
using ServerHandler = std::function<ServerResponse(const ServerRequest&)>;

// Where to listen: a host name or address and a port. "[::1]:9464" for IPv6.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;  // 0: the kernel picks a free port (HttpServer::port() tells which)

  // "host:port", IPv6 hosts in brackets.
  std::string ToString() const;
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// Parses "host:port" ([metrics] listen). kInvalidArgument, quoting the text, when the host is
// missing or the port is not a number from 0 to 65535.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// What one client, or many, may cost the server. Every refusal is short, says why, and closes
// the connection; each kind is logged at most once per 10 s, with how many were not logged.
struct HttpServerLimits {
  // A larger request body, however it is framed (Content-Length or chunked), is refused with 413
  // before the handler runs; a chunked one as soon as it grows past the limit, so no more than
  // this is ever held for a request.
  size_t max_body_bytes = 1 << 20;
  // Request bodies held at once, all requests together, from their first byte until they are
  // answered. A piece that would pass it is refused with 503 (Retry-After: 1) and its connection
  // closed, so that many bodies just under max_body_bytes cannot exhaust memory either.
  size_t max_buffered_body_bytes = 64 << 20;
  // A request line and headers larger than about this are refused with 431 (414 when the target
  // alone does not fit). Bounds the memory a connection holds while its head arrives.
  size_t max_head_bytes = 16 << 10;
  // Absolute, whatever the client's pace: a connection must deliver each whole request, head and
  // body, within this long of opening or of its previous answer, and must take each answer within
  // this long; otherwise it is closed. Also how long an idle keep-alive connection stays open.
  std::chrono::milliseconds request_deadline{10'000};
  // Connections open at once. When full, a new connection takes the place of one not being
  // answered: first one whose request was refused in its middle (its 413 or 503 sent, the rest
  // of its body being dropped); then one that has waited for its request longer than a tenth of
  // request_deadline; then any still waiting for its request. Among those waiting, of the client
  // address holding the most connections, the one waiting longest: so a client whose request is
  // on its way does not pay for idle or slow ones, nor a client with few (a probe) for one with
  // many. When every connection is being answered, the new one gets 503.
  size_t max_connections = 256;
  // Connections one client address may hold open; more are answered 503.
  size_t max_connections_per_address = 32;
  // Requests waiting for a handler thread; more are answered 503 (Retry-After: 1).
  size_t max_queued_requests = 64;
};

struct HttpServerOptions {
  ListenAddress address{"127.0.0.1", 0};
  HttpServerLimits limits;
  // Threads that run the handler, so a slow handler never holds up reading other requests.
  size_t handler_threads = 4;
  // Requests for these exact paths are answered on the server's own thread as soon as they have
  // arrived, never queued behind busy handler threads: health and readiness probes, which must
  // answer while the handlers are stuck. The handler must answer them at once, without blocking.
  std::vector<std::string> inline_paths;
};

// What the server has refused so far; for tests and log lines.
struct HttpServerStats {
  size_t open_connections = 0;
  size_t body_bytes_held = 0;           // of requests not yet answered
  uint64_t refused_at_address_cap = 0;  // 503: max_connections_per_address
  uint64_t refused_at_total_cap = 0;    // 503: max_connections, and none could be closed instead
  uint64_t evicted = 0;                 // closed to make room for a new connection (max_connections)
  uint64_t closed_at_deadline = 0;      // request_deadline passed
  uint64_t bodies_too_large = 0;        // 413
  uint64_t refused_bodies_full = 0;     // 503: max_buffered_body_bytes
  uint64_t refused_queue_full = 0;      // 503: max_queued_requests
};

// A threaded HTTP/1.1 server that answers every request (any path and method) with one handler.
// One thread reads and writes every connection, without blocking on any; handlers run on
// handler_threads. Plain HTTP only: put TLS in front if it leaves the host.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, ServerHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on its own threads; the port accepts connections when this returns.
  // kUnavailable naming the address when it cannot bind ("127.0.0.1:9464 is in use");
  // kFailedPrecondition when called twice.
  Result<void> Start();
  // Stops accepting, lets the handlers running or queued finish and their answers be written
  // (a client has request_deadline to take its answer), then closes every connection and joins
  // every thread. Idempotent; a server is not restarted.
  void Stop();

  // The bound port (the chosen one when the options said 0); 0 before Start().
  uint16_t port() const;
  // The address actually bound, e.g. "127.0.0.1:40123".
  ListenAddress address() const;
  HttpServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fraiseql
