// RoundRobinHttpClient: one HttpClient over several, each request to the next in turn, so the HTTP
// work of a busy daemon (libcurl's, and the callbacks that run on each engine's thread) uses more
// than one core. Each CurlEngine keeps its own kept-alive connections.
// Thread-safety: Send() from any thread; callbacks run on the thread of the client that took it.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "http/http_client.h"

namespace fraiseql {

class RoundRobinHttpClient final : public HttpClient {
 public:
  // REQUIRES: `clients` is not empty and holds no null.
  explicit RoundRobinHttpClient(std::vector<std::unique_ptr<HttpClient>> clients);
  // Destroys the clients in order (each fails what it has not finished, see its own header).
  ~RoundRobinHttpClient() override = default;

  void Send(HttpRequest request, Callback on_done) override;
  size_t size() const { return clients_.size(); }

 private:
  std::vector<std::unique_ptr<HttpClient>> clients_;
  std::atomic<size_t> next_{0};
};

}  // namespace fraiseql
