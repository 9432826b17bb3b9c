#include "actions/http_action.h"

#include <algorithm>
#include <memory>
#include <utility>

#include <curl/curl.h>

#include "common/text.h"

namespace fraiseql {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

CurlString Part(CURLU* url, CURLUPart part, unsigned int flags) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK) return nullptr;
  return CurlString(text);
}

}  // namespace

Result<std::string> HttpDestinationOf(std::string_view url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (!parsed) return Error::Internal("out of memory parsing a URL");
  const std::string text(url);
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return Error::InvalidArgument("the URL does not parse as an absolute http(s) URL");
  }
  const CurlString scheme = Part(parsed.get(), CURLUPART_SCHEME, 0);
  const CurlString host = Part(parsed.get(), CURLUPART_HOST, 0);
  const CurlString port = Part(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return Error::InvalidArgument("the URL has no scheme, host or port");
  const std::string scheme_name = ToLowerAscii(scheme.get());
  if (scheme_name != "http" && scheme_name != "https") {
    return Error::InvalidArgument("the URL's scheme is '" + scheme_name + "'; only http and https are sent to");
  }
  return scheme_name + "://" + ToLowerAscii(host.get()) + ":" + port.get();
}

DeliveryOutcome ClassifyHttpResult(const HttpResult& result, std::chrono::system_clock::time_point now,
                                   std::chrono::milliseconds max_retry_delay) {
  switch (result.failure) {
    case TransportFailure::kNone:
      return ClassifyHttpStatus(result.response.status, result.response.Header("Retry-After"), now,
                                max_retry_delay);
    case TransportFailure::kInvalidRequest:
    case TransportFailure::kBlockedTarget:
      return PermanentOutcome(std::string(TransportFailureName(result.failure)), result.error + " (permanent)");
    case TransportFailure::kDns:
    case TransportFailure::kConnect:
    case TransportFailure::kTls:
    case TransportFailure::kTimeout:
    case TransportFailure::kNetwork:
      return RetryableOutcome(std::string(TransportFailureName(result.failure)), result.error + " (retryable)");
  }
  return PermanentOutcome("unknown", "unknown transport failure");
}

void SendAndClassify(HttpClient& http, HttpRequest request, Clock& clock, std::chrono::milliseconds max_retry_delay,
                     ActionCallback done) {
  http.Send(std::move(request), [&clock, max_retry_delay, done = std::move(done)](HttpResult result) {
    done(ClassifyHttpResult(result, clock.Now(), max_retry_delay));
  });
}

std::chrono::milliseconds ConnectTimeoutFor(std::chrono::milliseconds timeout) {
  return std::min(timeout, std::chrono::milliseconds(10000));
}

}  // namespace fraiseql
