// HttpClient: the transport seam every HTTP action (webhook, Slack, later Elasticsearch) sends
// through. Production is the curl-multi engine (curl_engine.h); the contract is asynchronous.
// Thread-safety: Send() may be called from any thread; callbacks run on the client's own thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/header.h"

namespace fraiseql {

// At most this many bytes of a response body are kept; the rest is read and dropped, so a huge
// answer neither fills memory nor stalls the connection.
inline constexpr size_t kMaxCapturedResponseBody = 64 * 1024;

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<HttpHeaderLine> headers;  // sent in this order
  std::string body;                     // sent verbatim (the signed bytes are the sent bytes)
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{30000};  // the whole exchange, connect included
};

// Why a request produced no HTTP response. Each maps to one delivery outcome (actions/).
enum class TransportFailure {
  kNone,
  kInvalidRequest,  // bad URL, unsupported scheme or method: permanent
  kBlockedTarget,   // the SSRF guard refused the address connected to: permanent
  kDns,             // the host did not resolve: retryable
  kConnect,         // refused, unreachable, reset before a response: retryable
  kTls,             // handshake or certificate verification failed: retryable
  kTimeout,         // connect or total timeout: retryable
  kNetwork,         // any other transfer error (reset mid-response, protocol error): retryable
};

// "none", "invalid_request", "blocked_target", "dns", "connect", "tls", "timeout", "network":
// also the error_type label of the action metrics.
std::string_view TransportFailureName(TransportFailure failure);

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeaderLine> headers;  // of the final response, in received order
  std::string body;                     // at most kMaxCapturedResponseBody bytes
  bool body_truncated = false;

  // The first header of that name, compared case-insensitively.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct HttpResult {
  TransportFailure failure = TransportFailure::kNone;
  // Human-readable, for logs and the dead-letter row; empty on success. A URL in it is redacted
  // (common/url.h RedactUrlsIn).
  std::string error;
  HttpResponse response;  // meaningful when failure == kNone
  std::string remote_address;  // the IP actually connected to, when a connection was made
  std::chrono::nanoseconds elapsed{0};

  bool ok() const { return failure == TransportFailure::kNone; }
};

class HttpClient {
 public:
  // Runs once per request on the client's thread. It must not block: hand heavy work to
  // another thread. It may call Send() again.
  using Callback = std::function<void(HttpResult)>;

  HttpClient() = default;
  virtual ~HttpClient() = default;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts the request; `on_done` is called exactly once, also when the client shuts down
  // before the request finished (with kNetwork and an error saying so).
  virtual void Send(HttpRequest request, Callback on_done) = 0;
};

}  // namespace fraiseql
