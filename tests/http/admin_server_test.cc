// AdminServer and HttpServer against real sockets on 127.0.0.1, driven with libcurl.
#include "http/admin_server.h"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "common/mutex.h"
#include "metrics/families.h"
#include "metrics/prometheus_text.h"
#include "testing/hostile_http.h"
#include "testing/poll.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kToken = "tok-3f9a1c5e-admin";

struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
  std::string headers;  // the raw response header block
};

size_t Append(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// One request on `curl` (a fresh handle when null), so a test can also reuse a connection.
// Methods other than GET and HEAD send `body` with its Content-Length (0 included: without one,
// a server must read the body until the connection closes).
Reply Fetch(const std::string& method, const std::string& url, const std::vector<std::string>& headers = {},
            const std::string& body = "", CURL* reuse = nullptr) {
  std::unique_ptr<CURL, CurlDeleter> owned;
  CURL* curl = reuse;
  if (curl == nullptr) {
    owned.reset(curl_easy_init());
    curl = owned.get();
  }
  std::unique_ptr<curl_slist, SlistDeleter> list;
  for (const std::string& header : headers) list.reset(curl_slist_append(list.release(), header.c_str()));
  Reply reply;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method == "HEAD" ? nullptr : method.c_str());
  if (method != "GET" && method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_NOBODY, method == "HEAD" ? 1L : 0L);
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  const CURLcode code = curl_easy_perform(curl);
  EXPECT_EQ(code, CURLE_OK) << method << " " << url << ": " << curl_easy_strerror(code);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  char* content_type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type != nullptr) reply.content_type = content_type;
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  return reply;
}

AdminServerOptions Ephemeral() {
  AdminServerOptions options;
  options.address = {"127.0.0.1", 0};
  return options;
}

class Started {
 public:
  explicit Started(AdminServerOptions options) : server_(std::make_unique<AdminServer>(std::move(options))) {}
  AdminServer& server() { return *server_; }
  void Start() {
    const Result<void> started = server_->Start();
    ASSERT_TRUE(started.has_value()) << started.error().message;
    ASSERT_NE(server_->port(), 0);
    ASSERT_EQ(server_->address(), (ListenAddress{"127.0.0.1", server_->port()}));
  }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }

 private:
  std::unique_ptr<AdminServer> server_;
};

// ---- Built-in routes ----

TEST(AdminServerTest, MetricsServesTheDefaultRegistryInPrometheusText) {
  metrics::DeclareAllFamilies();
  Started admin(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  const Reply reply = Fetch("GET", admin.Url("/metrics"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, metrics::kPrometheusTextContentType);
  EXPECT_THAT(reply.body, HasSubstr("# TYPE fraiseql_observer_events_processed_total counter"));
  EXPECT_THAT(reply.body, HasSubstr("fraiseql_observer_backlog_size 0"));
}

TEST(AdminServerTest, MetricsRendersAnInjectedRegistry) {
  metrics::Registry registry;
  registry.AddCounter("admin_test_hits_total", "Hits.").Get().Increment(3);
  AdminServerOptions options = Ephemeral();
  options.registry = &registry;
  Started admin(std::move(options));
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  const Reply reply = Fetch("GET", admin.Url("/metrics"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, metrics::RenderPrometheusText(registry));
  EXPECT_THAT(reply.body, HasSubstr("admin_test_hits_total 3"));
}

TEST(AdminServerTest, HealthIsOk) {
  Started admin(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  const Reply reply = Fetch("GET", admin.Url("/health"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"status":"ok"})");
  EXPECT_EQ(reply.content_type, "application/json");
}

TEST(AdminServerTest, ReadyFollowsTheCallback) {
  std::atomic<bool> ready{false};
  AdminServerOptions options = Ephemeral();
  options.readiness = [&ready] {
    return ready ? Readiness{} : Readiness{false, "listener has not \"connected\" yet"};
  };
  Started admin(std::move(options));
  ASSERT_NO_FATAL_FAILURE(admin.Start());

  Reply reply = Fetch("GET", admin.Url("/ready"));
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body, R"({"reason":"listener has not \"connected\" yet","status":"not_ready"})");

  ready = true;
  reply = Fetch("GET", admin.Url("/ready"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"status":"ready"})");
}

TEST(AdminServerTest, ReadyWithoutACallbackIsReady) {
  Started admin(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  EXPECT_EQ(Fetch("GET", admin.Url("/ready")).status, 200);
}

TEST(AdminServerTest, UnknownPathIs404AndWrongMethodIs405) {
  Started admin(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  EXPECT_EQ(Fetch("GET", admin.Url("/nope")).status, 404);
  EXPECT_EQ(Fetch("GET", admin.Url("/metrics/extra")).status, 404);
  const Reply reply = Fetch("POST", admin.Url("/metrics"));
  EXPECT_EQ(reply.status, 405);
  EXPECT_THAT(reply.headers, HasSubstr("Allow: GET"));
}

TEST(AdminServerTest, HeadIsServedLikeGet) {
  Started admin(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  const Reply reply = Fetch("HEAD", admin.Url("/health"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "");
}

// ---- Admin routes ----

ServerResponse Echo(const ServerRequest& request) {
  return ServerResponse{200, "text/plain", request.method + " " + request.path, {}};
}

AdminServerOptions WithToken() {
  AdminServerOptions options = Ephemeral();
  options.admin_token = Secret(std::string(kToken));
  return options;
}

TEST(AdminServerTest, AdminRouteNeedsTheBearerToken) {
  Started admin(WithToken());
  ASSERT_TRUE(admin.server().AddAdminRoute("POST", "/admin/reload", Echo).has_value());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  const std::string url = admin.Url("/admin/reload");

  Reply reply = Fetch("POST", url);
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(reply.headers, HasSubstr("WWW-Authenticate: Bearer"));
  EXPECT_THAT(reply.body, HasSubstr("missing Authorization"));

  reply = Fetch("POST", url, {"Authorization: Bearer wrong-token"});
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(reply.body, HasSubstr("wrong admin token"));

  // A prefix of the token, and the token under another scheme, are wrong too.
  EXPECT_EQ(Fetch("POST", url, {"Authorization: Bearer " + std::string(kToken.substr(0, 5))}).status, 401);
  EXPECT_EQ(Fetch("POST", url, {"Authorization: Basic " + std::string(kToken)}).status, 401);
  EXPECT_EQ(Fetch("POST", url, {"Authorization: Bearer"}).status, 401);

  reply = Fetch("POST", url, {"Authorization: Bearer " + std::string(kToken)});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "POST /admin/reload");

  // The scheme is case-insensitive (RFC 7235).
  EXPECT_EQ(Fetch("POST", url, {"Authorization: bearer   " + std::string(kToken)}).status, 200);
}

TEST(AdminServerTest, AdminRouteWithoutAConfiguredTokenIs403) {
  for (std::optional<Secret> token : {std::optional<Secret>(), std::optional<Secret>(Secret(""))}) {
    AdminServerOptions options = Ephemeral();
    options.admin_token = token;
    Started admin(std::move(options));
    ASSERT_TRUE(admin.server().AddAdminRoute("GET", "/admin/status", Echo).has_value());
    ASSERT_NO_FATAL_FAILURE(admin.Start());
    const Reply reply = Fetch("GET", admin.Url("/admin/status"), {"Authorization: Bearer anything"});
    EXPECT_EQ(reply.status, 403);
    EXPECT_THAT(reply.body, HasSubstr("admin API disabled: set [security] admin_token"));
    // The public routes do not care.
    EXPECT_EQ(Fetch("GET", admin.Url("/health")).status, 200);
  }
}

TEST(AdminServerTest, PrefixRouteSeesTheFullPath) {
  Started admin(WithToken());
  ASSERT_TRUE(admin.server().AddAdminRoute("POST", "/admin/dlq/*", Echo).has_value());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  const Reply reply =
      Fetch("POST", admin.Url("/admin/dlq/42/redrive"), {"Authorization: Bearer " + std::string(kToken)});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "POST /admin/dlq/42/redrive");
  EXPECT_EQ(Fetch("POST", admin.Url("/admin/other"), {"Authorization: Bearer " + std::string(kToken)}).status, 404);
}

TEST(AdminServerTest, AddAdminRouteRejectsBadRoutesAndLateOnes) {
  AdminServer server(WithToken());
  EXPECT_EQ(server.AddAdminRoute("get", "/x", Echo).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(server.AddAdminRoute("GET", "x", Echo).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(server.AddAdminRoute("GET", "/x", nullptr).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(server.AddAdminRoute("GET", "/x", Echo).has_value());
  EXPECT_THAT(server.AddAdminRoute("GET", "/x", Echo).error().message, HasSubstr("already routed"));
  EXPECT_THAT(server.AddAdminRoute("GET", "/metrics", Echo).error().message, HasSubstr("already routed"));
  ASSERT_TRUE(server.Start().has_value());
  EXPECT_EQ(server.AddAdminRoute("GET", "/y", Echo).error().code, ErrorCode::kFailedPrecondition);
}

TEST(AdminServerTest, TheTokenIsNeverLogged) {
  log::ScopedCapture capture;
  {
    Started admin(WithToken());
    ASSERT_TRUE(admin.server().AddAdminRoute("GET", "/admin/x", Echo).has_value());
    ASSERT_NO_FATAL_FAILURE(admin.Start());
    // A wrong token that shares a long prefix with the right one, and the right one.
    EXPECT_EQ(Fetch("GET", admin.Url("/admin/x"), {"Authorization: Bearer " + std::string(kToken) + "x"}).status,
              401);
    EXPECT_EQ(Fetch("GET", admin.Url("/admin/x"), {"Authorization: Bearer " + std::string(kToken)}).status, 200);
  }
  const std::vector<log::Line> lines = capture.lines();
  ASSERT_FALSE(lines.empty());
  bool saw_warning = false;
  for (const log::Line& line : lines) {
    EXPECT_THAT(line.text, Not(HasSubstr(kToken.substr(0, 8)))) << line.text;
    saw_warning = saw_warning || line.text.find("wrong token") != std::string::npos;
  }
  EXPECT_TRUE(saw_warning);
}

TEST(AdminServerTest, AThrowingHandlerIsA500WithoutItsMessage) {
  Started admin(WithToken());
  ASSERT_TRUE(admin.server()
                  .AddAdminRoute("GET", "/admin/boom",
                                 [](const ServerRequest&) -> ServerResponse { throw std::runtime_error("secret-ish"); })
                  .has_value());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  log::ScopedCapture capture;
  const Reply reply = Fetch("GET", admin.Url("/admin/boom"), {"Authorization: Bearer " + std::string(kToken)});
  EXPECT_EQ(reply.status, 500);
  EXPECT_THAT(reply.headers + reply.body, Not(HasSubstr("secret-ish")));
}

// ---- Hostile clients (the whole set is in http_server_abuse_test.cc) ----

TEST(AdminServerTest, HealthAndReadyAnswerWhileEveryHandlerThreadIsStuck) {
  Mutex mu;
  std::condition_variable changed;
  bool released = false;
  size_t stuck = 0;
  AdminServerOptions options = WithToken();
  options.handler_threads = 1;
  Started admin(std::move(options));
  ASSERT_TRUE(admin.server()
                  .AddAdminRoute("POST", "/admin/stuck",
                                 [&](const ServerRequest&) {
                                   MutexLock lock(&mu);
                                   ++stuck;
                                   changed.notify_all();
                                   while (!released) mu.Wait(changed);
                                   return ServerResponse{};
                                 })
                  .has_value());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  testing::RawConnection request(admin.server().port());
  ASSERT_TRUE(request.Send("POST /admin/stuck HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nAuthorization: Bearer " +
                           std::string(kToken) + "\r\n\r\n"));
  ASSERT_TRUE(testing::PollUntil([&] {
    MutexLock lock(&mu);
    return stuck == 1;
  }));
  EXPECT_EQ(Fetch("GET", admin.Url("/health")).status, 200);
  EXPECT_EQ(Fetch("GET", admin.Url("/ready")).status, 200);
  EXPECT_EQ(Fetch("HEAD", admin.Url("/ready")).status, 200);
  {
    MutexLock lock(&mu);
    released = true;
    changed.notify_all();
  }
  EXPECT_TRUE(testing::PollUntil([&] { request.ReadAvailable(); return request.status() != 0; }));
  EXPECT_EQ(request.status(), 200);
}

TEST(AdminServerTest, AChunkedBodyOverTheAdminLimitIs413) {
  Started admin(WithToken());
  std::atomic<bool> called{false};
  ASSERT_TRUE(admin.server()
                  .AddAdminRoute("POST", "/admin/x",
                                 [&called](const ServerRequest&) {
                                   called = true;
                                   return ServerResponse{};
                                 })
                  .has_value());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  testing::RawConnection connection(admin.server().port());
  // 64 KiB is the admin server's limit; 16 MiB are offered.
  testing::SendChunkedUntilAnswered(connection, "/admin/x", 16 << 10, 16 << 20);
  EXPECT_EQ(connection.status(), 413) << connection.received().substr(0, 200);
  EXPECT_FALSE(called);
  EXPECT_EQ(admin.server().stats().bodies_too_large, 1u);
  EXPECT_EQ(Fetch("GET", admin.Url("/health")).status, 200);
}

TEST(AdminServerTest, LimitsComeFromTheOptions) {
  AdminServerOptions options = Ephemeral();
  options.limits.max_connections_per_address = 1;
  options.limits.request_deadline = std::chrono::seconds(30);
  Started admin(std::move(options));
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  testing::RawConnection held(admin.server().port(), "127.0.0.2");
  ASSERT_TRUE(testing::PollUntil([&] { return admin.server().stats().open_connections == 1; }));
  testing::RawConnection refused(admin.server().port(), "127.0.0.2");
  EXPECT_TRUE(refused.WaitClosed());
  EXPECT_EQ(refused.status(), 503);
  EXPECT_EQ(Fetch("GET", admin.Url("/ready")).status, 200);  // from 127.0.0.1
}

TEST(AdminServerLimitsTest, DefaultsAreThoseOfTheServerWithSmallBodies) {
  const HttpServerLimits server;
  const HttpServerLimits admin = AdminServerOptions().limits;
  EXPECT_EQ(admin.max_body_bytes, 64u << 10);
  EXPECT_EQ(admin.max_head_bytes, server.max_head_bytes);
  EXPECT_EQ(admin.request_deadline, server.request_deadline);
  EXPECT_EQ(admin.max_connections, server.max_connections);
  EXPECT_EQ(admin.max_connections_per_address, server.max_connections_per_address);
}

// ---- Lifecycle ----

TEST(AdminServerTest, BindConflictNamesTheAddress) {
  Started first(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(first.Start());
  AdminServerOptions options;
  options.address = {"127.0.0.1", first.server().port()};
  AdminServer second(std::move(options));
  const Result<void> started = second.Start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(started.error().message,
              HasSubstr("127.0.0.1:" + std::to_string(first.server().port()) + " is in use"));
  // The first one still serves: the second did not share the port (no SO_REUSEPORT).
  EXPECT_EQ(Fetch("GET", first.Url("/health")).status, 200);
}

TEST(AdminServerTest, UnresolvableHostIsAClearError) {
  AdminServerOptions options;
  options.address = {"no-such-host.invalid", 0};
  AdminServer server(std::move(options));
  const Result<void> started = server.Start();
  ASSERT_FALSE(started.has_value());
  EXPECT_THAT(started.error().message, HasSubstr("cannot listen on no-such-host.invalid:0"));
}

TEST(AdminServerTest, StartTwiceFailsAndStopIsIdempotent) {
  Started admin(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  EXPECT_EQ(admin.server().Start().error().code, ErrorCode::kFailedPrecondition);
  admin.server().Stop();
  admin.server().Stop();
}

TEST(AdminServerTest, StopWithoutStartAndRightAfterStartReturn) {
  { AdminServer never_started(Ephemeral()); }
  for (int i = 0; i < 20; ++i) {
    AdminServer server(Ephemeral());
    ASSERT_TRUE(server.Start().has_value());
    server.Stop();  // often before the serving thread is even running
  }
}

TEST(AdminServerTest, StopIsPromptWithAnIdleKeepAliveConnection) {
  Started admin(Ephemeral());
  ASSERT_NO_FATAL_FAILURE(admin.Start());
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  // Two requests on one handle: the second reuses the connection, which then stays open, idle.
  EXPECT_EQ(Fetch("GET", admin.Url("/health"), {}, "", curl.get()).status, 200);
  EXPECT_EQ(Fetch("GET", admin.Url("/health"), {}, "", curl.get()).status, 200);
  const auto start = std::chrono::steady_clock::now();
  admin.server().Stop();
  // Bounded by the keep-alive timeout (1 s), with slack for a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

// ---- The pieces ----

TEST(ParseListenAddressTest, AcceptsHostPortForms) {
  EXPECT_EQ(*ParseListenAddress("127.0.0.1:9464"), (ListenAddress{"127.0.0.1", 9464}));
  EXPECT_EQ(*ParseListenAddress("localhost:0"), (ListenAddress{"localhost", 0}));
  EXPECT_EQ(*ParseListenAddress("[::1]:65535"), (ListenAddress{"::1", 65535}));
  EXPECT_EQ(ParseListenAddress("[::1]:80")->ToString(), "[::1]:80");
  EXPECT_EQ(ParseListenAddress("0.0.0.0:80")->ToString(), "0.0.0.0:80");
}

TEST(ParseListenAddressTest, RejectsWhatCannotBeBound) {
  for (std::string_view bad : {"127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:65536", "127.0.0.1:-1",
                               "127.0.0.1:94x", "::1:9464", "[]:9464"}) {
    const Result<ListenAddress> parsed = ParseListenAddress(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(parsed.error().message, HasSubstr(std::string(bad)));
  }
}

TEST(HttpServerTest, HandlerSeesMethodPathQueryHeadersAndBody) {
  std::optional<ServerRequest> seen;
  HttpServer server({}, [&seen](const ServerRequest& request) {
    seen = request;
    return ServerResponse{201, "text/plain", "made", {{"X-Extra", "1"}}};
  });
  ASSERT_TRUE(server.Start().has_value());
  const std::string body = "{\"a\":1}";
  const Reply reply = Fetch("PUT", "http://127.0.0.1:" + std::to_string(server.port()) + "/a%20b?x=1",
                            {"X-Thing: value"}, body);
  server.Stop();
  EXPECT_EQ(reply.status, 201);
  EXPECT_EQ(reply.body, "made");
  EXPECT_THAT(reply.headers, HasSubstr("X-Extra: 1"));
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->method, "PUT");
  EXPECT_EQ(seen->path, "/a b");
  EXPECT_EQ(seen->target, "/a%20b?x=1");
  EXPECT_EQ(seen->body, body);
  EXPECT_EQ(seen->Header("x-thing"), "value");
  EXPECT_EQ(seen->remote_address, "127.0.0.1");
}

TEST(HttpServerTest, ServesOnIPv6) {
  HttpServerOptions options;
  options.address = {"::1", 0};
  std::string remote;
  HttpServer server(options, [&remote](const ServerRequest& request) {
    remote = request.remote_address;
    return ServerResponse{};
  });
  ASSERT_TRUE(server.Start().has_value());
  EXPECT_EQ(server.address().ToString(), "[::1]:" + std::to_string(server.port()));
  EXPECT_EQ(Fetch("GET", "http://[::1]:" + std::to_string(server.port()) + "/x").status, 200);
  server.Stop();
  EXPECT_EQ(remote, "::1");
}

TEST(HttpServerTest, AnInterimStatusFromAHandlerIsA500) {
  // A 1xx sent as the final answer would leave the client waiting for another.
  HttpServer server({}, [](const ServerRequest&) { return ServerResponse{101, "text/plain", "", {}}; });
  ASSERT_TRUE(server.Start().has_value());
  EXPECT_EQ(Fetch("GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/").status, 500);
}

// What `receive --count` does: the handler's answer is what ends the server, so Stop() comes
// while that answer is still to be written. It must still reach the client, every time.
TEST(HttpServerTest, StopRightAfterAHandlerAnswersStillSendsTheAnswer) {
  for (int round = 0; round < 40; ++round) {
    Mutex mu;
    std::condition_variable changed;
    bool handled = false;
    HttpServer server({}, [&](const ServerRequest&) {
      MutexLock lock(&mu);
      handled = true;
      changed.notify_all();
      return ServerResponse{200, "text/plain", "last one", {}};
    });
    ASSERT_TRUE(server.Start().has_value());
    std::atomic<int> status{-1};
    std::thread client([&] { status = testing::RequestOnce(server.port(), "POST", "/last", "{}"); });
    {
      MutexLock lock(&mu);
      const auto deadline = std::chrono::steady_clock::now() + testing::kPollDeadline;
      while (!handled && std::chrono::steady_clock::now() < deadline) mu.WaitUntil(changed, deadline);
    }
    server.Stop();
    client.join();
    ASSERT_EQ(status, 200) << "round " << round << ": the handled request's answer was dropped by Stop()";
  }
}

TEST(HttpServerTest, OversizedBodyIs413) {
  HttpServerOptions options;
  options.limits.max_body_bytes = 16;
  bool called = false;
  HttpServer server(options, [&called](const ServerRequest&) {
    called = true;
    return ServerResponse{};
  });
  ASSERT_TRUE(server.Start().has_value());
  const Reply reply = Fetch("POST", "http://127.0.0.1:" + std::to_string(server.port()) + "/", {}, std::string(100, 'x'));
  server.Stop();
  EXPECT_EQ(reply.status, 413);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace fraiseql
