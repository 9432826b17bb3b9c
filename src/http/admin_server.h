// AdminServer: the daemon's operator endpoint (GET /metrics, /health, /ready; admin routes behind a
// bearer token), on HttpServer (http_server.h), the embedded server `receive` also uses.
// Thread-safety: configure, Start() and Stop() from one thread; handlers run concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret.h"
#include "http/header.h"
#include "http/http_server.h"
#include "metrics/registry.h"

namespace fraiseql {

struct Readiness {
  bool ready = true;
  std::string reason;  // why not ready; shown to whoever asks, so never a secret
};

// Asked on every GET /ready, on the server's own thread (so that a probe is answered however
// busy the handler threads are): must be thread-safe, quick, and never block.
using ReadinessCheck = std::function<Readiness()>;

// HttpServerLimits' defaults, but bodies over 64 KiB are refused: admin requests are small.
inline HttpServerLimits AdminServerLimits() {
  HttpServerLimits limits;
  limits.max_body_bytes = 64 << 10;
  return limits;
}

struct AdminServerOptions {
  ListenAddress address{"127.0.0.1", 9464};
  // Admin routes answer 403 while this is unset or empty. Only a digest of it is kept.
  std::optional<Secret> admin_token;
  // Empty: always ready.
  ReadinessCheck readiness;
  // What /metrics renders; nullptr: metrics::DefaultRegistry(). Borrowed; must outlive the server.
  const metrics::Registry* registry = nullptr;
  // Threads rendering /metrics and running admin routes; /health and /ready never wait for them.
  size_t handler_threads = 4;
  HttpServerLimits limits = AdminServerLimits();
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
  HttpServerStats stats() const;

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
