// Tests for the curl-multi engine against real servers on 127.0.0.1: the scripted HttpReceiver
// (tests/testing/http_receiver.h), a bound port nobody listens on, and a listener that answers a
// TLS handshake with plain text. Nothing here sleeps: waits are futures or polls with deadlines.
#include "http/curl_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "common/mutex.h"
#include "testing/http_receiver.h"

namespace fraiseql {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::HttpReceiver;
using testing::ReceivedRequest;
using testing::ScriptedReply;

// Generous: only reached when something is broken, and then the test fails rather than hangs.
constexpr milliseconds kWait{15000};

std::unique_ptr<CurlEngine> MakeEngine(std::vector<std::string> allow = {"127.0.0.0/8"},
                                       CurlEngineOptions options = {}) {
  Result<SsrfGuard> guard = SsrfGuard::Create(allow);
  EXPECT_TRUE(guard.has_value());
  if (guard) options.guard = *guard;
  Result<std::unique_ptr<CurlEngine>> engine = CurlEngine::Create(std::move(options), RealClock());
  EXPECT_TRUE(engine.has_value()) << (engine ? "" : engine.error().message);
  return engine ? std::move(*engine) : nullptr;
}

HttpRequest Get(std::string url) {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  return request;
}

// Sends one request and waits for its result.
HttpResult SendAndWait(HttpClient& client, HttpRequest request) {
  auto promise = std::make_shared<std::promise<HttpResult>>();
  std::future<HttpResult> future = promise->get_future();
  client.Send(std::move(request), [promise](HttpResult result) { promise->set_value(std::move(result)); });
  if (future.wait_for(kWait) != std::future_status::ready) {
    ADD_FAILURE() << "no result within " << kWait.count() << " ms";
    HttpResult missing;
    missing.failure = TransportFailure::kNetwork;
    missing.error = "test: no result";
    return missing;
  }
  return future.get();
}

std::string Describe(const HttpResult& result) {
  return std::string(TransportFailureName(result.failure)) + ": " + result.error +
         " (status " + std::to_string(result.response.status) + ")";
}

// Collects the results of many requests. Must outlive the engine that calls it.
class Collector {
 public:
  HttpClient::Callback Callback() {
    return [this](HttpResult result) {
      MutexLock lock(&mu_);
      results_.push_back(std::move(result));
      cv_.notify_all();
    };
  }

  bool WaitFor(size_t count, milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    MutexLock lock(&mu_);
    while (results_.size() < count) {
      if (!mu_.WaitUntil(cv_, deadline) && results_.size() < count) return false;
    }
    return true;
  }

  std::vector<HttpResult> results() {
    MutexLock lock(&mu_);
    return results_;
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpResult> results_ GUARDED_BY(mu_);
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Binds 127.0.0.1:<ephemeral> and returns the port. The socket is not listening, so a connect to
// it is refused, and holding it keeps anybody else from taking the port meanwhile.
uint16_t BindUnlistened(const Fd& fd) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  return ntohs(address.sin_port);
}

// Accepts connections and answers each with plain text, whatever arrives: a TLS client's
// handshake fails on it.
class PlainTextListener {
 public:
  PlainTextListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    port_ = BindUnlistened(fd_);
    EXPECT_EQ(::listen(fd_.get(), 16), 0);
    thread_ = std::thread([this] {
      for (;;) {
        const int connection = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (connection < 0) return;  // shut down by the destructor
        const Fd owned(connection);
        constexpr std::string_view kText = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        (void)::send(owned.get(), kText.data(), kText.size(), MSG_NOSIGNAL);
      }
    });
  }
  ~PlainTextListener() {
    ::shutdown(fd_.get(), SHUT_RDWR);  // wakes accept()
    thread_.join();
  }
  PlainTextListener(const PlainTextListener&) = delete;
  PlainTextListener& operator=(const PlainTextListener&) = delete;

  uint16_t port() const { return port_; }

 private:
  Fd fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

// ---- responses ----

TEST(CurlEngine, CapturesStatusHeadersAndBody) {
  HttpReceiver receiver;
  ScriptedReply reply = ScriptedReply::Status(201);
  reply.headers = {{"X-Test", "yes"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}};
  reply.body = "hello, world";
  receiver.Script({reply});
  auto engine = MakeEngine();

  const HttpResult result = SendAndWait(*engine, Get(receiver.url("/status")));

  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.response.status, 201);
  EXPECT_EQ(result.response.body, "hello, world");
  EXPECT_FALSE(result.response.body_truncated);
  EXPECT_EQ(result.response.Header("x-test"), "yes");
  EXPECT_EQ(result.response.Header("content-length"), "12");
  EXPECT_EQ(result.response.Header("set-cookie"), "a=1");  // the first of that name
  std::vector<std::string> cookies;
  for (const HttpHeaderLine& header : result.response.headers) {
    if (header.name == "Set-Cookie") cookies.push_back(header.value);
  }
  EXPECT_THAT(cookies, ElementsAre("a=1", "b=2"));
  EXPECT_EQ(result.response.Header("missing"), std::nullopt);
  EXPECT_EQ(result.remote_address, "127.0.0.1");
  EXPECT_TRUE(result.error.empty());
  EXPECT_GE(result.elapsed.count(), 0);
}

TEST(CurlEngine, ErrorStatusesAreResponsesNotFailures) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Status(503), ScriptedReply::Status(404)});
  auto engine = MakeEngine();
  const HttpResult unavailable = SendAndWait(*engine, Get(receiver.url()));
  const HttpResult not_found = SendAndWait(*engine, Get(receiver.url()));
  ASSERT_TRUE(unavailable.ok()) << Describe(unavailable);
  EXPECT_EQ(unavailable.response.status, 503);
  ASSERT_TRUE(not_found.ok()) << Describe(not_found);
  EXPECT_EQ(not_found.response.status, 404);
}

TEST(CurlEngine, KeepsAtMost64KiBOfTheBodyAndReadsTheRest) {
  HttpReceiver receiver;
  ScriptedReply big = ScriptedReply::Status(200);
  big.body.reserve(200 * 1024);
  for (size_t i = 0; i < 200 * 1024; ++i) big.body.push_back(static_cast<char>('a' + i % 26));
  receiver.Script({big});
  auto engine = MakeEngine();

  const HttpResult result = SendAndWait(*engine, Get(receiver.url()));
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.response.body.size(), kMaxCapturedResponseBody);
  EXPECT_EQ(result.response.body, big.body.substr(0, kMaxCapturedResponseBody));
  EXPECT_TRUE(result.response.body_truncated);

  // The dropped part was read to the end: the connection is reused for the next request.
  const HttpResult next = SendAndWait(*engine, Get(receiver.url()));
  ASSERT_TRUE(next.ok()) << Describe(next);
  EXPECT_FALSE(next.response.body_truncated);
  EXPECT_EQ(receiver.connection_count(), 1u);
}

TEST(CurlEngine, ABodyOfExactlyTheCapIsNotTruncated) {
  HttpReceiver receiver;
  ScriptedReply exact = ScriptedReply::Status(200);
  exact.body.assign(kMaxCapturedResponseBody, 'x');
  receiver.Script({exact});
  auto engine = MakeEngine();
  const HttpResult result = SendAndWait(*engine, Get(receiver.url()));
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.response.body.size(), kMaxCapturedResponseBody);
  EXPECT_FALSE(result.response.body_truncated);
}

TEST(CurlEngine, RedirectsAreReturnedNotFollowed) {
  HttpReceiver receiver;
  ScriptedReply redirect = ScriptedReply::Status(302);
  redirect.headers = {{"Location", receiver.url("/elsewhere")}};
  receiver.Script({redirect});
  auto engine = MakeEngine();
  const HttpResult result = SendAndWait(*engine, Get(receiver.url("/start")));
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.response.status, 302);
  EXPECT_EQ(result.response.Header("location"), receiver.url("/elsewhere"));
  EXPECT_EQ(receiver.request_count(), 1u);
}

TEST(CurlEngine, HeadersAreThoseOfTheFinalResponse) {
  // A caller asking for Expect: 100-continue gets an interim 100 first; only the final answer's
  // status and headers are reported.
  HttpReceiver receiver;
  ScriptedReply reply = ScriptedReply::Status(202);
  reply.headers = {{"X-Final", "1"}};
  receiver.Script({reply});
  auto engine = MakeEngine();
  HttpRequest request;
  request.url = receiver.url();
  request.headers = {{"Expect", "100-continue"}};
  request.body = "payload";
  const HttpResult result = SendAndWait(*engine, request);
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.response.status, 202);
  EXPECT_EQ(result.response.Header("x-final"), "1");
  EXPECT_EQ(result.response.headers.size(), 2u);  // X-Final and Content-Length
}

// ---- requests ----

TEST(CurlEngine, SendsHeadersAndBodyByteExact) {
  HttpReceiver receiver;
  auto engine = MakeEngine();
  HttpRequest request;
  request.method = "POST";
  request.url = receiver.url("/hook?x=1&y=%20");
  request.headers = {{"Content-Type", "application/json"},
                     {"webhook-id", "msg_1"},
                     {"X-Empty", ""},
                     {"X-Repeated", "one"},
                     {"X-Repeated", "two"},
                     {"User-Agent", "fraiseql-observer/test"}};
  request.body = std::string("{\"a\":\"\xc3\xa9\"}\r\n\0tail", 17);

  const HttpResult result = SendAndWait(*engine, request);
  ASSERT_TRUE(result.ok()) << Describe(result);
  const std::vector<ReceivedRequest> received = receiver.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].target, "/hook?x=1&y=%20");
  EXPECT_EQ(received[0].body, request.body);
  EXPECT_EQ(received[0].Header("content-length"), "17");
  // Apart from Host and Content-Length, exactly the caller's headers, in the caller's order:
  // no Accept, no Expect, no form Content-Type of curl's own.
  std::vector<HttpHeaderLine> others;
  for (const HttpHeaderLine& header : received[0].headers) {
    if (header.name != "Host" && header.name != "Content-Length") others.push_back(header);
  }
  EXPECT_EQ(others, request.headers);
  EXPECT_EQ(received[0].Header("host"), "127.0.0.1:" + std::to_string(receiver.port()));
}

TEST(CurlEngine, SendsEveryMethodAsAsked) {
  HttpReceiver receiver;
  auto engine = MakeEngine();
  struct Case {
    std::string method;
    std::string body;
  };
  for (const Case& c : std::vector<Case>{{"GET", ""},
                                         {"HEAD", ""},
                                         {"DELETE", ""},
                                         {"OPTIONS", ""},
                                         {"POST", ""},
                                         {"PUT", "{\"put\":1}"},
                                         {"PATCH", "{\"patch\":1}"},
                                         {"DELETE", "{\"with\":\"body\"}"},
                                         {"PROPFIND", "<x/>"}}) {
    HttpRequest request;
    request.method = c.method;
    request.url = receiver.url("/m");
    request.body = c.body;
    const HttpResult result = SendAndWait(*engine, request);
    ASSERT_TRUE(result.ok()) << c.method << ": " << Describe(result);
    const ReceivedRequest last = receiver.requests().back();
    EXPECT_EQ(last.method, c.method);
    EXPECT_EQ(last.body, c.body) << c.method;
    if (c.method == "POST" || !c.body.empty()) {
      EXPECT_EQ(last.Header("content-length"), std::to_string(c.body.size())) << c.method;
    }
    EXPECT_EQ(last.Header("content-type"), std::nullopt) << c.method;
  }
}

TEST(CurlEngine, RefusesMalformedRequestsWithoutSendingThem) {
  HttpReceiver receiver;
  auto engine = MakeEngine();
  std::vector<HttpRequest> bad(6);
  bad[0].method = "GE T";
  bad[1].method = "";
  bad[2].headers = {{"X-Injected", "a\r\nX-Evil: 1"}};
  bad[3].headers = {{"Bad Name", "v"}};
  bad[4].headers = {{"X-Nul", std::string("a\0b", 3)}};
  bad[5].headers = {{"X-Lf", "a\nb"}};
  for (HttpRequest& request : bad) {
    if (request.url.empty()) request.url = receiver.url();
    const HttpResult result = SendAndWait(*engine, request);
    EXPECT_EQ(result.failure, TransportFailure::kInvalidRequest) << Describe(result);
    EXPECT_FALSE(result.error.empty());
  }
  EXPECT_EQ(receiver.request_count(), 0u);
}

TEST(CurlEngine, RefusesUrlsItCannotOrMustNotUse) {
  auto engine = MakeEngine();
  for (std::string url : {"ftp://127.0.0.1/file", "file:///etc/passwd", "gopher://127.0.0.1/", "not a url",
                          "http://", "://nothing", "dict://127.0.0.1:11211/stat"}) {
    const HttpResult result = SendAndWait(*engine, Get(url));
    EXPECT_EQ(result.failure, TransportFailure::kInvalidRequest) << url << " -> " << Describe(result);
  }
}

TEST(CurlEngine, CallbacksRunOnTheEngineThreadEvenForImmediateFailures) {
  std::promise<std::thread::id> ran_on;
  std::future<std::thread::id> future = ran_on.get_future();
  auto engine = MakeEngine();  // after what its callbacks use, so destroyed before it
  HttpRequest request = Get("http://127.0.0.1:1/");
  request.method = "BAD METHOD";
  engine->Send(request, [&ran_on](HttpResult) { ran_on.set_value(std::this_thread::get_id()); });
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(CurlEngine, IgnoresProxiesFromTheEnvironment) {
  // Before any thread of this test exists: setenv races with getenv on other threads.
  ::setenv("http_proxy", "http://127.0.0.1:9/", 1);
  ::setenv("ALL_PROXY", "http://127.0.0.1:9/", 1);
  {
    HttpReceiver receiver;
    auto engine = MakeEngine();
    const HttpResult result = SendAndWait(*engine, Get(receiver.url("/direct")));
    EXPECT_TRUE(result.ok()) << Describe(result);
    EXPECT_EQ(receiver.request_count(), 1u);
  }
  ::unsetenv("http_proxy");
  ::unsetenv("ALL_PROXY");
}

// ---- failures ----

TEST(CurlEngine, ClosedPortIsAConnectFailure) {
  const Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const uint16_t port = BindUnlistened(socket);
  auto engine = MakeEngine();
  const HttpResult result = SendAndWait(*engine, Get("http://127.0.0.1:" + std::to_string(port) + "/"));
  EXPECT_EQ(result.failure, TransportFailure::kConnect) << Describe(result);
  EXPECT_FALSE(result.error.empty());
}

// The error text reaches logs and dead-letter rows: whatever libcurl writes, a URL's userinfo
// and credential parameters never come back in it.
TEST(CurlEngine, ErrorsNeverCarryTheUrlsCredentials) {
  const Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const uint16_t port = BindUnlistened(socket);
  auto engine = MakeEngine();
  const std::string secrets = "ops:hunter2@";
  for (const std::string& url :
       {"http://" + secrets + "127.0.0.1:" + std::to_string(port) + "/x?token=abc123",
        "http://" + secrets + "nonexistent.invalid/?sig=abc123", "http://" + secrets + "[::1/?token=abc123",
        "ftp://" + secrets + "127.0.0.1/?password=abc123"}) {
    HttpRequest request = Get(url);
    request.timeout = milliseconds(10000);
    const HttpResult result = SendAndWait(*engine, request);
    EXPECT_FALSE(result.ok()) << url;
    EXPECT_FALSE(result.error.empty()) << url;
    EXPECT_EQ(result.error.find("hunter2"), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find("abc123"), std::string::npos) << result.error;
  }
}

TEST(CurlEngine, SlowAnswerIsATimeout) {
  HttpReceiver receiver;
  ScriptedReply slow = ScriptedReply::Status(200);
  slow.delay = milliseconds(10000);  // the receiver's destructor cuts this short
  receiver.Script({slow});
  auto engine = MakeEngine();
  HttpRequest request = Get(receiver.url());
  request.timeout = milliseconds(300);
  const HttpResult result = SendAndWait(*engine, request);
  EXPECT_EQ(result.failure, TransportFailure::kTimeout) << Describe(result);
  EXPECT_EQ(receiver.request_count(), 1u);
}

// Between requests the engine sleeps until a socket is ready, one of curl's timers is due or a
// request is queued. curl keeps its timers on CLOCK_MONOTONIC_RAW, the engine on steady_clock
// (CLOCK_MONOTONIC): when the two disagreed on a timer being due, the engine polled with a zero
// timeout until curl agreed. Requests a few milliseconds apart on a kept-alive connection (a
// steady trickle of deliveries) made it spin: 595,554 passes for these 300 requests, 627 since.
TEST(CurlEngine, ATrickleOfRequestsDoesNotMakeTheEngineSpin) {
  HttpReceiver receiver;
  auto engine = MakeEngine();
  const uint64_t before = engine->loop_passes();
  constexpr int kRequests = 300;
  for (int i = 0; i < kRequests; ++i) {
    const HttpResult result = SendAndWait(*engine, Get(receiver.url("/trickle/" + std::to_string(i))));
    ASSERT_TRUE(result.ok()) << i << ": " << Describe(result);
    std::this_thread::sleep_for(milliseconds(2));  // the trickle's pace, not a wait for anything
  }
  EXPECT_LT(engine->loop_passes() - before, 20u * kRequests);
}

TEST(CurlEngine, SlowBodyIsATimeoutToo) {
  // The total timeout covers the whole exchange, not just the wait for the first byte.
  HttpReceiver receiver;
  ScriptedReply dribble = ScriptedReply::Status(200);
  dribble.body = std::string(100, 'z');
  dribble.body_byte_delay = milliseconds(100);
  receiver.Script({dribble});
  auto engine = MakeEngine();
  HttpRequest request = Get(receiver.url());
  request.timeout = milliseconds(300);
  const HttpResult result = SendAndWait(*engine, request);
  EXPECT_EQ(result.failure, TransportFailure::kTimeout) << Describe(result);
}

TEST(CurlEngine, ResetBeforeAnswerIsAConnectFailure) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Reset()});
  auto engine = MakeEngine();
  const HttpResult result = SendAndWait(*engine, Get(receiver.url()));
  EXPECT_EQ(result.failure, TransportFailure::kConnect) << Describe(result);
  EXPECT_EQ(result.response.status, 0);
}

TEST(CurlEngine, ConnectionCutMidResponseIsANetworkFailure) {
  HttpReceiver receiver;
  ScriptedReply cut = ScriptedReply::Status(200);
  cut.headers = {{"Content-Length", "1000"}, {"Connection", "close"}};  // promises more than it sends
  cut.body = "only a little";
  receiver.Script({cut});
  auto engine = MakeEngine();
  const HttpResult result = SendAndWait(*engine, Get(receiver.url()));
  EXPECT_EQ(result.failure, TransportFailure::kNetwork) << Describe(result);
}

TEST(CurlEngine, UnresolvableHostIsADnsFailure) {
  auto engine = MakeEngine();
  HttpRequest request = Get("http://nonexistent.invalid/");
  request.timeout = milliseconds(10000);
  const HttpResult result = SendAndWait(*engine, request);
  EXPECT_EQ(result.failure, TransportFailure::kDns) << Describe(result);
}

TEST(CurlEngine, TlsHandshakeFailureIsATlsFailure) {
  PlainTextListener listener;
  auto engine = MakeEngine();
  HttpRequest request = Get("https://127.0.0.1:" + std::to_string(listener.port()) + "/");
  request.timeout = milliseconds(10000);
  const HttpResult result = SendAndWait(*engine, request);
  EXPECT_EQ(result.failure, TransportFailure::kTls) << Describe(result);
}

// ---- SSRF guard ----

TEST(CurlEngine, LoopbackIsRefusedWithoutTheAllowList) {
  HttpReceiver receiver;
  auto engine = MakeEngine(/*allow=*/{});
  const HttpResult result = SendAndWait(*engine, Get(receiver.url()));
  EXPECT_EQ(result.failure, TransportFailure::kBlockedTarget) << Describe(result);
  EXPECT_EQ(result.error,
            "127.0.0.1 is a loopback address; allow it with [security] allow_private_targets = [\"127.0.0.0/8\"]");
  EXPECT_THAT(result.remote_address, IsEmpty());
  EXPECT_EQ(receiver.connection_count(), 0u);
  EXPECT_EQ(receiver.request_count(), 0u);
}

TEST(CurlEngine, LoopbackIsAcceptedWithTheAllowList) {
  HttpReceiver receiver;
  auto engine = MakeEngine({"127.0.0.0/8"});
  const HttpResult result = SendAndWait(*engine, Get(receiver.url()));
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.response.status, 200);
  EXPECT_EQ(receiver.request_count(), 1u);
}

TEST(CurlEngine, AHostNameResolvingToAPrivateAddressIsRefused) {
  // The check is on the address connected to, after DNS: a name is no way around it.
  HttpReceiver receiver;
  auto engine = MakeEngine(/*allow=*/{});
  const HttpResult result =
      SendAndWait(*engine, Get("http://localhost:" + std::to_string(receiver.port()) + "/"));
  EXPECT_EQ(result.failure, TransportFailure::kBlockedTarget) << Describe(result);
  EXPECT_THAT(result.error, HasSubstr("is a loopback address"));
  EXPECT_EQ(receiver.connection_count(), 0u);
}

TEST(CurlEngine, EverySpellingOfLoopbackIsRefused) {
  HttpReceiver receiver;
  auto engine = MakeEngine(/*allow=*/{});
  const std::string port = std::to_string(receiver.port());
  for (const std::string host : {"127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.000.000.001",
                                 "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0", "0", "LOCALHOST"}) {
    const HttpResult result = SendAndWait(*engine, Get("http://" + host + ":" + port + "/"));
    EXPECT_EQ(result.failure, TransportFailure::kBlockedTarget) << host << ": " << Describe(result);
  }
  // Whether the resolver knows the fully qualified form depends on the machine; either way it
  // must not connect.
  const HttpResult dotted = SendAndWait(*engine, Get("http://localhost.:" + port + "/"));
  EXPECT_THAT(dotted.failure, AnyOf(TransportFailure::kBlockedTarget, TransportFailure::kDns)) << Describe(dotted);
  EXPECT_EQ(receiver.connection_count(), 0u);
  EXPECT_EQ(receiver.request_count(), 0u);
}

TEST(CurlEngine, AllowingIpv4LoopbackDoesNotAllowIpv6Loopback) {
  auto engine = MakeEngine({"127.0.0.0/8"});
  const HttpResult result = SendAndWait(*engine, Get("http://[::1]:9/"));
  EXPECT_EQ(result.failure, TransportFailure::kBlockedTarget) << Describe(result);
  EXPECT_THAT(result.error, HasSubstr("::1 is a loopback address"));
}

// ---- connections and concurrency ----

TEST(CurlEngine, SequentialRequestsReuseTheConnection) {
  HttpReceiver receiver;
  auto engine = MakeEngine();
  for (int i = 0; i < 50; ++i) {
    const HttpResult result = SendAndWait(*engine, Get(receiver.url("/seq/" + std::to_string(i))));
    ASSERT_TRUE(result.ok()) << i << ": " << Describe(result);
    ASSERT_EQ(result.response.status, 200);
  }
  EXPECT_EQ(receiver.request_count(), 50u);
  EXPECT_LE(receiver.connection_count(), 2u);
}

TEST(CurlEngine, FiveHundredConcurrentRequestsAllComplete) {
  HttpReceiver receiver;
  Collector collector;
  auto engine = MakeEngine();
  for (int i = 0; i < 500; ++i) {
    HttpRequest request;
    request.url = receiver.url("/c/" + std::to_string(i));
    request.body = "request " + std::to_string(i);
    engine->Send(std::move(request), collector.Callback());
  }
  ASSERT_TRUE(collector.WaitFor(500));
  for (const HttpResult& result : collector.results()) {
    ASSERT_TRUE(result.ok()) << Describe(result);
    EXPECT_EQ(result.response.status, 200);
  }
  EXPECT_EQ(receiver.request_count(), 500u);
  // Bounded by max_connections_per_host, not one connection per request.
  EXPECT_LE(receiver.connection_count(), CurlEngineOptions{}.max_connections_per_host);
}

TEST(CurlEngine, ConnectionsPerHostAreCapped) {
  HttpReceiver receiver;
  ScriptedReply slowish = ScriptedReply::Status(200);
  slowish.delay = milliseconds(20);
  receiver.SetDefault(slowish);
  Collector collector;
  CurlEngineOptions options;
  options.max_connections_per_host = 4;
  auto engine = MakeEngine({"127.0.0.0/8"}, std::move(options));
  for (int i = 0; i < 40; ++i) engine->Send(Get(receiver.url()), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(40));
  for (const HttpResult& result : collector.results()) EXPECT_TRUE(result.ok()) << Describe(result);
  EXPECT_LE(receiver.connection_count(), 4u);
}

TEST(CurlEngine, SendFromInsideACallbackWorks) {
  HttpReceiver receiver;
  std::promise<HttpResult> second;
  std::future<HttpResult> future = second.get_future();
  auto engine = MakeEngine();  // after what its callbacks use, so destroyed before it
  CurlEngine* raw = engine.get();
  const std::string next_url = receiver.url("/second");
  engine->Send(Get(receiver.url("/first")), [raw, next_url, &second](HttpResult first) {
    EXPECT_TRUE(first.ok()) << Describe(first);
    raw->Send(Get(next_url), [&second](HttpResult result) { second.set_value(std::move(result)); });
  });
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  const HttpResult result = future.get();
  EXPECT_TRUE(result.ok()) << Describe(result);
  const std::vector<ReceivedRequest> received = receiver.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[1].target, "/second");
}

TEST(CurlEngine, SendFromTheCallbackOfAnImmediateFailureIsNotLeftWaiting) {
  // A chain of requests each refused at once, each sent by the previous one's callback: every
  // link must start straight away, not at the engine's next idle wake-up (which would make the
  // chain outlast the wait below).
  std::promise<int> finished;
  std::future<int> future = finished.get_future();
  CurlEngine* raw = nullptr;
  std::function<void(int)> send_link = [&](int remaining) {
    HttpRequest request = Get("http://127.0.0.1:9/");
    request.method = "NOT A METHOD";
    raw->Send(std::move(request), [&, remaining](HttpResult result) {
      EXPECT_EQ(result.failure, TransportFailure::kInvalidRequest);
      if (remaining == 0) {
        finished.set_value(0);
      } else {
        send_link(remaining - 1);
      }
    });
  };
  // Declared last, so destroyed (and its callbacks done) before what they use.
  auto engine = MakeEngine();
  raw = engine.get();
  send_link(40);
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
}

TEST(CurlEngine, AThrowingCallbackIsLoggedAndTheEngineCarriesOn) {
  log::ScopedCapture capture;
  HttpReceiver receiver;
  std::promise<void> threw;
  std::future<void> thrown = threw.get_future();
  auto engine = MakeEngine();  // after what its callbacks use, so destroyed before it
  engine->Send(Get(receiver.url()), [&threw](HttpResult) {
    threw.set_value();
    throw std::runtime_error("callback exploded");
  });
  ASSERT_EQ(thrown.wait_for(kWait), std::future_status::ready);
  // Sent after the throwing callback ran, so answered after the engine dealt with the exception:
  // callbacks run one after another on the engine thread.
  const HttpResult after = SendAndWait(*engine, Get(receiver.url()));
  EXPECT_TRUE(after.ok()) << Describe(after);
  bool logged = false;
  for (const log::Line& line : capture.lines()) {
    if (line.level == log::Level::kError && line.text.find("callback exploded") != std::string::npos) logged = true;
  }
  EXPECT_TRUE(logged);
}

TEST(CurlEngine, DestructorFailsEveryUnfinishedRequestExactlyOnce) {
  HttpReceiver receiver;
  ScriptedReply hang = ScriptedReply::Status(200);
  hang.delay = milliseconds(60000);  // the receiver's destructor cuts this short
  receiver.SetDefault(hang);
  Collector collector;
  std::atomic<int> sent_from_callbacks{0};
  auto engine = MakeEngine();
  CurlEngine* raw = engine.get();
  constexpr int kInFlight = 20;
  for (int i = 0; i < kInFlight; ++i) {
    HttpRequest request = Get(receiver.url("/hang"));
    request.timeout = milliseconds(60000);
    // Each callback also sends again, as a retrying caller might; those must fail the same way.
    engine->Send(std::move(request), [&collector, &sent_from_callbacks, raw, sink = collector.Callback()](
                                         HttpResult result) {
      sink(std::move(result));
      ++sent_from_callbacks;
      raw->Send(Get("http://127.0.0.1:9/after"), collector.Callback());
    });
  }
  ASSERT_TRUE(receiver.WaitForRequests(kInFlight, kWait));  // all of them in flight now

  engine.reset();

  // No waiting needed: the destructor returns after the last callback ran.
  const std::vector<HttpResult> results = collector.results();
  EXPECT_EQ(results.size(), 2u * kInFlight);
  EXPECT_EQ(sent_from_callbacks.load(), kInFlight);
  for (const HttpResult& result : results) {
    EXPECT_EQ(result.failure, TransportFailure::kNetwork) << Describe(result);
    EXPECT_EQ(result.error, "client shut down");
  }
}

TEST(CurlEngine, DestructorWithNothingInFlightReturns) {
  auto engine = MakeEngine();
  engine.reset();
  SUCCEED();
}

TEST(CurlEngine, ManyEnginesCanCoexist) {
  HttpReceiver receiver;
  std::vector<std::unique_ptr<CurlEngine>> engines;
  for (int i = 0; i < 4; ++i) engines.push_back(MakeEngine());
  for (auto& engine : engines) {
    const HttpResult result = SendAndWait(*engine, Get(receiver.url()));
    EXPECT_TRUE(result.ok()) << Describe(result);
  }
}

TEST(TransportFailureName, NamesEveryFailure) {
  EXPECT_EQ(TransportFailureName(TransportFailure::kNone), "none");
  EXPECT_EQ(TransportFailureName(TransportFailure::kInvalidRequest), "invalid_request");
  EXPECT_EQ(TransportFailureName(TransportFailure::kBlockedTarget), "blocked_target");
  EXPECT_EQ(TransportFailureName(TransportFailure::kDns), "dns");
  EXPECT_EQ(TransportFailureName(TransportFailure::kConnect), "connect");
  EXPECT_EQ(TransportFailureName(TransportFailure::kTls), "tls");
  EXPECT_EQ(TransportFailureName(TransportFailure::kTimeout), "timeout");
  EXPECT_EQ(TransportFailureName(TransportFailure::kNetwork), "network");
}

TEST(HttpResponse, HeaderIsCaseInsensitiveAndFirstWins) {
  HttpResponse response;
  response.headers = {{"Retry-After", "5"}, {"retry-after", "9"}};
  EXPECT_EQ(response.Header("RETRY-AFTER"), "5");
  EXPECT_EQ(response.Header("Retry"), std::nullopt);
}

}  // namespace
}  // namespace fraiseql
