// CurlEngine: the production HttpClient. One thread drives libcurl's multi interface, so thousands
// of requests can be in flight over a few kept-alive connections per host without a thread each.
// Thread-safety: Send() from any thread, callbacks included; callbacks run on the engine thread.
//
// The loop is curl's socket interface (curl_multi_socket_action) over epoll, woken by an eventfd
// when Send() queues work: its cost follows the sockets that are ready, not the number of
// requests in flight (curl_engine.cc).
//
// What every request gets (no per-request override, on purpose: these are the safe defaults):
//   - HTTP/1.1, or HTTP/2 when a TLS server offers it (ALPN); HTTP/2 requests to one host are
//     multiplexed on one connection, HTTP/1.1 connections are kept alive and reused.
//   - TLS peer and host name verification; only http and https; redirects are not followed (a 3xx
//     is returned as is: following one would bypass the action's URL and its checks); proxies from
//     the environment are ignored.
//   - The SSRF guard (ssrf_guard.h) checked on each address actually connected to, after DNS: a
//     refused one fails the request with kBlockedTarget and the guard's reason.
//   - Only the caller's headers besides Host and Content-Length: curl's defaults ("Accept: */*",
//     a form Content-Type, "Expect: 100-continue") are suppressed unless the caller sets them.
//   - The body of the response kept up to kMaxCapturedResponseBody bytes (http_client.h).
// Shutdown: the destructor fails every request not yet finished with kNetwork "client shut down",
// calling each callback on the engine thread, then joins it. A Send() made meanwhile (e.g. from
// such a callback) fails the same way; a callback that always answers that failure with another
// Send() would keep the destructor from returning.
#pragma once

#include <cstdint>
#include <memory>

#include "common/clock.h"
#include "common/result.h"
#include "http/http_client.h"
#include "http/ssrf_guard.h"

namespace fraiseql {

struct CurlEngineOptions {
  // Public addresses only, unless built from [security] allow_private_targets.
  SsrfGuard guard;
  // Connections to one host:port (CURLMOPT_MAX_HOST_CONNECTIONS); further requests to it wait for a
  // free connection inside the engine. Matches [performance] max_in_flight_per_target's default.
  uint32_t max_connections_per_host = 32;
  // Connections in all (CURLMOPT_MAX_TOTAL_CONNECTIONS); also the size of the idle-connection
  // cache. Kept under the usual 1024 open-files limit, which the rest of the daemon shares.
  uint32_t max_total_connections = 512;
};

class CurlEngine final : public HttpClient {
 public:
  // Starts the engine thread. `clock` measures HttpResult::elapsed (curl's own timeouts run on
  // real time); borrowed, must outlive the engine. kInternal when libcurl cannot be initialised.
  static Result<std::unique_ptr<CurlEngine>> Create(CurlEngineOptions options, Clock& clock);

  // REQUIRES: not called from one of this engine's callbacks (it joins the engine thread).
  ~CurlEngine() override;

  // Never calls `on_done` before returning: even a request refused at once (bad method or header
  // syntax: kInvalidRequest) completes on the engine thread, so a caller may hold a lock that its
  // callback takes.
  void Send(HttpRequest request, Callback on_done) override;

  // How many times the engine's loop has run: it wakes when a socket is ready, a timer of curl's
  // is due, or a request is queued, and otherwise sleeps. For tests and diagnostics.
  uint64_t loop_passes() const;

 private:
  struct Impl;
  explicit CurlEngine(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace fraiseql
