// Tests for HttpReceiver, driven by plain POSIX sockets so they do not depend on the curl engine
// the receiver exists to test. No assertion depends on how fast the machine is.
// Thread-safety: each test owns its receiver and sockets.
#include "testing/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fraiseql::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

// Generous: these bound a hang, they are never what a test measures.
constexpr milliseconds kTimeout{10000};

class ClientSocket {
 public:
  explicit ClientSocket(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    EXPECT_GE(fd_, 0) << "socket: " << std::strerror(errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0)
        << "connect: " << std::strerror(errno);
    // Bounds every recv() so a receiver bug fails the test instead of hanging it.
    const timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~ClientSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  int fd() const { return fd_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << "send: " << std::strerror(errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Appends what recv() gives; the byte count, 0 on EOF, -1 on error (errno set).
  ssize_t Recv() {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
    return n;
  }

  // True when bytes (or EOF) are ready right now, without waiting.
  bool Readable() {
    if (!buffer_.empty()) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  struct Response {
    int status = 0;
    std::string status_line;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::optional<std::string> Header(std::string_view name) const {
      for (const auto& [n, v] : headers) {
        if (n == name) return v;
      }
      return std::nullopt;
    }
  };

  // One response framed by Content-Length; nullopt when the connection ended first.
  std::optional<Response> ReadResponse() {
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (Recv() <= 0) return std::nullopt;
    }
    Response response;
    std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    size_t pos = head.find("\r\n");
    response.status_line = head.substr(0, pos);
    response.status = std::atoi(response.status_line.substr(9, 3).c_str());
    size_t content_length = 0;
    while (pos != std::string::npos) {
      const size_t start = pos + 2;
      pos = head.find("\r\n", start);
      const std::string line = head.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
      const size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::string value = line.substr(colon + 2);
      if (name == "Content-Length") content_length = std::stoul(value);
      response.headers.emplace_back(std::move(name), std::move(value));
    }
    while (buffer_.size() < content_length) {
      if (Recv() <= 0) return std::nullopt;
    }
    response.body = buffer_.substr(0, content_length);
    buffer_.erase(0, content_length);
    return response;
  }

  // Reads until the peer closes; true on an orderly EOF, false on a reset. Bytes are kept.
  bool ReadToEnd(int* error) {
    for (;;) {
      const ssize_t n = Recv();
      if (n == 0) return true;
      if (n < 0) {
        *error = errno;
        return false;
      }
    }
  }

  const std::string& buffered() const { return buffer_; }

 private:
  int fd_;
  std::string buffer_;
};

constexpr std::string_view kSimpleGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

TEST(HttpReceiverTest, UrlNamesTheEphemeralPort) {
  HttpReceiver receiver;
  EXPECT_NE(receiver.port(), 0);
  EXPECT_EQ(receiver.url("/hook"), "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook");
  EXPECT_EQ(receiver.url(), "http://127.0.0.1:" + std::to_string(receiver.port()) + "/");
}

TEST(HttpReceiverTest, RecordsRequestExactlyAsReceived) {
  HttpReceiver receiver;
  ClientSocket client(receiver.port());
  client.Send(
      "POST /hooks/orders?x=1&y=%20 HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\n"
      "X-Custom:   spaced value  \r\n"
      "content-type: application/json\r\n"
      "X-Custom: second\r\n"
      "Content-Length: 14\r\n"
      "\r\n"
      "{\"a\":\"\\u00e9\"}");
  const std::optional<ClientSocket::Response> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response->body, "");

  ASSERT_EQ(receiver.request_count(), 1u);
  const ReceivedRequest request = receiver.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hooks/orders?x=1&y=%20");
  EXPECT_THAT(request.headers, ElementsAre(HttpHeaderLine{"Host", "127.0.0.1"},
                                           HttpHeaderLine{"X-Custom", "spaced value"},
                                           HttpHeaderLine{"content-type", "application/json"},
                                           HttpHeaderLine{"X-Custom", "second"},
                                           HttpHeaderLine{"Content-Length", "14"}));
  EXPECT_EQ(request.body, "{\"a\":\"\\u00e9\"}");
  EXPECT_EQ(request.Header("x-custom"), "spaced value");
  EXPECT_EQ(request.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(request.Header("Missing"), std::nullopt);
  EXPECT_NE(request.received_at, std::chrono::steady_clock::time_point{});
}

TEST(HttpReceiverTest, ScriptedStatusesInOrderThenDefault) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Status(503), ScriptedReply::Status(500)});
  ScriptedReply fallback = ScriptedReply::Status(202);
  fallback.body = "accepted";
  receiver.SetDefault(fallback);

  ClientSocket client(receiver.port());
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    client.Send(kSimpleGet);
    const std::optional<ClientSocket::Response> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << "request " << i;
    statuses.push_back(response->status);
    if (i >= 2) {
      EXPECT_EQ(response->body, "accepted");
    }
  }
  EXPECT_THAT(statuses, ElementsAre(503, 500, 202, 202));
}

TEST(HttpReceiverTest, ScriptIsSharedAcrossConnectionsInArrivalOrder) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Status(500), ScriptedReply::Status(404)});
  ClientSocket first(receiver.port());
  first.Send(kSimpleGet);
  ASSERT_TRUE(receiver.WaitForRequests(1, kTimeout));
  ClientSocket second(receiver.port());
  second.Send(kSimpleGet);
  const auto second_response = second.ReadResponse();
  const auto first_response = first.ReadResponse();
  ASSERT_TRUE(first_response.has_value());
  ASSERT_TRUE(second_response.has_value());
  EXPECT_EQ(first_response->status, 500);
  EXPECT_EQ(second_response->status, 404);
  EXPECT_EQ(receiver.connection_count(), 2u);
}

TEST(HttpReceiverTest, ReturnsScriptedHeadersSuchAsRetryAfter) {
  HttpReceiver receiver;
  ScriptedReply throttled = ScriptedReply::Status(429);
  throttled.headers = {{"Retry-After", "7"}, {"X-Trace", "abc"}};
  throttled.body = "slow down";
  receiver.Script({throttled});

  ClientSocket client(receiver.port());
  client.Send(kSimpleGet);
  const std::optional<ClientSocket::Response> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status_line, "HTTP/1.1 429 Too Many Requests");
  EXPECT_EQ(response->Header("Retry-After"), "7");
  EXPECT_EQ(response->Header("X-Trace"), "abc");
  EXPECT_EQ(response->Header("Content-Length"), "9");
  EXPECT_EQ(response->body, "slow down");
}

TEST(HttpReceiverTest, KeepAliveServesTwoRequestsOnOneConnection) {
  HttpReceiver receiver;
  ClientSocket client(receiver.port());
  client.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none");
  ASSERT_TRUE(client.ReadResponse().has_value());
  client.Send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo");
  ASSERT_TRUE(client.ReadResponse().has_value());

  EXPECT_EQ(receiver.connection_count(), 1u);
  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/a");
  EXPECT_EQ(requests[0].body, "one");
  EXPECT_EQ(requests[1].target, "/b");
  EXPECT_EQ(requests[1].body, "two");
}

TEST(HttpReceiverTest, PipelinedRequestsAreAnsweredInOrder) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Status(201), ScriptedReply::Status(204)});
  ClientSocket client(receiver.port());
  client.Send(
      "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
      "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto first = client.ReadResponse();
  const auto second = client.ReadResponse();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->status, 201);
  EXPECT_EQ(second->status, 204);
  ASSERT_EQ(receiver.request_count(), 2u);
  EXPECT_EQ(receiver.requests()[1].target, "/2");
}

TEST(HttpReceiverTest, ConnectionCloseFromClientIsHonoured) {
  HttpReceiver receiver;
  ClientSocket client(receiver.port());
  client.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("Connection"), "close");
  int error = 0;
  EXPECT_TRUE(client.ReadToEnd(&error)) << std::strerror(error);
  EXPECT_EQ(client.buffered(), "");
}

TEST(HttpReceiverTest, ResetClosesTheConnectionWithoutAResponse) {
  HttpReceiver receiver;
  receiver.Script({ScriptedReply::Reset()});
  ClientSocket client(receiver.port());
  client.Send(kSimpleGet);
  int error = 0;
  EXPECT_FALSE(client.ReadToEnd(&error)) << "expected a reset, got an orderly close";
  EXPECT_EQ(error, ECONNRESET) << std::strerror(error);
  EXPECT_EQ(client.buffered(), "");
  // The request is still recorded: a test can check what was sent before the reset.
  EXPECT_EQ(receiver.request_count(), 1u);

  // The script is used up; a new connection gets the default.
  ClientSocket next(receiver.port());
  next.Send(kSimpleGet);
  const auto response = next.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST(HttpReceiverTest, DelayedReplyComesAfterAnUndelayedOneSentLater) {
  HttpReceiver receiver;
  ScriptedReply slow = ScriptedReply::Status(200);
  slow.body = "slow";
  // Long enough that the fast exchange below finishes first on any machine.
  slow.delay = milliseconds(1500);
  ScriptedReply fast = ScriptedReply::Status(200);
  fast.body = "fast";
  receiver.Script({slow, fast});

  ClientSocket slow_client(receiver.port());
  slow_client.Send(kSimpleGet);
  ASSERT_TRUE(receiver.WaitForRequests(1, kTimeout));
  ClientSocket fast_client(receiver.port());
  fast_client.Send(kSimpleGet);
  const auto fast_response = fast_client.ReadResponse();
  ASSERT_TRUE(fast_response.has_value());
  EXPECT_EQ(fast_response->body, "fast");
  EXPECT_FALSE(slow_client.Readable()) << "the delayed reply came before the undelayed one";

  const auto slow_response = slow_client.ReadResponse();
  ASSERT_TRUE(slow_response.has_value());
  EXPECT_EQ(slow_response->body, "slow");
}

TEST(HttpReceiverTest, DelayedRequestsOnSeparateConnectionsAreHandledConcurrently) {
  HttpReceiver receiver;
  ScriptedReply slow = ScriptedReply::Status(200);
  slow.delay = milliseconds(1500);
  receiver.SetDefault(slow);

  std::vector<std::unique_ptr<ClientSocket>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<ClientSocket>(receiver.port()));
    clients.back()->Send(kSimpleGet);
  }
  // A server answering one connection at a time could not record the second request before
  // the first reply went out.
  ASSERT_TRUE(receiver.WaitForRequests(5, kTimeout));
  for (auto& client : clients) EXPECT_FALSE(client->Readable());
  for (auto& client : clients) {
    const auto response = client->ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(receiver.connection_count(), 5u);
}

TEST(HttpReceiverTest, ManyConcurrentConnections) {
  HttpReceiver receiver;
  // Each connection costs two fds in this process (client and server end); stay under the limit.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const int kConnections = static_cast<int>(std::min<rlim_t>(1000, (limit.rlim_cur - 64) / 2));
  std::vector<std::unique_ptr<ClientSocket>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<ClientSocket>(receiver.port()));
    clients.back()->Send(kSimpleGet);
  }
  for (auto& client : clients) {
    const auto response = client->ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(receiver.connection_count(), static_cast<size_t>(kConnections));
  EXPECT_EQ(receiver.request_count(), static_cast<size_t>(kConnections));
}

TEST(HttpReceiverTest, SlowBodyArrivesComplete) {
  HttpReceiver receiver;
  ScriptedReply trickle = ScriptedReply::Status(200);
  trickle.body = "abcdef";
  trickle.body_byte_delay = milliseconds(5);
  receiver.Script({trickle});
  ClientSocket client(receiver.port());
  client.Send(kSimpleGet);
  const auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("Content-Length"), "6");
  EXPECT_EQ(response->body, "abcdef");
}

TEST(HttpReceiverTest, ChunkedRequestBodyIsDecoded) {
  HttpReceiver receiver;
  ClientSocket client(receiver.port());
  // Sent in pieces that split the size lines and the data, as a real client's writes may.
  client.Send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r");
  ASSERT_FALSE(receiver.WaitForRequests(1, milliseconds(20)));
  client.Send("\nhel");
  client.Send("lo\r\nB;ext=1\r\n world and \r\n1a\r\n");
  client.Send("abcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n");
  ASSERT_TRUE(client.ReadResponse().has_value());
  // The connection stays in step: a second request on it is parsed from the right place.
  client.Send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(client.ReadResponse().has_value());

  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, "hello world and abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(requests[0].Header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(requests[1].target, "/after");
  EXPECT_EQ(receiver.connection_count(), 1u);
}

TEST(HttpReceiverTest, ExpectContinueGetsAnInterimResponse) {
  HttpReceiver receiver;
  ClientSocket client(receiver.port());
  client.Send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  const auto interim = client.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  client.Send("body");
  const auto final_response = client.ReadResponse();
  ASSERT_TRUE(final_response.has_value());
  EXPECT_EQ(final_response->status, 200);
  EXPECT_EQ(receiver.requests()[0].body, "body");
}

TEST(HttpReceiverTest, WaitForRequestsTimesOutWhenNothingArrives) {
  HttpReceiver receiver;
  EXPECT_FALSE(receiver.WaitForRequests(1, milliseconds(10)));
  EXPECT_TRUE(receiver.WaitForRequests(0, milliseconds(0)));
}

// The check is that these tests finish: a destructor that waited for the client would hang.
TEST(HttpReceiverTest, DestructorReturnsWhileAClientHoldsAConnectionOpen) {
  auto receiver = std::make_unique<HttpReceiver>();
  ClientSocket idle(receiver->port());  // connected, never sends
  ClientSocket kept(receiver->port());
  kept.Send(kSimpleGet);
  ASSERT_TRUE(kept.ReadResponse().has_value());
  ClientSocket partial(receiver->port());
  partial.Send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part");
  ASSERT_TRUE(receiver->WaitForRequests(1, kTimeout));
  receiver.reset();
  int error = 0;
  kept.ReadToEnd(&error);  // closed by the destructor, one way or the other
}

TEST(HttpReceiverTest, DestructorInterruptsADelayInProgress) {
  auto receiver = std::make_unique<HttpReceiver>();
  ScriptedReply never = ScriptedReply::Status(200);
  never.delay = std::chrono::hours(1);
  receiver->Script({never});
  ClientSocket client(receiver->port());
  client.Send(kSimpleGet);
  ASSERT_TRUE(receiver->WaitForRequests(1, kTimeout));
  receiver.reset();
  EXPECT_FALSE(client.ReadResponse().has_value());
}

TEST(HttpReceiverTest, DestructorInterruptsASlowBody) {
  auto receiver = std::make_unique<HttpReceiver>();
  ScriptedReply trickle = ScriptedReply::Status(200);
  trickle.body = std::string(1000, 'x');
  trickle.body_byte_delay = std::chrono::hours(1);
  receiver->Script({trickle});
  ClientSocket client(receiver->port());
  client.Send(kSimpleGet);
  ASSERT_TRUE(receiver->WaitForRequests(1, kTimeout));
  receiver.reset();
  EXPECT_FALSE(client.ReadResponse().has_value());
}

}  // namespace
}  // namespace fraiseql::testing
