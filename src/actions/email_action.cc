#include "actions/email_action.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>

#include <curl/curl.h>

#include "common/base64.h"
#include "common/email_address.h"  // the loader checked the configured addresses by the same rule
#include "common/text.h"

namespace fraiseql {
namespace {

constexpr std::string_view kLineBreakInHeader = "template produced a header with a line break";
// RFC 5322 2.1.1: lines SHOULD stay within 78 characters and MUST within 998.
constexpr size_t kFoldAt = 78;
constexpr size_t kMaxLine = 998;
// RFC 2045 6.7: encoded lines at most 76 characters, the soft break's "=" included.
constexpr size_t kQuotedPrintableLine = 75;
// 45 bytes of UTF-8 make 60 base64 characters: with "=?UTF-8?B?" and "?=", 72 <= 75 (RFC 2047).
constexpr size_t kEncodedWordBytes = 45;

bool HasLineBreak(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '\t' || (c >= 0x20 && c < 0x7f); });
}

// RFC 2047 B-encoded words, split between UTF-8 characters (a word must decode on its own) and
// folded onto continuation lines.
std::string EncodedWords(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    size_t take = std::min(text.size(), kEncodedWordBytes);
    while (take < text.size() && take > 0 && (static_cast<unsigned char>(text[take]) & 0xC0) == 0x80) --take;
    if (take == 0) take = std::min(text.size(), kEncodedWordBytes);  // not UTF-8: split anywhere
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(text.substr(0, take)) + "?=";
    text.remove_prefix(take);
  }
  return out;
}

// `name: value` with value folded at blanks to about 78 characters per line.
std::string FoldedHeader(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ": ";
  size_t line_length = out.size();
  bool first = true;
  size_t position = 0;
  while (position <= value.size()) {
    size_t space = value.find(' ', position);
    if (space == std::string_view::npos) space = value.size();
    const std::string_view word = value.substr(position, space - position);
    if (!first && line_length + 1 + word.size() > kFoldAt) {
      out += "\r\n ";
      line_length = 1;
    } else if (!first) {
      out += ' ';
      ++line_length;
    }
    out += word;
    line_length += word.size();
    first = false;
    position = space + 1;
  }
  return out + "\r\n";
}

std::string SubjectHeader(std::string_view subject) {
  // Encoded-words when the text is not plain ASCII, or has a word too long to fold within 998.
  bool fits = IsPrintableAscii(subject) && subject.find("=?") == std::string_view::npos;
  for (size_t start = 0; fits && start < subject.size();) {
    const size_t space = std::min(subject.find(' ', start), subject.size());
    fits = space - start + 10 <= kMaxLine;
    start = space + 1;
  }
  if (fits) return FoldedHeader("Subject", subject);
  return "Subject: " + EncodedWords(subject) + "\r\n";
}

// "To: a@x, B <b@y>" folded after a comma when the line grows past 78.
std::string AddressHeader(std::string_view name, const std::vector<std::string>& addresses) {
  std::string out(name);
  out += ": ";
  size_t line_length = out.size();
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) {
      out += ',';
      ++line_length;
      if (line_length + 1 + addresses[i].size() > kFoldAt) {
        out += "\r\n";
        line_length = 0;
      }
      out += ' ';
      ++line_length;
    }
    out += addresses[i];
    line_length += addresses[i].size();
  }
  return out + "\r\n";
}

// RFC 5322 3.3: "Tue, 01 Dec 2026 19:40:00 +0000".
std::string MailDate(std::chrono::system_clock::time_point now) {
  static constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
  const auto days = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day date{days};
  const std::chrono::weekday weekday{days};
  const std::chrono::hh_mm_ss time{seconds - days};
  std::array<char, 40> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%s, %02u %s %04d %02d:%02d:%02d +0000", kWeekdays[weekday.c_encoding()],
                static_cast<unsigned>(date.day()), kMonths[static_cast<unsigned>(date.month()) - 1],
                static_cast<int>(date.year()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  return buffer.data();
}

// The delivery id is a UUID; anything outside dot-atom text is replaced so the header stays valid.
std::string MessageId(std::string_view delivery_id) {
  std::string local;
  for (const char c : delivery_id) local += (IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '-' || c == '_') ? c : '-';
  if (local.empty()) local = "delivery";
  return "<" + local + "@fraiseql-observer>";
}

std::string ToCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

bool NeedsQuotedPrintable(std::string_view crlf_text) {
  size_t line_length = 0;
  for (size_t i = 0; i < crlf_text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(crlf_text[i]);
    if (byte >= 0x80 || byte == 0) return true;
    if (crlf_text[i] == '\r' && i + 1 < crlf_text.size() && crlf_text[i + 1] == '\n') {
      line_length = 0;
      ++i;
    } else if (++line_length > kMaxLine) {
      return true;
    }
  }
  return false;
}

// RFC 2045 6.7 over CRLF-separated lines.
std::string QuotedPrintable(std::string_view crlf_text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(crlf_text.size() * 11 / 10 + 16);
  size_t line_start = 0;
  while (line_start < crlf_text.size()) {
    size_t line_end = crlf_text.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = crlf_text.size();
    size_t length = 0;
    for (size_t i = line_start; i < line_end; ++i) {
      const auto byte = static_cast<unsigned char>(crlf_text[i]);
      const bool last = i + 1 == line_end;
      const bool literal = (byte >= 33 && byte <= 126 && byte != '=') || ((byte == ' ' || byte == '\t') && !last);
      const size_t width = literal ? 1 : 3;
      if (length + width > kQuotedPrintableLine) {
        out += "=\r\n";
        length = 0;
      }
      if (literal) {
        out += static_cast<char>(byte);
      } else {
        out += '=';
        out += kHex[byte >> 4];
        out += kHex[byte & 15];
      }
      length += width;
    }
    out += "\r\n";
    line_start = line_end + 2;
  }
  return out;
}

// Splits a rendered to_template on commas; blanks around addresses do not count.
void AppendRendered(std::string_view rendered, std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= rendered.size()) {
    const size_t comma = std::min(rendered.find(',', start), rendered.size());
    const std::string_view piece = TrimAsciiSpace(rendered.substr(start, comma - start));
    if (!piece.empty()) out.emplace_back(piece);
    start = comma + 1;
  }
}

// ---- SMTP transfer ----

struct EasyCleanup {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Upload {
  std::string_view data;
  size_t offset = 0;
};

// C callbacks: they only copy bytes, so nothing can throw through curl.
size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->data.size() - upload->offset);
  std::memcpy(buffer, upload->data.data() + upload->offset, n);
  upload->offset += n;
  return n;
}

// The server's last reply line, so a failure can quote its text ("4.3.0 try again"); curl's own
// error text only has the code. Only incoming lines are kept: outgoing ones carry credentials.
struct LastReply {
  std::array<char, 256> text{};
  size_t length = 0;
};

int RecordReply(CURL* /*easy*/, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* reply = static_cast<LastReply*>(user);
  // 221 answers the QUIT curl sends after the outcome was decided: it would hide the reply
  // that decided it.
  if (size >= 3 && std::memcmp(data, "221", 3) == 0) return 0;
  while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r')) --size;
  reply->length = std::min(size, reply->text.size());
  std::memcpy(reply->text.data(), data, reply->length);
  return 0;
}

struct SmtpServer {
  std::string url;          // smtp:// or smtps://, host and port
  std::string destination;  // smtp://host:port
  EmailConfig::Tls tls = EmailConfig::Tls::kStartTls;
  std::optional<Secret> username;
  std::optional<Secret> password;
  std::chrono::milliseconds timeout{30000};
};

DeliveryOutcome TransportOutcome(CURLcode code, long reply, const std::string& destination, const char* error_text) {
  const std::string detail = destination + ": " + (*error_text != '\0' ? error_text : curl_easy_strerror(code));
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return RetryableOutcome("timeout", detail + " (retryable)");
    case CURLE_COULDNT_RESOLVE_HOST: return RetryableOutcome("dns", detail + " (retryable)");
    case CURLE_COULDNT_CONNECT: return RetryableOutcome("connect", detail + " (retryable)");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return PermanentOutcome("invalid_request", detail + " (permanent)");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_USE_SSL_FAILED: return RetryableOutcome("tls", detail + " (retryable)");
    default:
      // Dropped before the greeting (nothing processed yet) versus in the middle of the session.
      return RetryableOutcome(reply == 0 ? "connect" : "network", detail + " (retryable)");
  }
}

DeliveryOutcome Send(const SmtpServer& server, const EmailMessage& message) {
  std::unique_ptr<CURL, EasyCleanup> easy(curl_easy_init());
  if (!easy) return RetryableOutcome("network", server.destination + ": cannot create a curl handle (retryable)");
  std::unique_ptr<curl_slist, SlistFree> recipients;
  for (const std::string& recipient : message.recipients) {
    curl_slist* appended = curl_slist_append(recipients.get(), ("<" + recipient + ">").c_str());
    if (appended == nullptr) return RetryableOutcome("network", server.destination + ": out of memory (retryable)");
    static_cast<void>(recipients.release());
    recipients.reset(appended);
  }
  const std::string mail_from = "<" + message.mail_from + ">";
  Upload upload{message.data, 0};
  LastReply last_reply;
  std::array<char, CURL_ERROR_SIZE> error_text{};
  const long timeout_ms = static_cast<long>(std::max<std::chrono::milliseconds::rep>(1, server.timeout.count()));

  CURL* handle = easy.get();
  CURLcode setup = CURLE_OK;
  auto set = [&setup](CURLcode rc) {
    if (setup == CURLE_OK) setup = rc;
  };
  set(curl_easy_setopt(handle, CURLOPT_URL, server.url.c_str()));
  set(curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps"));
  set(curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L));  // worker threads: no SIGALRM for timeouts
  set(curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms));
  set(curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms));
  set(curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_text.data()));
  set(curl_easy_setopt(handle, CURLOPT_MAIL_FROM, mail_from.c_str()));
  set(curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get()));
  set(curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L));
  set(curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.data.size())));
  set(curl_easy_setopt(handle, CURLOPT_READFUNCTION, ReadUpload));
  set(curl_easy_setopt(handle, CURLOPT_READDATA, &upload));
  set(curl_easy_setopt(handle, CURLOPT_DEBUGFUNCTION, RecordReply));
  set(curl_easy_setopt(handle, CURLOPT_DEBUGDATA, &last_reply));
  set(curl_easy_setopt(handle, CURLOPT_VERBOSE, 1L));  // feeds RecordReply; nothing is printed
  // STARTTLS is required, never opportunistic: a downgrade would expose the credentials.
  set(curl_easy_setopt(
      handle, CURLOPT_USE_SSL,
      static_cast<long>(server.tls == EmailConfig::Tls::kStartTls ? CURLUSESSL_ALL : CURLUSESSL_NONE)));
  if (server.username) set(curl_easy_setopt(handle, CURLOPT_USERNAME, server.username->Reveal().c_str()));
  if (server.password) set(curl_easy_setopt(handle, CURLOPT_PASSWORD, server.password->Reveal().c_str()));
  if (setup != CURLE_OK) {
    return PermanentOutcome("invalid_request",
                            server.destination + ": cannot set up the SMTP session: " + curl_easy_strerror(setup));
  }

  const CURLcode code = curl_easy_perform(handle);
  long reply = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply);
  std::string_view reply_text(last_reply.text.data(), last_reply.length);
  // "451 4.3.0 try again" -> "4.3.0 try again" (the code is in the outcome already).
  if (reply_text.size() >= 4 && reply_text.substr(0, 3) == std::to_string(reply)) {
    reply_text.remove_prefix(4);
  } else {
    reply_text = {};  // the last line is not the reply with that code
  }
  if (code == CURLE_OK) return ClassifySmtpReply(static_cast<int>(reply), reply_text);
  // A negative reply is the server's decision; any other failure is the transport's. A reply
  // code below 400 here is from an earlier, successful step of the session.
  if (reply >= 400 && reply <= 599) return ClassifySmtpReply(static_cast<int>(reply), reply_text);
  return TransportOutcome(code, reply, server.destination, error_text.data());
}

// What a posted attempt needs, shared so an attempt still queued may outlive the action.
struct EmailState {
  EmailAction spec;
  std::string from;
  SmtpServer server;
};

class EmailActionImpl final : public Action {
 public:
  EmailActionImpl(std::shared_ptr<const EmailState> state, TaskRunner& blocking, Clock& clock)
      : state_(std::move(state)), blocking_(blocking), clock_(clock) {}

  const std::string& destination() const override { return state_->server.destination; }

  void Execute(const ActionCall& call, ActionCallback done) override {
    const auto now = clock_.Now();
    blocking_.Post([state = state_, event = call.event, delivery_id = call.delivery_id, now,
                    done = std::move(done)]() mutable {
      auto message = BuildEmailMessage(state->spec, state->from, *event, delivery_id, now);
      if (!message) {
        // The error_type label: "no_recipients" when the message had nobody to go to, else the
        // template that could not be rendered.
        const std::string_view detail = message.error().DetailCode(kEmailErrorDomain);
        done(PermanentOutcome(detail.empty() ? "template" : std::string(detail),
                              message.error().message + " (permanent)"));
        return;
      }
      done(Send(state->server, *message));
    });
  }

 private:
  std::shared_ptr<const EmailState> state_;
  TaskRunner& blocking_;
  Clock& clock_;
};

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos && !host.starts_with("[") ? "[" + host + "]" : host;
}

}  // namespace

Result<EmailMessage> BuildEmailMessage(const EmailAction& spec, std::string_view from, const EntityEvent& event,
                                       std::string_view delivery_id, std::chrono::system_clock::time_point now) {
  EmailMessage message;
  auto sender = BareEmailAddress(from);
  if (!sender) return Error::InvalidArgument("the sender '" + std::string(from) + "' is not an email address");
  message.mail_from = std::move(*sender);

  std::vector<std::string> to = spec.to;
  if (spec.to_template) AppendRendered(spec.to_template->RenderText(event).text, to);
  const std::vector<std::string>& cc = spec.cc;
  std::optional<std::string> reply_to = spec.reply_to;
  std::string subject = spec.subject.value_or("");
  if (spec.subject_template) subject = spec.subject_template->RenderText(event).text;

  const std::vector<std::string>* const lists[] = {&to, &cc};
  // Header injection: a rendered value with a line break could add headers (Bcc:) or end the
  // header block early. Refused, not repaired: the template or the data is wrong.
  for (const std::vector<std::string>* list : lists) {
    for (const std::string& address : *list) {
      if (HasLineBreak(address)) return Error::InvalidArgument(std::string(kLineBreakInHeader) + " (To/Cc)");
    }
  }
  if (HasLineBreak(subject)) return Error::InvalidArgument(std::string(kLineBreakInHeader) + " (Subject)");
  if (reply_to && HasLineBreak(*reply_to)) {
    return Error::InvalidArgument(std::string(kLineBreakInHeader) + " (Reply-To)");
  }
  if (HasLineBreak(from)) return Error::InvalidArgument(std::string(kLineBreakInHeader) + " (From)");

  for (const std::vector<std::string>* list : lists) {
    for (const std::string& address : *list) {
      auto bare = BareEmailAddress(address);
      if (!bare) return Error::InvalidArgument("'" + TruncateUtf8(address, 80) + "' is not an email address");
      if (std::find(message.recipients.begin(), message.recipients.end(), *bare) == message.recipients.end()) {
        message.recipients.push_back(std::move(*bare));
      }
    }
  }
  if (message.recipients.empty()) {
    return Error::InvalidArgument("no recipients: 'to' and 'to_template' gave none")
        .WithDetail(std::string(kEmailErrorDomain), "no_recipients");
  }
  if (reply_to && !BareEmailAddress(*reply_to)) {
    return Error::InvalidArgument("reply_to '" + TruncateUtf8(*reply_to, 80) + "' is not an email address");
  }

  const std::string body = ToCrlf(spec.body_template.RenderText(event).text);
  const bool quoted_printable = NeedsQuotedPrintable(body);

  std::string& data = message.data;
  data.reserve(body.size() + 1024);
  data += "Date: " + MailDate(now) + "\r\n";
  data += "From: " + std::string(TrimAsciiSpace(from)) + "\r\n";
  if (!to.empty()) data += AddressHeader("To", to);
  if (!cc.empty()) data += AddressHeader("Cc", cc);
  if (reply_to) data += "Reply-To: " + *reply_to + "\r\n";
  data += SubjectHeader(subject);
  data += "Message-ID: " + MessageId(delivery_id) + "\r\n";
  data += "MIME-Version: 1.0\r\n";
  data += "Content-Type: " + spec.content_type + "; charset=utf-8\r\n";
  data += quoted_printable ? "Content-Transfer-Encoding: quoted-printable\r\n" : "Content-Transfer-Encoding: 7bit\r\n";
  // RFC 3834: machine-generated, so vacation responders do not answer it.
  data += "Auto-Submitted: auto-generated\r\n";
  data += "\r\n";
  data += quoted_printable ? QuotedPrintable(body) : body;
  return message;
}

Result<std::unique_ptr<Action>> MakeEmailAction(const ActionConfig& config, const EmailAction& spec,
                                                const ActionDependencies& deps) {
  if (deps.email == nullptr) {
    return Error::InvalidArgument("an email action needs the [email] section (SMTP host, port, from)");
  }
  if (deps.blocking == nullptr) return Error::InvalidArgument("an email action needs a blocking task runner");
  const EmailConfig& email = *deps.email;
  if (email.host.empty()) return Error::InvalidArgument("[email] host is empty");
  if (!BareEmailAddress(email.from) || HasLineBreak(email.from)) {
    return Error::InvalidArgument("[email] from '" + TruncateUtf8(email.from, 80) + "' is not an email address");
  }
  // curl_global_init is not thread-safe in every libcurl: run it once, before any transfer.
  static std::once_flag curl_init_once;
  static CURLcode curl_init_result = CURLE_OK;
  std::call_once(curl_init_once, [] { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (curl_init_result != CURLE_OK) {
    return Error::Internal(std::string("curl_global_init failed: ") + curl_easy_strerror(curl_init_result));
  }

  auto state = std::make_shared<EmailState>();
  state->spec = spec;
  state->from = email.from;
  const std::string host_port = HostForUrl(email.host) + ":" + std::to_string(email.port);
  state->server.url = (email.tls == EmailConfig::Tls::kImplicit ? "smtps://" : "smtp://") + host_port;
  state->server.destination = "smtp://" + host_port;
  state->server.tls = email.tls;
  state->server.username = email.username;
  state->server.password = email.password;
  state->server.timeout = std::min(config.timeout, email.timeout);
  if (state->server.timeout <= std::chrono::milliseconds::zero()) state->server.timeout = email.timeout;
  return std::unique_ptr<Action>(std::make_unique<EmailActionImpl>(std::move(state), *deps.blocking, deps.clock));
}

}  // namespace fraiseql
