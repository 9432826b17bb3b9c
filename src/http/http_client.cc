#include "http/http_client.h"

#include "common/text.h"

namespace fraiseql {

std::string_view TransportFailureName(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::kNone: return "none";
    case TransportFailure::kInvalidRequest: return "invalid_request";
    case TransportFailure::kBlockedTarget: return "blocked_target";
    case TransportFailure::kDns: return "dns";
    case TransportFailure::kConnect: return "connect";
    case TransportFailure::kTls: return "tls";
    case TransportFailure::kTimeout: return "timeout";
    case TransportFailure::kNetwork: return "network";
  }
  return "unknown";
}

std::optional<std::string_view> FindHeader(std::span<const HttpHeaderLine> headers, std::string_view name) {
  for (const HttpHeaderLine& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) return std::string_view(header.value);
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

}  // namespace fraiseql
