// HttpServer under hostile clients, over real sockets: slow heads, slow bodies, chunked bodies far
// over the limit, hundreds of idle connections, connections over the caps, stuck handlers. While
// each attack runs, a probe asks GET /ready every 200 ms and a client keeps delivering POSTs;
// every one of them must be answered (how fast is not asserted: that belongs to bench/).
// Attackers connect from 127.0.0.2 and up, the probe and the deliveries from 127.0.0.1.
#include "http/http_server.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/log.h"
#include "common/mutex.h"
#include "testing/hostile_http.h"
#include "testing/poll.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using testing::Attack;
using testing::Expect200;
using testing::PollUntil;
using testing::RawConnection;
using testing::RequestOnce;
using testing::Repeat;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Holds requests for /slow until opened.
class Gate {
 public:
  void Pass() {
    MutexLock lock(&mu_);
    ++waiting_;
    while (!open_) mu_.Wait(changed_);
  }
  void Open() {
    MutexLock lock(&mu_);
    open_ = true;
    changed_.notify_all();
  }
  size_t waiting() {
    MutexLock lock(&mu_);
    return waiting_;
  }

 private:
  Mutex mu_;
  std::condition_variable changed_;
  bool open_ GUARDED_BY(mu_) = false;
  size_t waiting_ GUARDED_BY(mu_) = 0;
};

// A short deadline, so that a test sees many of them pass.
HttpServerLimits TestLimits() {
  HttpServerLimits limits;
  limits.max_body_bytes = 64 << 10;
  limits.max_head_bytes = 4 << 10;
  limits.request_deadline = 300ms;
  limits.max_connections = 64;
  limits.max_connections_per_address = 16;
  limits.max_queued_requests = 16;
  return limits;
}

// What runs beside an attack, from 127.0.0.1.
struct Traffic {
  bool probe = true;       // GET /ready every 200 ms
  bool deliveries = true;  // POST /deliver every 100 ms, through the handler threads
};

class HttpServerAbuseTest : public ::testing::Test {
 protected:
  void Start(HttpServerLimits limits, size_t handler_threads = 4, Traffic traffic = {}) {
    HttpServerOptions options;
    options.limits = limits;
    options.handler_threads = handler_threads;
    options.inline_paths = {"/ready"};
    server_ = std::make_unique<HttpServer>(options, [this](const ServerRequest& request) { return Handle(request); });
    const Result<void> started = server_->Start();
    ASSERT_TRUE(started.has_value()) << started.error().message;
    port_ = server_->port();
    if (traffic.probe) probe_ = std::make_unique<Repeat>(200ms, Expect200(Url("/ready")));
    if (traffic.deliveries) {
      deliveries_ = std::make_unique<Repeat>(100ms, [this]() -> std::string {
        const int status = RequestOnce(port_, "POST", "/deliver", R"({"event":"order.created"})");
        return status == 200 ? "" : "POST /deliver: status " + std::to_string(status);
      });
    }
  }

  // Lets the probe and the deliveries run `count` more times while the attack goes on.
  void LetTrafficRun(size_t count = 5) {
    if (probe_) {
      const size_t until = probe_->attempts() + count;
      EXPECT_TRUE(PollUntil([&] { return probe_->attempts() >= until; })) << "the probe is stuck";
    }
    if (deliveries_) {
      const size_t until = deliveries_->attempts() + count;
      EXPECT_TRUE(PollUntil([&] { return deliveries_->attempts() >= until; })) << "deliveries are stuck";
    }
  }

  void TearDown() override {
    if (probe_) {
      const size_t attempts = probe_->attempts();
      EXPECT_THAT(probe_->Stop(), IsEmpty()) << "of " << attempts << " probes of /ready";
    }
    if (deliveries_) {
      const size_t attempts = deliveries_->attempts();
      EXPECT_THAT(deliveries_->Stop(), IsEmpty()) << "of " << attempts << " deliveries";
    }
    gate_.Open();
    if (server_) server_->Stop();
    EXPECT_LE(largest_body_.load(), server_ ? max_body_bytes_ : 0) << "the handler saw a body over the limit";
  }

  std::string Url(std::string_view path) const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }

  ServerResponse Handle(const ServerRequest& request) {
    largest_body_ = std::max(largest_body_.load(), request.body.size());
    if (request.path == "/ready") return ServerResponse::Json(200, R"({"status":"ready"})");
    if (request.path == "/slow") gate_.Pass();
    if (request.path == "/flood") ++flood_handled_;
    return ServerResponse{200, "text/plain", "handled " + request.path, {}};
  }

  // The head of a request that never ends: a header value too long to finish before the deadline.
  static std::string EndlessHead() { return "GET /slow-head HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(100000, 'a'); }
  static std::string SlowBodyHead() {
    return "POST /deliver HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60000\r\n\r\n";
  }
  static std::string Attacker(size_t n) { return "127.0.0." + std::to_string(2 + n); }
  // A source address no other connection of the test has used: for attacks whose every round
  // must meet the limit under test, not the per-address cap of the rounds before it (a refused
  // flood's connection lives on until the client stops sending).
  std::string FreshAttacker() {
    const size_t n = fresh_attackers_++;
    return "127.0." + std::to_string(2 + n / 250) + "." + std::to_string(1 + n % 250);
  }

  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  size_t max_body_bytes_ = TestLimits().max_body_bytes;
  std::unique_ptr<Repeat> probe_;
  std::unique_ptr<Repeat> deliveries_;
  Gate gate_;
  std::atomic<size_t> largest_body_{0};
  std::atomic<size_t> flood_handled_{0};
  std::atomic<size_t> fresh_attackers_{0};
};

// ---- Time: the deadline is absolute, trickling does not extend it ----

TEST_F(HttpServerAbuseTest, SlowHeaderClientsAreClosedAtTheDeadline) {
  ASSERT_NO_FATAL_FAILURE(Start(TestLimits()));
  // Twice as many as there are handler threads, a byte every 20 ms: each read restarts an
  // inactivity timer, none restarts the deadline.
  Attack attack(8, [this](std::stop_token stop, size_t client) {
    RawConnection connection(port_, Attacker(client));
    return connection.TrickleUntilClosed(EndlessHead(), 20ms, stop, 10s);
  });
  EXPECT_TRUE(PollUntil([&] { return attack.rounds_closed_by_server() >= 16 || attack.rounds_outlasted() > 0; }));
  LetTrafficRun();
  attack.Stop();
  EXPECT_EQ(attack.rounds_outlasted(), 0u) << "a slow head outlasted the deadline";
  EXPECT_GE(attack.rounds_closed_by_server(), 16u);
  EXPECT_GE(server_->stats().closed_at_deadline, 16u);
}

TEST_F(HttpServerAbuseTest, SlowBodyClientsAreClosedAtTheDeadline) {
  ASSERT_NO_FATAL_FAILURE(Start(TestLimits()));
  Attack attack(8, [this](std::stop_token stop, size_t client) {
    RawConnection connection(port_, Attacker(client));
    if (!connection.Send(SlowBodyHead())) return connection.closed();
    return connection.TrickleUntilClosed(std::string(100000, 'b'), 20ms, stop, 10s);
  });
  EXPECT_TRUE(PollUntil([&] { return attack.rounds_closed_by_server() >= 16 || attack.rounds_outlasted() > 0; }));
  LetTrafficRun();
  attack.Stop();
  EXPECT_EQ(attack.rounds_outlasted(), 0u) << "a slow body outlasted the deadline";
  EXPECT_GE(server_->stats().closed_at_deadline, 16u);
}

TEST_F(HttpServerAbuseTest, AnIdleKeepAliveConnectionIsClosedAtTheDeadline) {
  ASSERT_NO_FATAL_FAILURE(Start(TestLimits()));
  RawConnection connection(port_, Attacker(0));
  ASSERT_TRUE(connection.Send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_TRUE(connection.WaitClosed());
  EXPECT_EQ(connection.status(), 200);
}

// ---- Bodies: the limit holds however the body is framed ----

TEST_F(HttpServerAbuseTest, ChunkedBodiesFarOverTheLimitAre413) {
  HttpServerLimits limits = TestLimits();
  limits.request_deadline = 5s;  // time enough to send far more than the limit
  ASSERT_NO_FATAL_FAILURE(Start(limits));
  Attack attack(3, [this](std::stop_token, size_t) {
    RawConnection connection(port_, FreshAttacker());
    // Up to 64 MiB, a thousand times the limit, in 16 KiB chunks.
    const size_t sent = SendChunkedUntilAnswered(connection, "/flood", 16 << 10, 64 << 20);
    EXPECT_EQ(connection.status(), 413) << connection.received().substr(0, 200);
    EXPECT_LT(sent, size_t{64} << 20) << "the server read the whole body before answering";
    return connection.closed();
  });
  EXPECT_TRUE(PollUntil([&] { return attack.rounds_closed_by_server() >= 9 || attack.rounds_outlasted() > 0; }));
  LetTrafficRun();
  attack.Stop();
  EXPECT_EQ(attack.rounds_outlasted(), 0u);
  EXPECT_EQ(flood_handled_, 0u);
  EXPECT_GE(server_->stats().bodies_too_large, 9u);
}

TEST_F(HttpServerAbuseTest, ChunkedBodyInTinyChunksOverTheLimitIs413) {
  HttpServerLimits limits = TestLimits();
  limits.max_body_bytes = 1000;
  limits.request_deadline = 5s;
  max_body_bytes_ = limits.max_body_bytes;
  ASSERT_NO_FATAL_FAILURE(Start(limits));
  RawConnection connection(port_, Attacker(0));
  SendChunkedUntilAnswered(connection, "/flood", 1, 100000);
  EXPECT_EQ(connection.status(), 413) << connection.received().substr(0, 200);
  EXPECT_TRUE(connection.closed());
  EXPECT_EQ(flood_handled_, 0u);
}

TEST_F(HttpServerAbuseTest, AChunkedBodyWithinTheLimitReachesTheHandler) {
  ASSERT_NO_FATAL_FAILURE(Start(TestLimits()));
  RawConnection connection(port_, Attacker(0));
  SendChunkedUntilAnswered(connection, "/flood", 1000, 60000);
  EXPECT_EQ(connection.status(), 200) << connection.received().substr(0, 200);
  EXPECT_EQ(flood_handled_, 1u);
  EXPECT_EQ(largest_body_, 60000u);
}

TEST_F(HttpServerAbuseTest, ContentLengthOverTheLimitIs413BeforeTheBodyIsSent) {
  ASSERT_NO_FATAL_FAILURE(Start(TestLimits()));
  RawConnection connection(port_, Attacker(0));
  ASSERT_TRUE(connection.Send("POST /flood HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n"));
  EXPECT_TRUE(connection.WaitClosed());
  EXPECT_EQ(connection.status(), 413);
  EXPECT_EQ(flood_handled_, 0u);
}

TEST_F(HttpServerAbuseTest, BodiesHeldAtOnceAreCappedInAll) {
  HttpServerLimits limits = TestLimits();  // a body may be 64 KiB
  limits.max_buffered_body_bytes = 100 << 10;
  limits.request_deadline = 30s;
  ASSERT_NO_FATAL_FAILURE(Start(limits));
  // One body all but complete, held...
  RawConnection held(port_, Attacker(0));
  ASSERT_TRUE(held.Send("POST /flood HTTP/1.1\r\nHost: a\r\nContent-Length: 60000\r\n\r\n" + std::string(59999, 'a')));
  ASSERT_TRUE(PollUntil([&] { return server_->stats().body_bytes_held >= 59999; }));
  // ...leaves no room for a second one as large, though each is within max_body_bytes.
  RawConnection second(port_, Attacker(1));
  second.Send("POST /flood HTTP/1.1\r\nHost: a\r\nContent-Length: 60000\r\n\r\n" + std::string(60000, 'b'));
  EXPECT_TRUE(second.WaitClosed());
  EXPECT_EQ(second.status(), 503) << second.received();
  EXPECT_THAT(second.received(), HasSubstr("Retry-After: 1"));
  EXPECT_EQ(server_->stats().refused_bodies_full, 1u);
  LetTrafficRun();  // small deliveries still fit
  // The held one completes, and its room is given back.
  ASSERT_TRUE(held.Send("a"));
  EXPECT_TRUE(PollUntil([&] { held.ReadAvailable(); return held.status() != 0; }));
  EXPECT_EQ(held.status(), 200);
  EXPECT_TRUE(PollUntil([&] { return server_->stats().body_bytes_held == 0; }));
  RawConnection third(port_, Attacker(2));
  third.Send("POST /flood HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 60000\r\n\r\n" +
             std::string(60000, 'c'));
  EXPECT_TRUE(third.WaitClosed());
  EXPECT_EQ(third.status(), 200);
  EXPECT_EQ(flood_handled_, 2u);
}

// ---- Heads ----

TEST_F(HttpServerAbuseTest, AHeadOverTheLimitIs431AndOneWithinItIsServed) {
  log::ScopedCapture capture;
  ASSERT_NO_FATAL_FAILURE(Start(TestLimits()));  // max_head_bytes 4 KiB
  RawConnection big(port_, Attacker(0));
  big.Send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(16 << 10, 'h') + "\r\n\r\n");
  EXPECT_TRUE(big.WaitClosed());
  EXPECT_EQ(big.status(), 431) << big.received().substr(0, 200);

  RawConnection many(port_, Attacker(1));
  std::string head = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 1000; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
  many.Send(head + "\r\n");
  EXPECT_TRUE(many.WaitClosed());
  EXPECT_EQ(many.status(), 431) << many.received().substr(0, 200);

  RawConnection long_target(port_, Attacker(3));
  long_target.Send("GET /" + std::string(16 << 10, 't') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(long_target.WaitClosed());
  EXPECT_EQ(long_target.status(), 414) << long_target.received().substr(0, 200);

  // libmicrohttpd's own refusals are logged (once per kind and interval).
  size_t lines = 0;
  for (const log::Line& line : capture.lines()) {
    if (line.text.find("libmicrohttpd") != std::string::npos && line.text.find("431") != std::string::npos) ++lines;
  }
  EXPECT_EQ(lines, 1u);

  RawConnection fine(port_, Attacker(2));
  fine.Send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Fine: " + std::string(1500, 'f') + "\r\n\r\n");
  EXPECT_TRUE(fine.WaitClosed());
  EXPECT_EQ(fine.status(), 200);
}

// ---- Connections: in total and per client address ----

TEST_F(HttpServerAbuseTest, TwoHundredIdleConnectionsNeitherExceedTheCapNorStopTheProbe) {
  ASSERT_NO_FATAL_FAILURE(Start(TestLimits()));  // 64 connections, 16 per address
  std::vector<RawConnection> idle;
  for (size_t i = 0; i < 200; ++i) {
    idle.emplace_back(port_, "127.0.1." + std::to_string(1 + i / 16));
    ASSERT_TRUE(idle.back().connected()) << i;
  }
  LetTrafficRun();
  EXPECT_LE(server_->stats().open_connections, 64u);
  // Idle connections are the first to go: each one is closed, by a newer connection or its deadline.
  for (RawConnection& connection : idle) EXPECT_TRUE(connection.WaitClosed());
  EXPECT_GE(server_->stats().evicted + server_->stats().refused_at_total_cap, 200u - 64u);
}

TEST_F(HttpServerAbuseTest, ConnectionsOverThePerAddressCapAre503) {
  HttpServerLimits limits = TestLimits();
  limits.max_connections_per_address = 4;
  limits.request_deadline = 30s;  // the four must stay open while the fifth arrives
  ASSERT_NO_FATAL_FAILURE(Start(limits));
  std::vector<RawConnection> held;
  for (int i = 0; i < 4; ++i) {
    held.emplace_back(port_, Attacker(0));
    ASSERT_TRUE(held.back().Send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  }
  // Each answered and kept open: they count.
  for (RawConnection& connection : held) {
    EXPECT_TRUE(PollUntil([&] { connection.ReadAvailable(); return connection.status() != 0; }));
    EXPECT_EQ(connection.status(), 200);
  }
  RawConnection fifth(port_, Attacker(0));
  EXPECT_TRUE(fifth.WaitClosed());
  EXPECT_EQ(fifth.status(), 503) << fifth.received();
  EXPECT_EQ(server_->stats().refused_at_address_cap, 1u);
  // Another address is served.
  RawConnection other(port_, Attacker(1));
  other.Send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(other.WaitClosed());
  EXPECT_EQ(other.status(), 200);
  LetTrafficRun();
  for (RawConnection& connection : held) {
    connection.ReadAvailable();
    EXPECT_FALSE(connection.closed());
  }
}

TEST_F(HttpServerAbuseTest, WhenFullTheConnectionWaitingLongestForItsRequestMakesRoom) {
  HttpServerLimits limits = TestLimits();
  limits.max_connections = 4;
  limits.request_deadline = 30s;
  ASSERT_NO_FATAL_FAILURE(Start(limits, 4, {.probe = false, .deliveries = false}));
  std::vector<RawConnection> idle;
  for (size_t i = 0; i < 4; ++i) {
    idle.emplace_back(port_, Attacker(i));
    // In order: each is known to the server before the next one comes.
    ASSERT_TRUE(PollUntil([&] { return server_->stats().open_connections == i + 1; }));
  }
  EXPECT_EQ(RequestOnce(port_, "GET", "/x"), 200);
  EXPECT_TRUE(idle[0].WaitClosed()) << "the oldest idle connection stays";
  EXPECT_EQ(idle[0].received(), "");
  EXPECT_EQ(server_->stats().evicted, 1u);
  for (size_t i = 1; i < 4; ++i) {
    idle[i].ReadAvailable();
    EXPECT_FALSE(idle[i].closed()) << i;
  }
}

TEST_F(HttpServerAbuseTest, WhenFullTheClientHoldingMostConnectionsMakesRoom) {
  HttpServerLimits limits = TestLimits();
  limits.max_connections = 4;
  // Its grace, a tenth, is 30 s: however slowly this test runs, none of the four has waited past
  // it, so none goes ahead of the others for having waited long (connection_table_test.cc).
  limits.request_deadline = 300s;
  ASSERT_NO_FATAL_FAILURE(Start(limits, 4, {.probe = false, .deliveries = false}));
  // The oldest connection is alone on its address; three newer ones share another.
  std::vector<RawConnection> idle;
  for (size_t i = 0; i < 4; ++i) {
    idle.emplace_back(port_, Attacker(i == 0 ? 0 : 1));
    ASSERT_TRUE(PollUntil([&] { return server_->stats().open_connections == i + 1; }));
  }
  EXPECT_EQ(RequestOnce(port_, "GET", "/x"), 200);
  EXPECT_TRUE(idle[1].WaitClosed()) << "the oldest of the address holding three stays";
  // Room is made when the new connection is admitted, all at once: the others are open now.
  for (const size_t i : {size_t{0}, size_t{2}, size_t{3}}) {
    idle[i].ReadAvailable();
    EXPECT_FALSE(idle[i].closed()) << i;
  }
  EXPECT_EQ(server_->stats().evicted, 1u);
}

// What made ChunkedBodiesFarOverTheLimitAre413 flaky under load: refused floods still draining
// filled the server, each from an address of its own, while the probe's address held two
// connections (the last one not yet closed, the new one with its request on its way); the probe's
// was closed to make room. A refused client, whose connection is only left open, makes room first.
TEST_F(HttpServerAbuseTest, WhenFullARefusedClientMakesRoomBeforeAClientAboutToAsk) {
  HttpServerLimits limits = TestLimits();
  limits.max_connections = 4;
  limits.request_deadline = 30s;  // the refused ones drain until their clients stop, or 30 s
  ASSERT_NO_FATAL_FAILURE(Start(limits, 4, {.probe = false, .deliveries = false}));
  std::vector<RawConnection> refused;
  for (size_t i = 0; i < 2; ++i) {
    refused.emplace_back(port_, Attacker(i));
    // Answered 413 and our side closed; the client keeps its side open.
    SendChunkedUntilAnswered(refused.back(), "/flood", 16 << 10, 64 << 20);
    ASSERT_EQ(refused.back().status(), 413);
  }
  RawConnection asking(port_);
  RawConnection next(port_);
  ASSERT_TRUE(PollUntil([&] { return server_->stats().open_connections == 4; }));
  RawConnection newcomer(port_, Attacker(2));
  ASSERT_TRUE(PollUntil([&] { return server_->stats().evicted == 1; }));
  // The two from 127.0.0.1 are served; their requests only now arrive.
  for (RawConnection* connection : {&asking, &next}) {
    ASSERT_TRUE(connection->Send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    EXPECT_TRUE(connection->WaitClosed());
    EXPECT_EQ(connection->status(), 200) << connection->received();
  }
  newcomer.ReadAvailable();
  EXPECT_FALSE(newcomer.closed());
}

TEST_F(HttpServerAbuseTest, WhenFullOfRequestsBeingAnsweredANewConnectionIs503) {
  HttpServerLimits limits = TestLimits();
  limits.max_connections = 2;
  limits.request_deadline = 30s;
  ASSERT_NO_FATAL_FAILURE(Start(limits, 2, {.probe = false, .deliveries = false}));
  std::vector<RawConnection> busy;
  for (size_t i = 0; i < 2; ++i) {
    busy.emplace_back(port_, Attacker(i));
    ASSERT_TRUE(busy.back().Send("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  }
  ASSERT_TRUE(PollUntil([&] { return gate_.waiting() == 2; }));
  RawConnection third(port_, Attacker(2));
  EXPECT_TRUE(third.WaitClosed());
  EXPECT_EQ(third.status(), 503);
  EXPECT_EQ(server_->stats().refused_at_total_cap, 1u);
  gate_.Open();
  for (RawConnection& connection : busy) {
    EXPECT_TRUE(PollUntil([&] { connection.ReadAvailable(); return connection.status() != 0; }));
    EXPECT_EQ(connection.status(), 200);
  }
}

// ---- Handlers: a stuck one holds up neither the probe nor the reading of requests ----

TEST_F(HttpServerAbuseTest, StuckHandlersDoNotHoldUpInlinePathsAndAFullQueueIs503) {
  HttpServerLimits limits = TestLimits();
  limits.max_queued_requests = 1;
  limits.request_deadline = 30s;
  ASSERT_NO_FATAL_FAILURE(Start(limits, 1, {.probe = true, .deliveries = false}));
  RawConnection running(port_, Attacker(0));
  ASSERT_TRUE(running.Send("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(PollUntil([&] { return gate_.waiting() == 1; }));
  RawConnection queued(port_, Attacker(1));
  ASSERT_TRUE(queued.Send("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  // The queue holds one: the next is refused at once.
  RawConnection refused(port_, Attacker(2));
  ASSERT_TRUE(refused.Send("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_TRUE(PollUntil([&] { refused.ReadAvailable(); return refused.status() != 0; }));
  EXPECT_EQ(refused.status(), 503);
  EXPECT_THAT(refused.received(), HasSubstr("Retry-After: 1"));
  EXPECT_EQ(server_->stats().refused_queue_full, 1u);
  LetTrafficRun();  // /ready is answered throughout
  gate_.Open();
  for (RawConnection* connection : {&running, &queued}) {
    EXPECT_TRUE(PollUntil([&] { connection->ReadAvailable(); return connection->status() != 0; }));
    EXPECT_EQ(connection->status(), 200);
  }
}

// ---- Everything at once ----

TEST_F(HttpServerAbuseTest, EveryAttackAtOnce) {
  HttpServerLimits limits = TestLimits();
  limits.max_connections = 128;
  ASSERT_NO_FATAL_FAILURE(Start(limits));
  Attack slow_heads(4, [this](std::stop_token stop, size_t client) {
    RawConnection connection(port_, Attacker(client));
    return connection.TrickleUntilClosed(EndlessHead(), 20ms, stop, 10s);
  });
  Attack slow_bodies(4, [this](std::stop_token stop, size_t client) {
    RawConnection connection(port_, Attacker(4 + client));
    if (!connection.Send(SlowBodyHead())) return connection.closed();
    return connection.TrickleUntilClosed(std::string(100000, 'b'), 20ms, stop, 10s);
  });
  Attack floods(2, [this](std::stop_token, size_t client) {
    RawConnection connection(port_, Attacker(8 + client));
    SendChunkedUntilAnswered(connection, "/flood", 16 << 10, 64 << 20);
    return connection.closed();
  });
  std::vector<RawConnection> idle;
  for (size_t i = 0; i < 200; ++i) idle.emplace_back(port_, "127.0.1." + std::to_string(1 + i / 16));
  EXPECT_TRUE(PollUntil([&] {
    return slow_heads.rounds_closed_by_server() >= 8 && slow_bodies.rounds_closed_by_server() >= 8 &&
           floods.rounds_closed_by_server() >= 4;
  }));
  LetTrafficRun(10);
  for (RawConnection& connection : idle) EXPECT_TRUE(connection.WaitClosed());
  for (Attack* attack : {&slow_heads, &slow_bodies, &floods}) {
    attack->Stop();
    EXPECT_EQ(attack->rounds_outlasted(), 0u);
  }
  EXPECT_EQ(flood_handled_, 0u);
}

// ---- Refusals are logged, but not once per attacker ----

TEST_F(HttpServerAbuseTest, EachKindOfRefusalIsLoggedAtMostOncePerInterval) {
  log::ScopedCapture capture;
  HttpServerLimits limits = TestLimits();
  limits.max_connections_per_address = 1;
  limits.request_deadline = 30s;
  ASSERT_NO_FATAL_FAILURE(Start(limits, 4, {.probe = false, .deliveries = false}));
  RawConnection held(port_, Attacker(0));
  ASSERT_TRUE(PollUntil([&] { return server_->stats().open_connections == 1; }));
  for (int i = 0; i < 50; ++i) {
    RawConnection refused(port_, Attacker(0));
    EXPECT_TRUE(refused.WaitClosed());
  }
  EXPECT_EQ(server_->stats().refused_at_address_cap, 50u);
  size_t lines = 0;
  for (const log::Line& line : capture.lines()) {
    if (line.text.find("max_connections_per_address") != std::string::npos) ++lines;
  }
  EXPECT_EQ(lines, 1u);
}

}  // namespace
}  // namespace fraiseql
