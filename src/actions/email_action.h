// Email action: one message per attempt, sent over SMTP with libcurl on the blocking TaskRunner.
// The Message-ID is derived from the delivery id, so every attempt of a delivery (and a repeat
// after a crash) carries the same one and a reader or filter can recognise the duplicate.
// Thread-safety: Execute() may run concurrently; the action is immutable after construction.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actions/action.h"

namespace fraiseql {

// One rendered message, ready for the SMTP envelope and DATA.
struct EmailMessage {
  std::string mail_from;                // envelope sender: the bare address of [email] from
  std::vector<std::string> recipients;  // envelope: To then Cc, bare addresses, without repeats
  std::string data;                     // RFC 5322 text, CRLF line ends (the SMTP client dot-stuffs)
};

// Renders `spec` for `event` into a message from `from` ("addr@host" or "Name <addr@host>"):
// To = `to` plus `to_template` (rendered, comma-separated), Cc, Subject (`subject_template`
// wins over `subject`; RFC 2047 encoded-words when not ASCII or too long for one line), Date
// (from `now`), Message-ID `<delivery_id@fraiseql-observer>`, Reply-To, MIME-Version,
// Content-Type "<content_type>; charset=utf-8", Content-Transfer-Encoding 7bit for ASCII bodies
// with short lines, else quoted-printable (safe without the server's 8BITMIME).
// kInvalidArgument, never retried, when a header value holds CR or LF ("template produced a
// header with a line break": header injection), an address is not one, or no recipient is left
// (that one with the detail {kEmailErrorDomain, "no_recipients"}).
inline constexpr std::string_view kEmailErrorDomain = "email";
Result<EmailMessage> BuildEmailMessage(const EmailAction& spec, std::string_view from, const EntityEvent& event,
                                       std::string_view delivery_id, std::chrono::system_clock::time_point now);

// REQUIRES (else kInvalidArgument): deps.email (the [email] section) and deps.blocking.
// deps.clock dates the messages. The SMTP session is bounded by
// the smaller of config.timeout and the [email] timeout. Outcomes: the server's final reply
// through ClassifySmtpReply (4xx retryable, 5xx permanent); connection failures, TLS failures
// and timeouts retryable ("connect", "dns", "tls", "timeout", "network"); bad rendered content
// permanent ("template", "no_recipients"). No outcome or log line contains the credentials.
Result<std::unique_ptr<Action>> MakeEmailAction(const ActionConfig& config, const EmailAction& spec,
                                                const ActionDependencies& deps);

}  // namespace fraiseql
