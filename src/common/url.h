// URLs as the product shows and checks them: the one redaction every preview, log line, CLI
// output and dead-letter reason applies to a URL (userinfo always, credential-like query values),
// and the load-time check that a webhook URL is one the HTTP engine can send to.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fraiseql {

// The parts of an absolute URL, `scheme://authority[path][?query][#fragment]`, as views into
// the text it was split from.
struct UrlParts {
  std::string_view scheme;
  std::optional<std::string_view> userinfo;  // before the authority's last '@'
  std::string_view host;                     // IPv6 literals keep their brackets
  std::optional<std::string_view> port;      // after the host's ':' (may be empty: "host:")
  std::string_view path;
  std::optional<std::string_view> query;     // without the '?'
  std::optional<std::string_view> fragment;  // without the '#'
};

// Splits `url` at its delimiters (RFC 3986 section 3), checking only that it has a scheme
// followed by "://". Nothing is decoded or validated beyond that: see CheckSendableUrl.
std::optional<UrlParts> SplitUrl(std::string_view url);

// True when a query parameter's name says its value is a credential: it contains (ASCII
// case-insensitively, after percent-decoding) token, key, secret, sig, password, passwd, pwd,
// auth, credential or session. Errs on the side of redacting ("monkey" counts).
bool IsCredentialName(std::string_view name);

// `url` fit to show: its userinfo replaced by <redacted> (Secret::kRedacted) (always: "user:password@" or a bare
// token), and the value of every query or fragment parameter whose name IsCredentialName
// replaced by <redacted>. The rest (scheme, host, port, path, other parameters) is kept, so an
// operator still sees where a delivery went. Text that is not a URL is redacted by the same
// rules as far as they apply (an '@' before the first '/', parameters after a '?'). Applying it
// twice changes nothing more.
std::string RedactUrl(std::string_view url);

// `text` with every URL in it (a scheme, "://" and what follows up to whitespace, a quote or a
// control character) passed through RedactUrl: for free text that may quote a URL, such as
// libcurl's error messages and dead-letter reasons.
std::string RedactUrlsIn(std::string_view text);

// Whether the HTTP engine can send to `url`: an http or https scheme (any case), a host that is
// a DNS name (letters, digits, '-', '.', '_', or non-ASCII for IDN) or a bracketed IPv6
// literal, an optional port from 1 to 65535, and no whitespace or control characters anywhere.
// kInvalidArgument says what is wrong without quoting the URL (it may carry a credential).
Result<void> CheckSendableUrl(std::string_view url);

}  // namespace fraiseql
