// AdminServer: the daemon's operator endpoint (GET /metrics, /health, /ready; admin routes behind a
// bearer token), on HttpServer, the embedded HTTP/1.1 server `receive` also uses (cpp-httplib).
// Thread-safety: configure, Start() and Stop() from one thread; handlers run concurrently on workers.
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
#include "common/secret.h"
#include "http/header.h"
#include "metrics/registry.h"

namespace fraiseql {

// ---- The embedded server ----

// One request as the server received it (the body whole: bodies are capped, see
// HttpServerOptions::max_body_bytes).
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

// Answers one request. Runs on a worker thread; must not throw (an exception becomes a logged 500).
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

struct HttpServerOptions {
  ListenAddress address{"127.0.0.1", 0};
  // Connections served at once. An idle keep-alive connection holds its thread until
  // keep_alive_timeout, so this is also how many scrapers can stay connected.
  size_t threads = 4;
  // Larger requests are answered 413 without reaching the handler.
  size_t max_body_bytes = 1 << 20;
  // How long an idle keep-alive connection stays open; it also bounds how long Stop() waits for
  // such a connection, which is why it is short.
  std::chrono::seconds keep_alive_timeout{1};
  // How long a client may take to send a request (and to read our answer) before it is dropped.
  std::chrono::seconds io_timeout{5};
};

// A threaded HTTP/1.1 server that answers every request (any path; GET, HEAD, POST, PUT, PATCH,
// DELETE, OPTIONS) with one handler. Plain HTTP only: put TLS in front if it leaves the host.
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
  // Stops accepting, lets the requests being answered finish and joins every thread. Waits at
  // most about keep_alive_timeout for idle connections (io_timeout for a stalled client).
  // Idempotent; a server is not restarted.
  void Stop();

  // The bound port (the chosen one when the options said 0); 0 before Start().
  uint16_t port() const;
  // The address actually bound, e.g. "127.0.0.1:40123".
  ListenAddress address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- The admin server ----

struct Readiness {
  bool ready = true;
  std::string reason;  // why not ready; shown to whoever asks, so never a secret
};

// Asked on every GET /ready, on a worker thread: must be thread-safe and quick.
using ReadinessCheck = std::function<Readiness()>;

struct AdminServerOptions {
  ListenAddress address{"127.0.0.1", 9464};
  // Admin routes answer 403 while this is unset or empty. Only a digest of it is kept.
  std::optional<Secret> admin_token;
  // Empty: always ready.
  ReadinessCheck readiness;
  // What /metrics renders; nullptr: metrics::DefaultRegistry(). Borrowed; must outlive the server.
  const metrics::Registry* registry = nullptr;
  size_t threads = 4;
};

// Routes (exact paths unless noted):
//   GET /metrics  200, the registry in the Prometheus text format (kPrometheusTextContentType)
//   GET /health   200 {"status":"ok"} while the process serves at all (liveness)
//   GET /ready    200 {"status":"ready"}, or 503 {"status":"not_ready","reason":"..."} (readiness)
//   admin routes  401 without `Authorization: Bearer <token>` or with a wrong token; 403 when no
//                 token is configured; else the route's handler
//   other paths   404; a known path with another method 405 with Allow. HEAD works like GET.
// Answers are JSON except /metrics. Tokens are compared in constant time and never logged.
class AdminServer {
 public:
  explicit AdminServer(AdminServerOptions options);
  ~AdminServer();  // Stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Adds a route that needs the admin token. `path` is matched exactly, or as a prefix when it
  // ends in '*' ("/admin/dlq/*"); the handler sees the full path in ServerRequest::path.
  // REQUIRES: before Start(). kFailedPrecondition after it; kInvalidArgument for a method that is
  // not upper-case letters, a path not starting with '/', or a method and path already routed.
  Result<void> AddAdminRoute(std::string method, std::string path, ServerHandler handler);

  // As HttpServer::Start; logs the address and whether the admin API is enabled.
  Result<void> Start();
  void Stop();

  uint16_t port() const;
  // The address actually bound, for log lines ("127.0.0.1:9464").
  ListenAddress address() const;

 private:
  struct Route {
    std::string method;
    std::string path;  // without the trailing '*' when `prefix`
    bool prefix = false;
    bool admin = false;
    ServerHandler handler;
  };

  ServerResponse Dispatch(const ServerRequest& request) const;
  // nullopt when the request may proceed, else the 401/403 to send.
  std::optional<ServerResponse> Authorize(const ServerRequest& request) const;
  ServerResponse Metrics() const;
  ServerResponse Ready() const;

  AdminServerOptions options_;
  std::optional<std::string> token_digest_;  // HMAC of the token: fixed length, for the comparison
  std::vector<Route> routes_;                // written before Start() only, then read-only
  HttpServer server_;
  bool started_ = false;
};

}  // namespace fraiseql
