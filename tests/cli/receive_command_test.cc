// `receive` in-process: RunReceive on a thread, real requests over 127.0.0.1 signed with
// SignWebhook, output read from a stream the test can watch while the command writes to it.
#include "cli/receive_command.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <optional>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/signals.h"
#include "cli/cli.h"
#include "common/mutex.h"
#include "http/signing.h"
#include "testing/hostile_http.h"
#include "testing/poll.h"

namespace fraiseql::cli {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Scheme = SigningScheme;

constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kOtherSecret = "rotated-secret-2bd1";
// 2026-01-01T00:00:00Z: the receiver's (fake) now, and the time requests are signed at.
constexpr int64_t kNow = 1767225600;

// A streambuf the command writes to from its threads while the test reads and waits on it.
class WatchedBuffer : public std::streambuf {
 public:
  std::string text() const {
    MutexLock lock(&mu_);
    return text_;
  }

  // Waits for the "listening on http://127.0.0.1:PORT" line and returns PORT; nullopt at the
  // deadline. (No std::regex: g++ 12 reports false maybe-uninitialized warnings inside it.)
  std::optional<std::string> WaitForListeningPort(std::chrono::milliseconds timeout = 10s) {
    static constexpr std::string_view kPrefix = "listening on http://127.0.0.1:";
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    MutexLock lock(&mu_);
    while (true) {
      const size_t end = text_.find('\n');
      if (end != std::string::npos) {
        if (!text_.starts_with(kPrefix)) return std::nullopt;
        const std::string port = text_.substr(kPrefix.size(), end - kPrefix.size());
        if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
        return port;
      }
      if (!mu_.WaitUntil(changed_, deadline) && std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    }
  }

  // Waits until the text has at least `count` lines.
  bool WaitForLines(size_t count, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    MutexLock lock(&mu_);
    while (static_cast<size_t>(std::count(text_.begin(), text_.end(), '\n')) < count) {
      if (!mu_.WaitUntil(changed_, deadline) && std::chrono::steady_clock::now() >= deadline) return false;
    }
    return true;
  }

 protected:
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof()) {
      const char c = traits_type::to_char_type(ch);
      xsputn(&c, 1);
    }
    return traits_type::not_eof(ch);
  }
  std::streamsize xsputn(const char* data, std::streamsize size) override {
    MutexLock lock(&mu_);
    text_.append(data, static_cast<size_t>(size));
    changed_.notify_all();
    return size;
  }

 private:
  mutable Mutex mu_;
  std::condition_variable changed_;
  std::string text_ GUARDED_BY(mu_);
};

struct Reply {
  long status = 0;
  std::string body;
};

size_t Append(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

Reply Post(const std::string& url, const std::string& body, const std::vector<HttpHeaderLine>& headers = {}) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list(nullptr, curl_slist_free_all);
  for (const HttpHeaderLine& header : headers) {
    list.reset(curl_slist_append(list.release(), (header.name + ": " + header.value).c_str()));
  }
  list.reset(curl_slist_append(list.release(), "Content-Type: application/json"));
  Reply reply;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
  const CURLcode code = curl_easy_perform(curl.get());
  EXPECT_EQ(code, CURLE_OK) << url << ": " << curl_easy_strerror(code);
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

std::vector<HttpHeaderLine> Sign(std::string_view id, int64_t at, std::string_view body,
                                 std::vector<Secret> secrets, Scheme scheme = Scheme::kBoth) {
  Result<std::vector<HttpHeaderLine>> headers = SignWebhook(id, at, body, secrets, scheme);
  EXPECT_TRUE(headers.has_value()) << (headers ? "" : headers.error().message);
  return headers ? *headers : std::vector<HttpHeaderLine>{};
}

// RunReceive on its own thread, on a fake clock at kNow, stopped and joined on destruction.
class Receiver {
 public:
  explicit Receiver(ReceiveOptions options, ReceiveEnvironment environment = {})
      : options_(std::move(options)), clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kNow))) {
    environment.clock = &clock_;
    thread_ = std::thread([this, environment] { exit_code_ = RunReceive(options_, out_, err_, stop_.get_token(), environment); });
    if (std::optional<std::string> port = out_buffer_.WaitForListeningPort()) port_ = std::stoi(*port);
  }
  ~Receiver() { Finish(); }

  int Finish() {
    stop_.request_stop();
    if (thread_.joinable()) thread_.join();
    return exit_code_;
  }
  // For --count: the command ends by itself.
  int Join() {
    if (thread_.joinable()) thread_.join();
    return exit_code_;
  }

  bool listening() const { return port_ != 0; }
  uint16_t port() const { return static_cast<uint16_t>(port_); }
  std::string url(std::string_view path = "/hooks") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  WatchedBuffer& out() { return out_buffer_; }
  // The delivery lines: everything after the listening line.
  std::vector<std::string> lines() const {
    std::vector<std::string> lines;
    std::string text = out_buffer_.text();
    size_t start = text.find('\n');
    while (start != std::string::npos && start + 1 < text.size()) {
      const size_t end = text.find('\n', start + 1);
      lines.push_back(text.substr(start + 1, end - start - 1));
      start = end;
    }
    return lines;
  }
  std::string err() const { return err_buffer_.text(); }

 private:
  ReceiveOptions options_;
  FakeClock clock_;
  WatchedBuffer out_buffer_;
  WatchedBuffer err_buffer_;
  std::ostream out_{&out_buffer_};
  std::ostream err_{&err_buffer_};
  std::stop_source stop_;
  std::thread thread_;
  int exit_code_ = -1;
  int port_ = 0;
};

ReceiveOptions WithSecrets(std::vector<std::string> secrets) {
  ReceiveOptions options;
  options.secrets = std::move(secrets);
  return options;
}

// ---- Verification ----

// A sender's URL may carry a credential in its query: the printed line redacts its value.
TEST(ReceiveTest, CredentialsInTheRequestTargetAreRedacted) {
  for (const OutputFormat format : {OutputFormat::kText, OutputFormat::kJson}) {
    ReceiveOptions options;
    options.format = format;
    Receiver receiver(options);
    ASSERT_TRUE(receiver.listening()) << receiver.err();
    EXPECT_EQ(Post(receiver.url("/hooks?token=abc123&page=2"), "{}").status, 200);
    ASSERT_TRUE(receiver.out().WaitForLines(2));
    ASSERT_EQ(receiver.lines().size(), 1u);
    EXPECT_THAT(receiver.lines()[0], HasSubstr("/hooks?token=<redacted>&page=2"));
    EXPECT_THAT(receiver.lines()[0], Not(HasSubstr("abc123")));
  }
}

TEST(ReceiveTest, BothSchemesVerifyAndTheLineSaysSo) {
  Receiver receiver(WithSecrets({std::string(kSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = R"({"event": "order.shipped",  "id": 7})";
  const Reply reply = Post(receiver.url("/hooks?x=1"), body, Sign("msg_1", kNow, body, {Secret(std::string(kSecret))}));
  EXPECT_EQ(reply.status, 200);
  ASSERT_TRUE(receiver.out().WaitForLines(2));
  ASSERT_EQ(receiver.lines().size(), 1u);
  EXPECT_EQ(receiver.lines()[0],
            "2026-01-01T00:00:00.000000Z POST /hooks?x=1 webhook-id=msg_1 standard: ok fraiseql: ok status=200 "
            R"(body={"event":"order.shipped","id":7})");
  EXPECT_EQ(receiver.Finish(), kExitOk);
  EXPECT_THAT(receiver.err(), HasSubstr("verifying with 1 secret, tolerance 300 s"));
}

TEST(ReceiveTest, WrongSecretIs401AndBad) {
  Receiver receiver(WithSecrets({std::string(kSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = R"({"a":1})";
  const Reply reply = Post(receiver.url(), body, Sign("msg_2", kNow, body, {Secret(std::string(kOtherSecret))}));
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(reply.body, HasSubstr("standard: bad, fraiseql: bad"));
  ASSERT_TRUE(receiver.out().WaitForLines(2));
  EXPECT_THAT(receiver.lines()[0], HasSubstr("standard: bad (no signature matches the secret(s)) "
                                             "fraiseql: bad (no signature matches the secret(s)) status=401"));
}

TEST(ReceiveTest, TamperedBodyIs401) {
  Receiver receiver(WithSecrets({std::string(kSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const Reply reply = Post(receiver.url(), R"({"a":2})", Sign("msg_3", kNow, R"({"a":1})", {Secret(std::string(kSecret))}));
  EXPECT_EQ(reply.status, 401);
}

TEST(ReceiveTest, StaleTimestampBeyondToleranceIs401) {
  Receiver receiver(WithSecrets({std::string(kSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = R"({"a":1})";
  const Reply reply = Post(receiver.url(), body, Sign("msg_4", kNow - 301, body, {Secret(std::string(kSecret))}));
  EXPECT_EQ(reply.status, 401);
  ASSERT_TRUE(receiver.out().WaitForLines(2));
  EXPECT_THAT(receiver.lines()[0], HasSubstr("standard: bad (timestamp 301 s old, beyond the 300 s tolerance)"));
  EXPECT_THAT(receiver.lines()[0], HasSubstr("fraiseql: bad (its t= timestamp is beyond the 300 s tolerance)"));
}

TEST(ReceiveTest, TimestampWithinToleranceEitherSideIsOk) {
  Receiver receiver(WithSecrets({std::string(kSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = "{}";
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_5", kNow - 300, body, {Secret(std::string(kSecret))})).status, 200);
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_6", kNow + 300, body, {Secret(std::string(kSecret))})).status, 200);
  const Reply future = Post(receiver.url(), body, Sign("msg_7", kNow + 400, body, {Secret(std::string(kSecret))}));
  EXPECT_EQ(future.status, 401);
  ASSERT_TRUE(receiver.out().WaitForLines(4));
  EXPECT_THAT(receiver.lines()[2], HasSubstr("timestamp 400 s in the future"));
}

TEST(ReceiveTest, ToleranceZeroAcceptsAnyAge) {
  ReceiveOptions options = WithSecrets({std::string(kSecret)});
  options.tolerance = std::chrono::seconds(0);
  Receiver receiver(options);
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  EXPECT_EQ(Post(receiver.url(), "{}", Sign("msg_8", kNow - 86400, "{}", {Secret(std::string(kSecret))})).status, 200);
}

TEST(ReceiveTest, AnyOfTheRotatedSecretsVerifies) {
  Receiver receiver(WithSecrets({std::string(kSecret), std::string(kOtherSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = R"({"a":1})";
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_9", kNow, body, {Secret(std::string(kOtherSecret))})).status, 200);
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_10", kNow, body, {Secret(std::string(kSecret))})).status, 200);
}

TEST(ReceiveTest, OneSchemeIsEnoughTheOtherIsAbsent) {
  Receiver receiver(WithSecrets({std::string(kSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = R"({"a":1})";
  EXPECT_EQ(
      Post(receiver.url(), body, Sign("msg_11", kNow, body, {Secret(std::string(kSecret))}, Scheme::kStandard)).status,
      200);
  EXPECT_EQ(
      Post(receiver.url(), body, Sign("msg_12", kNow, body, {Secret(std::string(kSecret))}, Scheme::kFraiseql)).status,
      200);
  ASSERT_TRUE(receiver.out().WaitForLines(3));
  EXPECT_THAT(receiver.lines()[0], HasSubstr("standard: ok fraiseql: absent"));
  EXPECT_THAT(receiver.lines()[1], HasSubstr("standard: absent fraiseql: ok"));
}

TEST(ReceiveTest, UnsignedRequestWithASecretIs401) {
  Receiver receiver(WithSecrets({std::string(kSecret)}));
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  EXPECT_EQ(Post(receiver.url(), "{}").status, 401);
  ASSERT_TRUE(receiver.out().WaitForLines(2));
  EXPECT_THAT(receiver.lines()[0], HasSubstr("webhook-id=- standard: absent fraiseql: absent status=401"));
}

TEST(ReceiveTest, WithoutASecretEverythingIsAnsweredWithTheStatus) {
  ReceiveOptions options;
  options.status = 202;
  Receiver receiver(options);
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  EXPECT_EQ(Post(receiver.url(), "{}").status, 202);
  const std::string body = "{}";
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_13", kNow, body, {Secret(std::string(kSecret))})).status, 202);
  ASSERT_TRUE(receiver.out().WaitForLines(3));
  EXPECT_THAT(receiver.lines()[0], HasSubstr("standard: absent fraiseql: absent status=202"));
  EXPECT_THAT(receiver.lines()[1], HasSubstr("standard: unchecked fraiseql: unchecked status=202"));
  EXPECT_THAT(receiver.err(), HasSubstr("no --secret given"));
}

TEST(ReceiveTest, SecretFromTheEnvironment) {
  ReceiveOptions options;
  options.secret_envs = {"WEBHOOK_SECRET"};
  ReceiveEnvironment environment;
  environment.getenv = [](std::string_view name) -> std::optional<std::string> {
    if (name == "WEBHOOK_SECRET") return std::string(kSecret);
    return std::nullopt;
  };
  Receiver receiver(options, environment);
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = "{}";
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_14", kNow, body, {Secret(std::string(kSecret))})).status, 200);
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_15", kNow, body, {Secret(std::string(kOtherSecret))})).status, 401);
}

// ---- Output ----

TEST(ReceiveTest, JsonFormatIsOneObjectPerDelivery) {
  ReceiveOptions options = WithSecrets({std::string(kSecret)});
  options.format = OutputFormat::kJson;
  Receiver receiver(options);
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = R"({"data": {"id": 7}})";
  EXPECT_EQ(Post(receiver.url(), body, Sign("msg_16", kNow, body, {Secret(std::string(kSecret))}, Scheme::kStandard)).status,
            200);
  EXPECT_EQ(Post(receiver.url(), "not json", {}).status, 401);
  ASSERT_TRUE(receiver.out().WaitForLines(3));
  const nlohmann::json first = nlohmann::json::parse(receiver.lines()[0]);
  EXPECT_EQ(first["time"], "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(first["method"], "POST");
  EXPECT_EQ(first["path"], "/hooks");
  EXPECT_EQ(first["webhook_id"], "msg_16");
  EXPECT_EQ(first["standard"], "ok");
  EXPECT_EQ(first["standard_reason"], nullptr);
  EXPECT_EQ(first["fraiseql"], "absent");
  EXPECT_EQ(first["status"], 200);
  EXPECT_EQ(first["body"]["data"]["id"], 7);
  const nlohmann::json second = nlohmann::json::parse(receiver.lines()[1]);
  EXPECT_EQ(second["webhook_id"], nullptr);
  EXPECT_EQ(second["body"], "not json");
  EXPECT_EQ(second["status"], 401);
}

TEST(ReceiveTest, TextModeTruncatesLongBodiesAndEscapesControls) {
  Receiver receiver(ReceiveOptions{});
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string long_body = "{\"text\":\"" + std::string(1000, 'x') + "\"}";
  EXPECT_EQ(Post(receiver.url(), long_body).status, 200);
  EXPECT_EQ(Post(receiver.url(), "line one\nline two\x01").status, 200);
  ASSERT_TRUE(receiver.out().WaitForLines(3));
  const std::vector<std::string> lines = receiver.lines();
  ASSERT_EQ(lines.size(), 2u);
  const std::string shown = lines[0].substr(lines[0].find("body=") + 5);
  EXPECT_EQ(shown, "{\"text\":\"" + std::string(200 - 9, 'x') + "...");
  EXPECT_THAT(lines[1], HasSubstr("body=line one\\nline two\\x01"));
}

TEST(ReceiveTest, SecretsAreNeverPrinted) {
  ReceiveOptions options = WithSecrets({std::string(kSecret), std::string(kOtherSecret)});
  options.format = OutputFormat::kJson;
  Receiver receiver(options);
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  const std::string body = "{}";
  Post(receiver.url(), body, Sign("msg_17", kNow, body, {Secret(std::string(kSecret))}));
  Post(receiver.url(), body, Sign("msg_18", kNow, body, {Secret("unknown")}));
  ASSERT_TRUE(receiver.out().WaitForLines(3));
  receiver.Finish();
  for (const std::string& text : {receiver.out().text(), receiver.err()}) {
    EXPECT_THAT(text, Not(HasSubstr("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")));
    EXPECT_THAT(text, Not(HasSubstr(kOtherSecret)));
  }
}

// ---- Lifecycle ----

TEST(ReceiveTest, CountEndsTheCommandAfterThatManyRequests) {
  ReceiveOptions options;
  options.count = 2;
  Receiver receiver(options);
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  EXPECT_EQ(Post(receiver.url("/one"), "{}").status, 200);
  EXPECT_EQ(Post(receiver.url("/two"), "{}").status, 200);
  EXPECT_EQ(receiver.Join(), kExitOk);
  const std::vector<std::string> lines = receiver.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("POST /one"));
  EXPECT_THAT(lines[1], HasSubstr("POST /two"));
}

// The last request is what ends the command: its answer must still be written before the server
// closes (it once raced the shutdown, and the sender got nothing: "Server returned nothing").
TEST(ReceiveTest, CountAnswersTheLastRequestBeforeTheCommandEnds) {
  for (int round = 0; round < 20; ++round) {
    ReceiveOptions options;
    options.count = 1;
    Receiver receiver(options);
    ASSERT_TRUE(receiver.listening()) << receiver.err();
    const Reply reply = Post(receiver.url("/last"), "{}");
    ASSERT_EQ(reply.status, 200) << "round " << round;
    EXPECT_EQ(reply.body, "ok\n");
    EXPECT_EQ(receiver.Join(), kExitOk);
  }
}

// ---- Hostile clients (docs/receive.md, "Limits"; the whole set: http_server_abuse_test.cc) ----

TEST(ReceiveTest, HostileClientsAreRefusedWhileSignedDeliveriesKeepArriving) {
  ReceiveOptions options = WithSecrets({std::string(kSecret)});
  options.limits.request_deadline = 500ms;  // so that the slow clients meet it again and again
  Receiver receiver(options);
  ASSERT_TRUE(receiver.listening()) << receiver.err();
  std::atomic<int> sent{0};
  testing::Repeat deliveries(100ms, [&]() -> std::string {
    const std::string body = R"({"n":)" + std::to_string(++sent) + "}";
    const Reply reply = Post(receiver.url(), body, Sign("msg_abuse", kNow, body, {Secret(std::string(kSecret))}));
    return reply.status == 200 ? "" : "delivery answered " + std::to_string(reply.status);
  });
  testing::Attack slow_heads(4, [&](std::stop_token stop, size_t client) {
    testing::RawConnection connection(receiver.port(), "127.0.0." + std::to_string(2 + client));
    return connection.TrickleUntilClosed("POST /hooks HTTP/1.1\r\nHost: a\r\nX-Slow: " + std::string(10000, 's'), 20ms,
                                         stop, 10s);
  });
  // 64 MiB offered in chunks to a receiver whose limit is 10 MiB.
  testing::RawConnection flood(receiver.port(), "127.0.0.9");
  const size_t flooded = testing::SendChunkedUntilAnswered(flood, "/flood", 64 << 10, 64 << 20);
  EXPECT_EQ(flood.status(), 413) << flood.received().substr(0, 200);
  EXPECT_LT(flooded, size_t{64} << 20);
  EXPECT_TRUE(testing::PollUntil([&] { return slow_heads.rounds_closed_by_server() >= 8; }));
  const size_t until = deliveries.attempts() + 5;
  EXPECT_TRUE(testing::PollUntil([&] { return deliveries.attempts() >= until; }));
  slow_heads.Stop();
  EXPECT_EQ(slow_heads.rounds_outlasted(), 0u);
  EXPECT_THAT(deliveries.Stop(), ::testing::IsEmpty());
  // The refused requests never reached the handler: every line is a delivery.
  for (const std::string& line : receiver.lines()) EXPECT_THAT(line, HasSubstr("POST /hooks")) << line;
  EXPECT_GE(receiver.lines().size(), 5u);
}

TEST(ReceiveTest, ServerLimitsDefaults) {
  const HttpServerLimits limits = ReceiveOptions().limits;
  EXPECT_EQ(limits.max_body_bytes, 10u << 20);
  EXPECT_EQ(limits.request_deadline, 30s);
  EXPECT_EQ(limits.max_connections_per_address, 64u);
  EXPECT_EQ(limits.max_connections, HttpServerLimits().max_connections);
}

TEST(ReceiveTest, PortInUseIsExit1NamingTheAddress) {
  Receiver first(ReceiveOptions{});
  ASSERT_TRUE(first.listening());
  const std::string port = first.url("").substr(std::string("http://127.0.0.1:").size());
  ReceiveOptions options;
  options.port = static_cast<uint16_t>(std::stoi(port));
  std::ostringstream out, err;
  EXPECT_EQ(RunReceive(options, out, err, {}), kExitInvalidInput);
  EXPECT_THAT(err.str(), HasSubstr("127.0.0.1:" + port + " is in use"));
  EXPECT_EQ(out.str(), "");
}

TEST(ReceiveTest, BadSecretsAreUsageErrorsThatDoNotShowThem) {
  std::ostringstream out, err;
  ReceiveOptions options = WithSecrets({"fine", "whsec_!!not-base64!!"});
  EXPECT_EQ(RunReceive(options, out, err, {}), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("--secret #2"));
  EXPECT_THAT(err.str(), Not(HasSubstr("not-base64")));

  std::ostringstream out2, err2;
  ReceiveOptions from_env;
  from_env.secret_envs = {"FRAISEQL_RECEIVE_TEST_UNSET_VARIABLE"};
  EXPECT_EQ(RunReceive(from_env, out2, err2, {}), kExitUsage);
  EXPECT_THAT(err2.str(), HasSubstr("$FRAISEQL_RECEIVE_TEST_UNSET_VARIABLE is not set"));

  std::ostringstream out3, err3;
  EXPECT_EQ(RunReceive(WithSecrets({""}), out3, err3, {}), kExitUsage);
  EXPECT_THAT(err3.str(), HasSubstr("--secret #1 is empty"));
}

// ---- Command line ----

struct Parsed {
  bool ok = false;
  ReceiveOptions options;
  std::string error;
};

Parsed Parse(std::vector<std::string> args) {
  CLI::App app{"test"};
  Parsed parsed;
  AddReceiveCommand(app, parsed.options);
  std::vector<const char*> argv = {"fraiseql-observer", "receive"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    parsed.ok = true;
  } catch (const CLI::ParseError& error) {
    parsed.error = error.what();
  }
  return parsed;
}

TEST(ReceiveCommandLineTest, Defaults) {
  const Parsed parsed = Parse({"--port", "8080"});
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.options.port, 8080);
  EXPECT_EQ(parsed.options.host, "127.0.0.1");
  EXPECT_TRUE(parsed.options.secrets.empty());
  EXPECT_EQ(parsed.options.tolerance, std::chrono::seconds(300));
  EXPECT_EQ(parsed.options.status, 200);
  EXPECT_EQ(parsed.options.format, OutputFormat::kText);
  EXPECT_EQ(parsed.options.count, 0u);
}

TEST(ReceiveCommandLineTest, EveryFlag) {
  const Parsed parsed = Parse({"--port", "0", "--host", "localhost", "--secret", "a", "--secret", "b", "--secret-env",
                               "S1", "--tolerance", "60", "--status", "204", "--format", "JSON", "--count", "3"});
  ASSERT_TRUE(parsed.ok) << parsed.error;
  EXPECT_EQ(parsed.options.host, "localhost");
  EXPECT_EQ(parsed.options.secrets, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parsed.options.secret_envs, (std::vector<std::string>{"S1"}));
  EXPECT_EQ(parsed.options.tolerance, std::chrono::seconds(60));
  EXPECT_EQ(parsed.options.status, 204);
  EXPECT_EQ(parsed.options.format, OutputFormat::kJson);
  EXPECT_EQ(parsed.options.count, 3u);
}

TEST(ReceiveCommandLineTest, Rejects) {
  EXPECT_FALSE(Parse({}).ok);  // --port is required
  EXPECT_FALSE(Parse({"--port", "70000"}).ok);
  EXPECT_FALSE(Parse({"--port", "1", "--status", "99"}).ok);
  EXPECT_FALSE(Parse({"--port", "1", "--tolerance", "-1"}).ok);
  EXPECT_FALSE(Parse({"--port", "1", "--format", "xml"}).ok);
  EXPECT_FALSE(Parse({"--port", "1", "--secret", "a", "b"}).ok);  // one value per --secret
}

// ---- Signals: the command as the CLI runs it ----

TEST(ReceiveCommandTest, SigtermSigquitAndSighupEndItWithExit0) {
  for (int signal : {SIGTERM, SIGQUIT, SIGHUP}) {
    // The main thread runs the command, as `fraiseql-observer receive` does. The sender blocks
    // the shutdown signals itself first, so the process-directed signal can only reach the
    // command.
    WatchedBuffer out_buffer, err_buffer;
    std::ostream out(&out_buffer), err(&err_buffer);
    std::thread sender([&out_buffer, signal] {
      sigset_t set;
      sigemptyset(&set);
      for (int blocked : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&set, blocked);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
      const std::optional<std::string> port = out_buffer.WaitForListeningPort();
      EXPECT_TRUE(port.has_value());
      if (port) {
        EXPECT_EQ(Post("http://127.0.0.1:" + *port + "/x", "{}").status, 200);
      }
      EXPECT_TRUE(out_buffer.WaitForLines(2));
      kill(getpid(), signal);
    });
    ReceiveOptions options;
    EXPECT_EQ(RunReceiveCommand(options, out, err), kExitOk) << SignalName(signal);
    sender.join();
    EXPECT_THAT(err_buffer.text(), HasSubstr("stopped by " + SignalName(signal)));
    EXPECT_THAT(out_buffer.text(), HasSubstr("POST /x"));
  }
}

}  // namespace
}  // namespace fraiseql::cli
