// HttpReceiver: a real HTTP/1.1 server on 127.0.0.1 (ephemeral port) for tests, whose answers
// are scripted per request: status sequences, delays, Retry-After, connection resets, slow bodies.
// Every request is recorded exactly as received. Keep-alive and concurrent connections work.
// Thread-safety: every method may be called from any thread while the server runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/header.h"

namespace fraiseql::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;  // path and query, as in the request line
  std::vector<HttpHeaderLine> headers;
  std::string body;
  std::chrono::steady_clock::time_point received_at;  // when the whole request had arrived

  // The first header of that name, compared case-insensitively.
  std::optional<std::string> Header(std::string_view name) const;
};

struct ScriptedReply {
  enum class Kind {
    kRespond,  // send status, headers, body
    kReset,    // close the connection without answering (RST via SO_LINGER 0)
  };
  Kind kind = Kind::kRespond;
  int status = 200;
  std::vector<HttpHeaderLine> headers;  // Content-Length is added unless given here
  std::string body;
  std::chrono::milliseconds delay{0};  // wait this long after the request before answering
  // When > 0, the body is sent one byte at a time with this pause between bytes.
  std::chrono::milliseconds body_byte_delay{0};
  // Answer only once HttpReceiver::OpenGate() was called: a test sees requests in flight without
  // relying on how long anything takes.
  bool wait_for_gate = false;

  static ScriptedReply Status(int status) { return ScriptedReply{Kind::kRespond, status, {}, {}, {}, {}, false}; }
  static ScriptedReply Reset() { return ScriptedReply{Kind::kReset, 0, {}, {}, {}, {}, false}; }
};

class HttpReceiver {
 public:
  // Binds 127.0.0.1 on an ephemeral port and starts serving. Aborts the test on failure.
  HttpReceiver();
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  uint16_t port() const;
  // "http://127.0.0.1:<port><path>".
  std::string url(std::string_view path = "/") const;

  // Replies for the next requests, in arrival order; after they are used up, the default.
  // Appended after any scripted replies not used yet.
  void Script(std::vector<ScriptedReply> replies);
  // The reply once the script is used up; initially 200 with an empty body.
  void SetDefault(ScriptedReply reply);

  std::vector<ReceivedRequest> requests() const;
  size_t request_count() const;
  // Polls until at least `count` requests were recorded or `timeout` passed; true if reached.
  bool WaitForRequests(size_t count, std::chrono::milliseconds timeout) const;
  // Connections accepted so far (keep-alive reuse shows as fewer connections than requests).
  size_t connection_count() const;
  // Lets every reply with wait_for_gate go, now and from now on.
  void OpenGate();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fraiseql::testing
