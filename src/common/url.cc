#include "common/url.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "common/secret.h"
#include "common/text.h"

namespace fraiseql {
namespace {

constexpr std::string_view kSchemeSeparator = "://";

bool IsSchemeChar(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '+' || c == '-' || c == '.'; }

bool IsControlOrSpace(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte == 0x7f;
}

bool IsHexDigit(char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

int HexValue(char c) {
  if (IsAsciiDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

// `name` with %XX sequences and '+' decoded, lower-cased: how a server reads a parameter name.
std::string DecodedLowerName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '%' && i + 2 < name.size() && IsHexDigit(name[i + 1]) && IsHexDigit(name[i + 2])) {
      out += static_cast<char>(HexValue(name[i + 1]) * 16 + HexValue(name[i + 2]));
      i += 2;
    } else {
      out += name[i] == '+' ? ' ' : name[i];
    }
  }
  return ToLowerAscii(out);
}

// "a=1&token=x;sig=y" with the values of credential-named parameters redacted; separators,
// names and other values kept byte for byte.
std::string RedactParameters(std::string_view parameters) {
  std::string out;
  out.reserve(parameters.size());
  size_t start = 0;
  while (start <= parameters.size()) {
    const size_t end = std::min(parameters.find_first_of("&;", start), parameters.size());
    const std::string_view parameter = parameters.substr(start, end - start);
    const size_t equals = parameter.find('=');
    if (equals != std::string_view::npos && IsCredentialName(parameter.substr(0, equals))) {
      out.append(parameter.substr(0, equals + 1)).append(Secret::kRedacted);
    } else {
      out.append(parameter);
    }
    if (end == parameters.size()) break;
    out += parameters[end];
    start = end + 1;
  }
  return out;
}

// Where the scheme's "://" ends (0 when there is none): the start of the authority.
size_t AuthorityStart(std::string_view url) {
  const size_t separator = url.find(kSchemeSeparator);
  if (separator == std::string_view::npos || separator == 0 || !IsAsciiAlpha(url.front())) return 0;
  const std::string_view scheme = url.substr(0, separator);
  if (!std::all_of(scheme.begin(), scheme.end(), IsSchemeChar)) return 0;
  return separator + kSchemeSeparator.size();
}

// RFC 3986 section 3.2.2: an IPv6 literal (hex digits, ':' and '.' for an embedded IPv4),
// optionally with a zone ("%25eth0", or curl's "%eth0").
bool IsIpv6Literal(std::string_view bracketed) {
  if (bracketed.size() < 4 || bracketed.front() != '[' || bracketed.back() != ']') return false;
  std::string_view inside = bracketed.substr(1, bracketed.size() - 2);
  if (const size_t zone = inside.find('%'); zone != std::string_view::npos) {
    const std::string_view zone_id = inside.substr(zone + 1);
    if (zone_id.empty() || !std::all_of(zone_id.begin(), zone_id.end(), [](char c) {
          return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
        })) {
      return false;
    }
    inside = inside.substr(0, zone);
  }
  return inside.find(':') != std::string_view::npos &&
         std::all_of(inside.begin(), inside.end(), [](char c) { return IsHexDigit(c) || c == ':' || c == '.'; });
}

bool IsHostNameChar(char c) {
  // Bytes from 0x80 are UTF-8 of an internationalised name, which curl converts (IDN).
  return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '-' || c == '.' || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

}  // namespace

std::optional<UrlParts> SplitUrl(std::string_view url) {
  const size_t authority_start = AuthorityStart(url);
  if (authority_start == 0) return std::nullopt;
  UrlParts parts;
  parts.scheme = url.substr(0, authority_start - kSchemeSeparator.size());
  const size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  std::string_view host_port = url.substr(authority_start, authority_end - authority_start);
  if (const size_t at = host_port.rfind('@'); at != std::string_view::npos) {
    parts.userinfo = host_port.substr(0, at);
    host_port = host_port.substr(at + 1);
  }
  // The port follows the last ':' that is not inside an IPv6 literal's brackets.
  const size_t bracket = host_port.rfind(']');
  const size_t colon = host_port.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    parts.host = host_port.substr(0, colon);
    parts.port = host_port.substr(colon + 1);
  } else {
    parts.host = host_port;
  }
  std::string_view rest = url.substr(authority_end);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    parts.fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (const size_t question = rest.find('?'); question != std::string_view::npos) {
    parts.query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  parts.path = rest;
  return parts;
}

bool IsCredentialName(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kMarkers = {
      "token", "key", "secret", "sig", "password", "passwd", "pwd", "auth", "credential", "session"};
  const std::string decoded = DecodedLowerName(name);
  return std::any_of(kMarkers.begin(), kMarkers.end(),
                     [&](std::string_view marker) { return decoded.find(marker) != std::string::npos; });
}

std::string RedactUrl(std::string_view url) {
  // The same walk whether or not there is a scheme: authority up to the first '/', '?' or '#',
  // then path, query and fragment.
  const size_t authority_start = AuthorityStart(url);
  const size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  std::string out(url.substr(0, authority_start));
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.append(Secret::kRedacted).append(authority.substr(at));
  } else {
    out.append(authority);
  }
  std::string_view rest = url.substr(authority_end);
  std::optional<std::string_view> fragment;
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (const size_t question = rest.find('?'); question != std::string_view::npos) {
    out.append(rest.substr(0, question + 1)).append(RedactParameters(rest.substr(question + 1)));
  } else {
    out.append(rest);
  }
  if (fragment) out.append("#").append(RedactParameters(*fragment));
  return out;
}

std::string RedactUrlsIn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;  // text before this offset is in `out`
  size_t search = 0;
  while (true) {
    const size_t separator = text.find(kSchemeSeparator, search);
    if (separator == std::string_view::npos) break;
    size_t start = separator;
    while (start > copied && IsSchemeChar(text[start - 1])) --start;
    while (start < separator && !IsAsciiAlpha(text[start])) ++start;  // a scheme begins with a letter
    size_t end = separator + kSchemeSeparator.size();
    while (end < text.size() && !IsControlOrSpace(text[end]) && text[end] != '"' && text[end] != '\'' &&
           text[end] != '`') {
      ++end;
    }
    if (start == separator) {  // "://" without a scheme: not a URL
      search = separator + kSchemeSeparator.size();
      continue;
    }
    out.append(text.substr(copied, start - copied)).append(RedactUrl(text.substr(start, end - start)));
    copied = search = end;
  }
  out.append(text.substr(copied));
  return out;
}

Result<void> CheckSendableUrl(std::string_view url) {
  if (url.empty()) return Error::InvalidArgument("the URL is empty");
  if (const auto bad = std::find_if(url.begin(), url.end(), IsControlOrSpace); bad != url.end()) {
    return Error::InvalidArgument("the URL has a space or control character at byte " +
                                  std::to_string(bad - url.begin() + 1) + " (percent-encode it, e.g. %20)");
  }
  const std::optional<UrlParts> parts = SplitUrl(url);
  if (!parts) return Error::InvalidArgument("the URL is not absolute: expected http://host/... or https://host/...");
  const std::string scheme = ToLowerAscii(parts->scheme);
  if (scheme != "http" && scheme != "https") {
    return Error::InvalidArgument("the URL's scheme is '" + TruncateUtf8(scheme, 20) +
                                  "'; only http and https are sent to");
  }
  if (parts->host.empty()) return Error::InvalidArgument("the URL has no host");
  if (parts->host.front() == '[') {
    if (!IsIpv6Literal(parts->host)) return Error::InvalidArgument("the URL's host is not a valid [IPv6] literal");
  } else if (!std::all_of(parts->host.begin(), parts->host.end(), IsHostNameChar)) {
    return Error::InvalidArgument(
        "the URL's host has a character that cannot be in a host name (letters, digits, '-', '.' and '_')");
  }
  if (parts->port && !parts->port->empty()) {
    const std::string_view port = *parts->port;
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      // Not quoted: "https://user:password/..." (an '@host' forgotten) puts a password here.
      return Error::InvalidArgument("the URL's port is not a number from 1 to 65535");
    }
  }
  return Ok();
}

}  // namespace fraiseql
