#include "http/admin_server.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <exception>
#include <future>
#include <system_error>
#include <thread>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/text.h"
#include "http/signing.h"
#include "metrics/prometheus_text.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;

std::string Json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ServerResponse JsonError(int status, std::string_view message) {
  return ServerResponse::Json(status, Json({{"error", message}}));
}

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

Result<void> CheckResolves(const ListenAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const int status = ::getaddrinfo(address.host.c_str(), nullptr, &hints, &found);
  if (status != 0) {
    return Error::Unavailable("cannot listen on " + address.ToString() + ": " + ::gai_strerror(status));
  }
  ::freeaddrinfo(found);
  return Ok();
}

// cpp-httplib's default sets SO_REUSEPORT on Linux, which lets a second process bind the same
// port and silently share the traffic: a second daemon would start "fine" and scrapes would land
// on either. SO_REUSEADDR alone still allows a quick restart past TIME_WAIT.
void ReuseAddressOnly(int socket) {
  int yes = 1;
  ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

bool IsUpperAlpha(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A fixed key: the HMAC only gives both sides of the comparison the same length, so comparing
// digests leaks neither the token's bytes nor its length through timing.
constexpr std::string_view kTokenDigestKey = "fraiseql-observer admin token";

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

struct HttpServer::Impl {
  HttpServerOptions options;
  ServerHandler handler;
  httplib::Server server;
  std::thread thread;         // runs listen_after_bind(), which owns the worker pool
  std::future<void> stopped;  // ready when that thread is done
  uint16_t port = 0;
  bool start_called = false;  // a server is started at most once, even when binding failed
  bool running = false;       // `thread` exists and has not been joined

  void Serve(const httplib::Request& in, httplib::Response& out) const {
    ServerRequest request;
    request.method = in.method;
    request.path = in.path;
    request.target = in.target;
    request.headers.reserve(in.headers.size());
    for (const auto& [name, value] : in.headers) request.headers.push_back({name, value});
    request.body = in.body;
    request.remote_address = in.remote_addr;

    ServerResponse response;
    try {
      response = handler(request);
    } catch (const std::exception& error) {
      // Handlers should not throw; if one does, the client gets a plain 500 rather than
      // cpp-httplib's, which would echo the exception text in a response header.
      log::Error("HTTP handler threw", {{"path", TruncateUtf8(request.path, 200)}, {"error", error.what()}});
      response = ServerResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
    } catch (...) {
      log::Error("HTTP handler threw a non-standard exception", {{"path", TruncateUtf8(request.path, 200)}});
      response = ServerResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
    out.status = response.status;
    for (const HttpHeaderLine& header : response.headers) out.set_header(header.name, header.value);
    out.set_content(std::move(response.body), response.content_type);
  }
};

HttpServer::HttpServer(HttpServerOptions options, ServerHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { Stop(); }

Result<void> HttpServer::Start() {
  Impl& impl = *impl_;
  if (impl.start_called) {
    return Error::FailedPrecondition("HTTP server on " + impl.options.address.ToString() + " was already started");
  }
  impl.start_called = true;

  httplib::Server& server = impl.server;
  const size_t threads = std::max<size_t>(1, impl.options.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_socket_options(ReuseAddressOnly);
  server.set_keep_alive_timeout(static_cast<time_t>(impl.options.keep_alive_timeout.count()));
  server.set_read_timeout(impl.options.io_timeout);
  server.set_write_timeout(impl.options.io_timeout);
  server.set_payload_max_length(impl.options.max_body_bytes);
  // One catch-all pattern per method (the pre-routing hook would run before the body is read).
  const auto serve = [&impl](const httplib::Request& request, httplib::Response& response) {
    impl.Serve(request, response);
  };
  server.Get(".*", serve);  // HEAD is served by the GET handlers, without the body
  server.Post(".*", serve);
  server.Put(".*", serve);
  server.Patch(".*", serve);
  server.Delete(".*", serve);
  server.Options(".*", serve);

  const ListenAddress& address = impl.options.address;
  // Resolve first: cpp-httplib reports every failure as -1, and only bind() leaves a useful errno.
  FRAISEQL_RETURN_IF_ERROR(CheckResolves(address));
  errno = 0;
  int port = -1;
  if (address.port == 0) {
    port = server.bind_to_any_port(address.host);
  } else if (server.bind_to_port(address.host, address.port)) {
    port = address.port;
  }
  const int bind_error = errno;
  if (port <= 0) return Error::Unavailable(BindFailure(address, bind_error));
  impl.port = static_cast<uint16_t>(port);

  std::promise<void> stopped;
  impl.stopped = stopped.get_future();
  impl.thread = std::thread([&impl, stopped = std::move(stopped)]() mutable {
    try {
      impl.server.listen_after_bind();
    } catch (const std::exception& error) {
      // E.g. the worker pool could not start its threads: nothing is served, say so.
      log::Error("HTTP server stopped", {{"address", impl.options.address.ToString()}, {"error", error.what()}});
    }
    stopped.set_value();
  });
  impl.running = true;
  return Ok();
}

void HttpServer::Stop() {
  Impl& impl = *impl_;
  if (!impl.running) return;
  // cpp-httplib's stop() does nothing until its thread has marked itself running, which it may
  // not have yet right after Start(); repeat until the thread is really done.
  do {
    impl.server.stop();
  } while (impl.stopped.wait_for(10ms) != std::future_status::ready);
  impl.thread.join();
  impl.running = false;
}

uint16_t HttpServer::port() const { return impl_->port; }

ListenAddress HttpServer::address() const { return ListenAddress{impl_->options.address.host, impl_->port}; }

// ---- AdminServer ----

namespace {

HttpServerOptions ServerOptions(const AdminServerOptions& options) {
  HttpServerOptions server;
  server.address = options.address;
  server.threads = options.threads;
  // Admin requests are small; a large body is a mistake or an attack.
  server.max_body_bytes = 64 * 1024;
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
