// The loopback servers tests talk to (PostgreSQL, the SMTP sink), as scripts/services starts
// them: their addresses come from FRAISEQL_TEST_* variables or from <source>/.test-services/env.
// Thread-safety: every function may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fraiseql::testing {

// A service a test needs is not running. Thrown by the lookups below so the test stops at once
// and FAILS with the message (GoogleTest reports an escaping exception as a failure); tests never
// skip because a service is missing: `scripts/test` starts them, so a missing one is a bug.
struct ServiceMissing : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "postgresql://postgres@127.0.0.1:<port>/fraiseql_test" (trust auth, no password): a private
// cluster, so tests may create tables and functions; use names unique to the test (UniqueMarker)
// because tests run in parallel. Throws ServiceMissing when it is not configured.
std::string PostgresUrl();

struct SmtpSink {
  std::string host;
  uint16_t port = 0;
  std::string dir;  // where the sink stores <n>.eml and <n>.json
};

// The SMTP sink (tests/services/smtp_sink.py). It refuses recipients containing "fail4xx" with
// 451 and "fail5xx" with 550 at RCPT, and messages to "faildata4xx" / "faildata5xx" with 451 / 554
// at the end of DATA. Throws ServiceMissing when it is not configured.
SmtpSink SmtpSinkService();

struct MailHeader {
  std::string name;   // as written
  std::string value;  // unfolded (CRLF before continuation lines removed), leading blanks trimmed
};

struct ReceivedMail {
  std::string file;  // "<n>.eml", for failure messages
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  std::vector<MailHeader> headers;  // in order
  std::string body;                 // as transmitted (CRLF line ends, transfer encoding not undone)
  std::string raw;                  // the whole message

  // The first header of that name, compared case-insensitively.
  std::optional<std::string> Header(std::string_view name) const;
  // Every header of that name, in order.
  std::vector<std::string> Headers(std::string_view name) const;
  // Header() with RFC 2047 encoded-words (=?UTF-8?B?...?= and =?UTF-8?Q?...?=) decoded.
  std::optional<std::string> DecodedHeader(std::string_view name) const;
  // The body with its Content-Transfer-Encoding (quoted-printable, base64) undone.
  std::string DecodedBody() const;
};

// Polls the sink's directory until `count` mails whose recipients or raw text contain `marker`
// have arrived, or `timeout` passed; returns those found (in arrival order), so the test asserts
// on the count. Tests share one sink and run in parallel: give each test its own marker
// (UniqueMarker) and put it into a recipient address or the subject.
std::vector<ReceivedMail> WaitForMails(const SmtpSink& sink, std::string_view marker, size_t count,
                                       std::chrono::milliseconds timeout);
// Every mail in the directory, as above, without filtering.
std::vector<ReceivedMail> WaitForMails(const SmtpSink& sink, size_t count, std::chrono::milliseconds timeout);

// A string no other test (or other run of this test) uses: "<prefix><pid>x<counter>x<nanos>",
// lower-case letters and digits only, so it fits SQL identifiers and mail local parts.
std::string UniqueMarker(std::string_view prefix);

// A loopback port nothing listens on right now (bound to port 0 and closed again), for "the
// server is down" tests.
uint16_t UnusedLoopbackPort();

}  // namespace fraiseql::testing
