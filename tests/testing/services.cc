#include "testing/services.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/text.h"
#include "testing/poll.h"

#ifndef FRAISEQL_SOURCE_DIR
#error "FRAISEQL_SOURCE_DIR must name the source tree (tests/testing/CMakeLists.txt defines it)"
#endif

namespace fraiseql::testing {
namespace {

constexpr const char* kStartHint = "start it with scripts/services start (scripts/test does this)";

std::string EnvFilePath() { return std::string(FRAISEQL_SOURCE_DIR) + "/.test-services/env"; }

// The variables of .test-services/env ("export NAME=value" lines), read on every call: a
// developer may restart the services between two runs of one test binary (--gtest_repeat).
std::map<std::string, std::string> ReadEnvFile() {
  std::map<std::string, std::string> variables;
  std::ifstream in(EnvFilePath());
  std::string line;
  while (std::getline(in, line)) {
    std::string_view rest = TrimAsciiSpace(line);
    if (rest.starts_with("export ")) rest.remove_prefix(7);
    const size_t equals = rest.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view value = rest.substr(equals + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    variables[std::string(TrimAsciiSpace(rest.substr(0, equals)))] = std::string(value);
  }
  return variables;
}

// The process environment wins over the file, so CI (or a developer) can point tests elsewhere.
std::optional<std::string> Lookup(const char* name) {
  if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return std::string(value);
  const auto variables = ReadEnvFile();
  if (auto it = variables.find(name); it != variables.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

[[noreturn]] void Missing(std::string_view service, std::string_view variable) {
  throw ServiceMissing(std::string(service) + " for tests is not running: " + kStartHint + " (" +
                       std::string(variable) + " is not set and " + EnvFilePath() + " does not name it)");
}

// The file's bytes; "" when it cannot be read (a message the sink is still writing).
std::string ReadFile(const std::filesystem::path& path) { return ReadWholeFile(path.string()).value_or(""); }

void ParseMessage(ReceivedMail& mail) {
  const std::string& raw = mail.raw;
  size_t header_end = raw.find("\r\n\r\n");
  size_t body_start = header_end == std::string::npos ? raw.size() : header_end + 4;
  if (header_end == std::string::npos) header_end = raw.size();
  mail.body = raw.substr(std::min(body_start, raw.size()));

  size_t position = 0;
  while (position < header_end) {
    size_t line_end = raw.find("\r\n", position);
    if (line_end == std::string::npos || line_end > header_end) line_end = header_end;
    const std::string_view line(raw.data() + position, line_end - position);
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && !mail.headers.empty()) {
      mail.headers.back().value += line;  // unfolding: the CRLF goes, the blank stays
    } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
      mail.headers.push_back({std::string(line.substr(0, colon)), std::string(TrimAsciiSpace(line.substr(colon + 1)))});
    }
    position = line_end + 2;
  }
}

std::optional<ReceivedMail> ReadMail(const std::filesystem::path& dir, const std::string& number) {
  const std::filesystem::path meta_path = dir / (number + ".json");
  const nlohmann::json meta = nlohmann::json::parse(ReadFile(meta_path), nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object()) return std::nullopt;
  ReceivedMail mail;
  mail.file = number + ".eml";
  mail.mail_from = meta.value("mail_from", "");
  for (const auto& recipient : meta.value("rcpt_tos", nlohmann::json::array())) {
    if (recipient.is_string()) mail.rcpt_tos.push_back(recipient.get<std::string>());
  }
  mail.raw = ReadFile(dir / mail.file);
  ParseMessage(mail);
  return mail;
}

bool Matches(const ReceivedMail& mail, std::string_view marker) {
  if (marker.empty() || mail.raw.find(marker) != std::string::npos) return true;
  return std::any_of(mail.rcpt_tos.begin(), mail.rcpt_tos.end(),
                     [&](const std::string& recipient) { return recipient.find(marker) != std::string::npos; });
}

// Mails the sink finished writing (it renames <n>.json into place last), in arrival order.
std::vector<ReceivedMail> ScanMails(const std::string& directory, std::string_view marker) {
  std::vector<std::pair<unsigned long, std::string>> numbers;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".json") || name.starts_with(".")) continue;
    const std::string number = name.substr(0, name.size() - 5);
    unsigned long value = 0;
    const auto [end, parse_error] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (parse_error == std::errc() && end == number.data() + number.size()) numbers.emplace_back(value, number);
  }
  std::sort(numbers.begin(), numbers.end());
  std::vector<ReceivedMail> mails;
  for (const auto& [value, number] : numbers) {
    if (auto mail = ReadMail(directory, number); mail && Matches(*mail, marker)) mails.push_back(std::move(*mail));
  }
  return mails;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string DecodeQuotedPrintable(std::string_view text, bool underscore_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_' && underscore_is_space) {
      out += ' ';
    } else if (c == '=' && i + 2 < text.size() && text.substr(i + 1, 2) == "\r\n") {
      i += 2;  // soft line break
    } else if (c == '=' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string DecodeBase64(std::string_view text) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const size_t index = kAlphabet.find(c);
    if (index == std::string_view::npos) continue;  // '=', line breaks
    buffer = (buffer << 6) | static_cast<uint32_t>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFFu);
    }
  }
  return out;
}

// RFC 2047: =?charset?B|Q?text?= words, with the blanks between two adjacent words dropped.
std::string DecodeEncodedWords(std::string_view value) {
  std::string out;
  bool previous_was_word = false;
  size_t position = 0;
  while (position < value.size()) {
    const size_t start = value.find("=?", position);
    if (start == std::string_view::npos) {
      out += value.substr(position);
      break;
    }
    const size_t charset_end = value.find('?', start + 2);
    if (charset_end == std::string_view::npos || charset_end + 2 >= value.size() || value[charset_end + 2] != '?') {
      out += value.substr(position, start + 2 - position);  // not an encoded-word
      position = start + 2;
      previous_was_word = false;
      continue;
    }
    const size_t text_start = charset_end + 3;
    const size_t end = value.find("?=", text_start);
    if (end == std::string_view::npos) {
      out += value.substr(position);
      break;
    }
    const std::string_view between = value.substr(position, start - position);
    const bool only_blanks = between.find_first_not_of(" \t") == std::string_view::npos;
    if (!(previous_was_word && only_blanks)) out += between;
    const char encoding = value[charset_end + 1];
    const std::string_view text = value.substr(text_start, end - text_start);
    out += (encoding == 'B' || encoding == 'b') ? DecodeBase64(text) : DecodeQuotedPrintable(text, true);
    previous_was_word = true;
    position = end + 2;
  }
  return out;
}

}  // namespace

std::string PostgresUrl() {
  auto url = Lookup("FRAISEQL_TEST_PG_URL");
  if (!url) Missing("PostgreSQL", "FRAISEQL_TEST_PG_URL");
  return *url;
}

SmtpSink SmtpSinkService() {
  auto host = Lookup("FRAISEQL_TEST_SMTP_HOST");
  auto port = Lookup("FRAISEQL_TEST_SMTP_PORT");
  auto dir = Lookup("FRAISEQL_TEST_SMTP_DIR");
  if (!host) Missing("The SMTP sink", "FRAISEQL_TEST_SMTP_HOST");
  if (!port) Missing("The SMTP sink", "FRAISEQL_TEST_SMTP_PORT");
  if (!dir) Missing("The SMTP sink", "FRAISEQL_TEST_SMTP_DIR");
  uint16_t number = 0;
  const auto [end, error] = std::from_chars(port->data(), port->data() + port->size(), number);
  if (error != std::errc() || end != port->data() + port->size() || number == 0) {
    throw ServiceMissing("FRAISEQL_TEST_SMTP_PORT is not a port: '" + *port + "'");
  }
  if (!std::filesystem::is_directory(*dir)) {
    throw ServiceMissing("the SMTP sink's directory " + *dir + " does not exist: " + kStartHint);
  }
  return SmtpSink{*host, number, *dir};
}

std::optional<std::string> ReceivedMail::Header(std::string_view name) const {
  for (const MailHeader& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return std::nullopt;
}

std::vector<std::string> ReceivedMail::Headers(std::string_view name) const {
  std::vector<std::string> values;
  for (const MailHeader& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) values.push_back(header.value);
  }
  return values;
}

std::optional<std::string> ReceivedMail::DecodedHeader(std::string_view name) const {
  auto value = Header(name);
  if (!value) return std::nullopt;
  return DecodeEncodedWords(*value);
}

std::string ReceivedMail::DecodedBody() const {
  const std::string encoding = ToLowerAscii(Header("Content-Transfer-Encoding").value_or("7bit"));
  if (encoding == "quoted-printable") return DecodeQuotedPrintable(body, false);
  if (encoding == "base64") return DecodeBase64(body);
  return body;
}

std::vector<ReceivedMail> WaitForMails(const SmtpSink& sink, std::string_view marker, size_t count,
                                       std::chrono::milliseconds timeout) {
  // A poll with a deadline: the sink gives no other signal that a message arrived.
  std::vector<ReceivedMail> mails;
  PollUntil(
      [&] {
        mails = ScanMails(sink.dir, marker);
        return mails.size() >= count;
      },
      timeout);
  return mails;
}

std::vector<ReceivedMail> WaitForMails(const SmtpSink& sink, size_t count, std::chrono::milliseconds timeout) {
  return WaitForMails(sink, std::string_view(), count, timeout);
}

std::string UniqueMarker(std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::ostringstream out;
  out << prefix << getpid() << 'x' << counter.fetch_add(1) << 'x' << nanos;
  return out.str();
}

uint16_t UnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw ServiceMissing("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  // sockaddr_in is a sockaddr by the socket API's contract.
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (bind(fd, generic, sizeof(address)) != 0 || getsockname(fd, generic, &length) != 0) {
    close(fd);
    throw ServiceMissing("cannot bind a loopback port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace fraiseql::testing
