#include "http/admin_server.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/text.h"
#include "http/signing.h"
#include "metrics/prometheus_text.h"

namespace fraiseql {
namespace {

std::string Json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ServerResponse JsonError(int status, std::string_view message) {
  return ServerResponse::Json(status, Json({{"error", message}}));
}

bool IsUpperAlpha(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A fixed key: the HMAC only gives both sides of the comparison the same length, so comparing
// digests leaks neither the token's bytes nor its length through timing.
constexpr std::string_view kTokenDigestKey = "fraiseql-observer admin token";

HttpServerOptions ServerOptions(const AdminServerOptions& options) {
  HttpServerOptions server;
  server.address = options.address;
  server.handler_threads = options.handler_threads;
  server.limits = options.limits;
  // Probes are answered on the server's own thread: a stuck admin route or a slow /metrics
  // cannot make the orchestrator think the process is dead.
  server.inline_paths = {"/health", "/ready"};
  return server;
}

}  // namespace

AdminServer::AdminServer(AdminServerOptions options)
    : options_(std::move(options)),
      server_(ServerOptions(options_), [this](const ServerRequest& request) { return Dispatch(request); }) {
  if (options_.admin_token && !options_.admin_token->empty()) {
    token_digest_ = HmacSha256(kTokenDigestKey, options_.admin_token->Reveal());
  }
  options_.admin_token.reset();  // the digest is all we need; no copy of the token stays around
  if (options_.registry == nullptr) options_.registry = &metrics::DefaultRegistry();

  routes_.push_back({"GET", "/metrics", false, false, [this](const ServerRequest&) { return Metrics(); }});
  routes_.push_back({"GET", "/health", false, false, [](const ServerRequest&) {
                       return ServerResponse::Json(200, R"({"status":"ok"})");
                     }});
  routes_.push_back({"GET", "/ready", false, false, [this](const ServerRequest&) { return Ready(); }});
}

AdminServer::~AdminServer() { Stop(); }

Result<void> AdminServer::AddAdminRoute(std::string method, std::string path, ServerHandler handler) {
  if (started_) return Error::FailedPrecondition("admin route " + method + " " + path + " added after Start()");
  if (!IsUpperAlpha(method)) return Error::InvalidArgument("admin route method \"" + method + "\" is not an HTTP method");
  if (path.empty() || path.front() != '/') {
    return Error::InvalidArgument("admin route path \"" + path + "\" does not start with '/'");
  }
  if (!handler) return Error::InvalidArgument("admin route " + method + " " + path + " has no handler");
  const bool prefix = path.back() == '*';
  std::string match = prefix ? path.substr(0, path.size() - 1) : path;
  for (const Route& route : routes_) {
    if (route.method == method && route.path == match && route.prefix == prefix) {
      return Error::InvalidArgument("admin route " + method + " " + path + " is already routed");
    }
  }
  routes_.push_back({std::move(method), std::move(match), prefix, true, std::move(handler)});
  return Ok();
}

Result<void> AdminServer::Start() {
  FRAISEQL_RETURN_IF_ERROR(server_.Start());
  started_ = true;
  log::Info("admin server listening", {{"address", server_.address().ToString()},
                                        {"admin_api", token_digest_ ? "enabled" : "disabled"}});
  return Ok();
}

void AdminServer::Stop() { server_.Stop(); }

uint16_t AdminServer::port() const { return server_.port(); }

ListenAddress AdminServer::address() const { return server_.address(); }

HttpServerStats AdminServer::stats() const { return server_.stats(); }

ServerResponse AdminServer::Dispatch(const ServerRequest& request) const {
  const std::string_view method = request.method == "HEAD" ? std::string_view("GET") : request.method;
  const Route* found = nullptr;
  std::string allowed;
  for (const Route& route : routes_) {
    const bool path_matches = route.prefix ? request.path.starts_with(route.path) : request.path == route.path;
    if (!path_matches) continue;
    if (route.method == method) {
      found = &route;
      break;
    }
    allowed += (allowed.empty() ? "" : ", ") + route.method;
  }
  if (found == nullptr) {
    if (allowed.empty()) return JsonError(404, "not found");
    ServerResponse response = JsonError(405, "method not allowed");
    response.headers.push_back({"Allow", allowed});
    return response;
  }
  if (found->admin) {
    if (std::optional<ServerResponse> refusal = Authorize(request)) return std::move(*refusal);
  }
  return found->handler(request);
}

std::optional<ServerResponse> AdminServer::Authorize(const ServerRequest& request) const {
  if (!token_digest_) return JsonError(403, "admin API disabled: set [security] admin_token");
  const auto unauthorized = [](std::string_view message) {
    ServerResponse response = JsonError(401, message);
    response.headers.push_back({"WWW-Authenticate", R"(Bearer realm="fraiseql-observer")"});
    return response;
  };
  const std::optional<std::string_view> header = request.Header("Authorization");
  if (!header) return unauthorized("missing Authorization: Bearer <admin token>");
  // RFC 7235: the scheme is case-insensitive and separated from its credentials by spaces.
  const std::string_view value = TrimAsciiSpace(*header);
  const size_t space = value.find(' ');
  const std::string_view token = space == std::string_view::npos ? std::string_view() : TrimAsciiSpace(value.substr(space));
  if (space == std::string_view::npos || !EqualsIgnoreCase(value.substr(0, space), "Bearer") || token.empty()) {
    return unauthorized("the Authorization header is not \"Bearer <admin token>\"");
  }
  if (!ConstantTimeEquals(HmacSha256(kTokenDigestKey, token), *token_digest_)) {
    // The remote address and path help find a misconfigured client; the token itself never
    // appears in a log line.
    log::Warn("admin request with a wrong token",
              {{"remote", request.remote_address}, {"path", TruncateUtf8(request.path, 200)}});
    return unauthorized("wrong admin token");
  }
  return std::nullopt;
}

ServerResponse AdminServer::Metrics() const {
  return ServerResponse{200, std::string(metrics::kPrometheusTextContentType),
                        metrics::RenderPrometheusText(*options_.registry), {}};
}

ServerResponse AdminServer::Ready() const {
  const Readiness readiness = options_.readiness ? options_.readiness() : Readiness{};
  if (readiness.ready) return ServerResponse::Json(200, R"({"status":"ready"})");
  return ServerResponse::Json(503, Json({{"status", "not_ready"}, {"reason", readiness.reason}}));
}

}  // namespace fraiseql
