#include "actions/outcome.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/text.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;

// Reply text echoed into messages is cut so one chatty server cannot bloat a dead-letter row.
constexpr size_t kMaxReplyTextBytes = 200;
// Delta-seconds beyond this (about 31 years) saturate; the cap at max_delay applies anyway.
constexpr uint64_t kMaxDeltaSeconds = 1'000'000'000;

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 511: return "Network Authentication Required";
    default: return {};
  }
}

std::string StatusLine(int status) {
  std::string line = "HTTP " + std::to_string(status);
  const std::string_view reason = ReasonPhrase(status);
  if (!reason.empty()) {
    line += ' ';
    line += reason;
  }
  return line;
}


bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A number of exactly min_len..max_len digits.
std::optional<int> ParseNumber(std::string_view text, size_t min_len, size_t max_len) {
  if (text.size() < min_len || text.size() > max_len || !AllDigits(text)) return std::nullopt;
  int value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  return value;
}

std::optional<unsigned> ParseMonth(std::string_view text) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (EqualsIgnoreCase(text, kMonths[i])) return static_cast<unsigned>(i + 1);
  }
  return std::nullopt;
}

bool IsDayName(std::string_view text) {
  static constexpr std::array<std::string_view, 14> kDays = {
      "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  return std::any_of(kDays.begin(), kDays.end(), [&](std::string_view day) { return EqualsIgnoreCase(text, day); });
}

// "HH:MM:SS" as seconds since midnight.
std::optional<int> ParseTimeOfDay(std::string_view text) {
  if (text.size() != 8 || text[2] != ':' || text[5] != ':') return std::nullopt;
  const auto hours = ParseNumber(text.substr(0, 2), 2, 2);
  const auto minutes = ParseNumber(text.substr(3, 2), 2, 2);
  const auto seconds = ParseNumber(text.substr(6, 2), 2, 2);
  // 60 admits a leap second, which the grammar allows.
  if (!hours || !minutes || !seconds || *hours > 23 || *minutes > 59 || *seconds > 60) return std::nullopt;
  return *hours * 3600 + *minutes * 60 + *seconds;
}

// Splits on spaces, commas and (for RFC 850's "06-Nov-94") hyphens.
std::vector<std::string_view> Tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ' || text[i] == ',' || text[i] == '-' || text[i] == '\t') {
      if (i > start) tokens.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return tokens;
}

// RFC 9110 section 5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms.
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text,
                                                                   std::chrono::system_clock::time_point now) {
  const std::vector<std::string_view> tokens = Tokens(text);
  std::optional<int> day;
  std::optional<unsigned> month;
  std::optional<int> year;
  std::optional<int> time_of_day;
  if (tokens.size() == 6) {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT; RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    if (!IsDayName(tokens[0]) || !EqualsIgnoreCase(tokens[5], "GMT")) return std::nullopt;
    day = ParseNumber(tokens[1], 2, 2);
    month = ParseMonth(tokens[2]);
    time_of_day = ParseTimeOfDay(tokens[4]);
    if (tokens[3].size() == 4) {
      year = ParseNumber(tokens[3], 4, 4);
    } else if (const auto two_digit = ParseNumber(tokens[3], 2, 2)) {
      // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
      const int this_year = static_cast<int>(
          std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
      int candidate = this_year / 100 * 100 + 100 + *two_digit;
      while (candidate > this_year + 50) candidate -= 100;
      year = candidate;
    }
  } else if (tokens.size() == 5) {
    // asctime: Sun Nov  6 08:49:37 1994
    if (!IsDayName(tokens[0])) return std::nullopt;
    month = ParseMonth(tokens[1]);
    day = ParseNumber(tokens[2], 1, 2);
    time_of_day = ParseTimeOfDay(tokens[3]);
    year = ParseNumber(tokens[4], 4, 4);
  }
  if (!day || !month || !year || !time_of_day) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(*month),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::seconds(*time_of_day);
}

// "http_5xx" for 503, "smtp_4xx" for 421; "http_other" outside 100..599.
std::string StatusClassLabel(std::string_view prefix, int code) {
  std::string label(prefix);
  if (code < 100 || code > 599) return label + "other";
  label += static_cast<char>('0' + code / 100);
  return label + "xx";
}

}  // namespace

std::optional<milliseconds> ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
  value = TrimAsciiSpace(value);
  if (AllDigits(value)) {
    uint64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + static_cast<uint64_t>(c - '0');
      if (seconds > kMaxDeltaSeconds) {
        seconds = kMaxDeltaSeconds;
        break;
      }
    }
    return milliseconds(static_cast<int64_t>(seconds) * 1000);
  }
  const auto when = ParseHttpDate(value, now);
  if (!when) return std::nullopt;
  if (*when <= now) return milliseconds(0);
  // Rounded up, so the retry never lands before the moment the server named.
  return std::chrono::ceil<milliseconds>(*when - now);
}

DeliveryOutcome RetryableOutcome(std::string error_type, std::string message) {
  DeliveryOutcome outcome;
  outcome.kind = DeliveryOutcomeKind::kRetryable;
  outcome.error_type = std::move(error_type);
  outcome.message = std::move(message);
  return outcome;
}

DeliveryOutcome PermanentOutcome(std::string error_type, std::string message) {
  DeliveryOutcome outcome;
  outcome.kind = DeliveryOutcomeKind::kPermanent;
  outcome.error_type = std::move(error_type);
  outcome.message = std::move(message);
  return outcome;
}

DeliveryOutcome ClassifyHttpStatus(int status, std::optional<std::string_view> retry_after_header,
                                   std::chrono::system_clock::time_point now, milliseconds max_delay) {
  DeliveryOutcome outcome;
  outcome.http_status = status;
  const std::string line = StatusLine(status);
  if (status >= 200 && status <= 299) {
    outcome.kind = DeliveryOutcomeKind::kSuccess;
    outcome.message = line;
    return outcome;
  }
  if (status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599)) {
    outcome.kind = DeliveryOutcomeKind::kRetryable;
    outcome.message = line + " (retryable)";
    outcome.error_type = status == 429 ? "http_429" : StatusClassLabel("http_", status);
    if (retry_after_header) {
      if (const auto delay = ParseRetryAfter(*retry_after_header, now)) {
        outcome.retry_after = std::clamp(*delay, milliseconds(0), std::max(max_delay, milliseconds(0)));
      }
    }
    return outcome;
  }
  outcome.kind = DeliveryOutcomeKind::kPermanent;
  outcome.error_type = StatusClassLabel("http_", status);
  if (status == 410) {
    outcome.target_gone = true;
    outcome.message = line + " (permanent: the target is gone)";
  } else if (status >= 400 && status <= 499) {
    outcome.message = line + " (permanent)";
  } else if (status >= 300 && status <= 399) {
    outcome.message = line + " (permanent: redirects are not followed)";
  } else if (status >= 100 && status <= 199) {
    outcome.message = line + " (permanent: informational status is not a final response)";
  } else {
    outcome.message = line + " (permanent: not a valid HTTP status)";
  }
  return outcome;
}

DeliveryOutcome ClassifySmtpReply(int code, std::string_view text) {
  DeliveryOutcome outcome;
  std::string line = "SMTP " + std::to_string(code);
  const std::string_view trimmed = TrimAsciiSpace(text);
  if (!trimmed.empty()) {
    line += ' ';
    line += TruncateUtf8(trimmed, kMaxReplyTextBytes);
  }
  if (code >= 200 && code <= 399) {
    outcome.kind = DeliveryOutcomeKind::kSuccess;
    outcome.message = std::move(line);
    return outcome;
  }
  outcome.error_type = StatusClassLabel("smtp_", code);
  if (code >= 400 && code <= 499) {
    outcome.kind = DeliveryOutcomeKind::kRetryable;
    outcome.message = line + " (retryable)";
  } else if (code >= 500 && code <= 599) {
    outcome.kind = DeliveryOutcomeKind::kPermanent;
    outcome.message = line + " (permanent)";
  } else {
    outcome.kind = DeliveryOutcomeKind::kPermanent;
    outcome.message = line + " (permanent: unexpected reply code)";
  }
  return outcome;
}

}  // namespace fraiseql
