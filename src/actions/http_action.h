// The plumbing HTTP-based actions share: naming a URL's destination, sending a request through
// the HttpClient and classifying what came back into a DeliveryOutcome.
// Thread-safety: pure functions, and SendAndClassify, which may be called from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "actions/action.h"
#include "common/clock.h"
#include "common/result.h"
#include "http/http_client.h"

namespace fraiseql {

// "scheme://host:port" of an http(s) URL, lower-cased, the port made explicit, without user
// info, path or query: the unit of circuit breaking. kInvalidArgument for anything else (the
// message does not echo the URL, which may carry a credential).
Result<std::string> HttpDestinationOf(std::string_view url);

// Transport failures: DNS, connect, TLS, timeout and network errors are retryable; an invalid
// request or a target refused by the SSRF guard is permanent. Responses: ClassifyHttpStatus,
// with the Retry-After header, capped at `max_retry_delay`.
DeliveryOutcome ClassifyHttpResult(const HttpResult& result, std::chrono::system_clock::time_point now,
                                   std::chrono::milliseconds max_retry_delay);

// Sends `request` and calls `done` with the classified outcome. `clock` is borrowed and must
// outlive the request; nothing else is captured by reference.
void SendAndClassify(HttpClient& http, HttpRequest request, Clock& clock,
                     std::chrono::milliseconds max_retry_delay, ActionCallback done);

// The User-Agent every HTTP action sends.
inline constexpr std::string_view kUserAgent = "fraiseql-observer/" FRAISEQL_VERSION;

// How long a connection attempt may take: the action's timeout, but at most 10 s, so a
// black-holed host fails fast enough to leave time for the exchange.
std::chrono::milliseconds ConnectTimeoutFor(std::chrono::milliseconds timeout);

}  // namespace fraiseql
