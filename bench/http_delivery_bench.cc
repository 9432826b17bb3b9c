// http_delivery_bench: how many requests a second the curl engine delivers to a local receiver,
// keeping a fixed number in flight, to be read against wrk's rate on the same receiver.
// Thread-safety: the main thread waits; all sending after the first window is from callbacks.
//
// Usage: http_delivery_bench --url http://127.0.0.1:PORT/ [--requests N] [--concurrency C]
//                            [--method M] [--body-bytes B] [--warmup N] [--engines E]
// --engines E (default 1) shares the load round-robin over E engines, E threads: the engine is
// one thread by design, and this shows what a daemon running several would get.
// scripts/bench-http starts bench/fast_http_receiver, runs wrk and then this, and prints both.
// A plain program rather than Google Benchmark: one long closed-loop run is the measurement,
// and its shape (concurrency, keep-alive) is what wrk's is.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "http/curl_engine.h"

namespace fraiseql {
namespace {

struct Flags {
  std::string url;
  size_t requests = 100000;
  size_t concurrency = 64;
  size_t warmup = 2000;
  std::string method = "GET";
  size_t body_bytes = 0;
  size_t engines = 1;
};

std::optional<size_t> ParseCount(const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') return std::nullopt;
  return static_cast<size_t>(value);
}

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    const char* value = argv[++i];
    std::optional<size_t> count;
    if (flag == "--url") {
      flags.url = value;
      continue;
    }
    if (flag == "--method") {
      flags.method = value;
      continue;
    }
    count = ParseCount(value);
    if (!count) return std::nullopt;
    if (flag == "--requests") {
      flags.requests = *count;
    } else if (flag == "--concurrency") {
      flags.concurrency = *count;
    } else if (flag == "--warmup") {
      flags.warmup = *count;
    } else if (flag == "--body-bytes") {
      flags.body_bytes = *count;
    } else if (flag == "--engines") {
      flags.engines = *count;
    } else {
      return std::nullopt;
    }
  }
  if (flags.url.empty() || flags.concurrency == 0 || flags.engines == 0) return std::nullopt;
  return flags;
}

// Keeps `concurrency` requests in flight until `total` have been sent: each completion sends the
// next from its callback, as a delivery worker feeding the engine would.
class ClosedLoop {
 public:
  // Request i goes to clients[i % clients.size()].
  ClosedLoop(std::vector<HttpClient*> clients, HttpRequest request, size_t total)
      : clients_(std::move(clients)), request_(std::move(request)), total_(total) {}

  // Returns the wall time taken, or nullopt if the run did not finish within `limit`.
  std::optional<std::chrono::duration<double>> Run(size_t concurrency, std::chrono::seconds limit) {
    const auto start = std::chrono::steady_clock::now();
    const size_t window = std::min(concurrency, total_);
    {
      MutexLock lock(&mu_);
      sent_ = window;
    }
    for (size_t i = 0; i < window; ++i) SendOne(i);
    MutexLock lock(&mu_);
    const auto deadline = start + limit;
    while (done_ < total_) {
      if (!mu_.WaitUntil(cv_, deadline) && done_ < total_) return std::nullopt;
    }
    return std::chrono::steady_clock::now() - start;
  }

  size_t failures() {
    MutexLock lock(&mu_);
    return failures_;
  }
  std::string first_failure() {
    MutexLock lock(&mu_);
    return first_failure_;
  }

 private:
  void SendOne(size_t index) {
    clients_[index % clients_.size()]->Send(request_, [this](HttpResult result) { OnDone(result); });
  }

  void OnDone(const HttpResult& result) {
    bool send_next = false;
    size_t next = 0;
    {
      MutexLock lock(&mu_);
      ++done_;
      if (!result.ok() || result.response.status != 200) {
        if (failures_++ == 0) {
          first_failure_ = result.ok() ? "status " + std::to_string(result.response.status)
                                       : std::string(TransportFailureName(result.failure)) + ": " + result.error;
        }
      }
      if (sent_ < total_) {
        next = sent_++;
        send_next = true;
      }
      if (done_ == total_) cv_.notify_all();
    }
    if (send_next) SendOne(next);
  }

  const std::vector<HttpClient*> clients_;
  const HttpRequest request_;
  const size_t total_;
  Mutex mu_;
  std::condition_variable cv_;
  size_t sent_ GUARDED_BY(mu_) = 0;
  size_t done_ GUARDED_BY(mu_) = 0;
  size_t failures_ GUARDED_BY(mu_) = 0;
  std::string first_failure_ GUARDED_BY(mu_);
};

int Main(int argc, char** argv) {
  const std::optional<Flags> flags = ParseFlags(argc, argv);
  if (!flags) {
    std::fprintf(stderr,
                 "usage: http_delivery_bench --url http://127.0.0.1:PORT/ [--requests N] [--concurrency C]\n"
                 "                           [--method M] [--body-bytes B] [--warmup N]\n");
    return 2;
  }
  const std::vector<std::string> allow = {"127.0.0.0/8", "::1/128"};
  Result<SsrfGuard> guard = SsrfGuard::Create(allow);
  if (!guard) return 1;
  std::vector<std::unique_ptr<CurlEngine>> engines;
  std::vector<HttpClient*> clients;
  for (size_t i = 0; i < flags->engines; ++i) {
    CurlEngineOptions options;
    options.guard = *guard;
    // One connection per request in flight, as wrk -c opens.
    const size_t share = (flags->concurrency + flags->engines - 1) / flags->engines;
    options.max_connections_per_host = static_cast<uint32_t>(share);
    options.max_total_connections = static_cast<uint32_t>(std::max<size_t>(share, 512));
    Result<std::unique_ptr<CurlEngine>> engine = CurlEngine::Create(std::move(options), RealClock());
    if (!engine) {
      std::fprintf(stderr, "http_delivery_bench: %s\n", engine.error().message.c_str());
      return 1;
    }
    clients.push_back(engine->get());
    engines.push_back(std::move(*engine));
  }

  HttpRequest request;
  request.method = flags->method;
  request.url = flags->url;
  request.body.assign(flags->body_bytes, 'x');
  if (!request.body.empty()) request.headers = {{"Content-Type", "application/octet-stream"}};

  // Warm-up: opens the connections and fills curl's caches, so the measured run is steady state.
  if (flags->warmup > 0) {
    ClosedLoop warmup(clients, request, flags->warmup);
    if (!warmup.Run(flags->concurrency, std::chrono::seconds(60)) || warmup.failures() > 0) {
      std::fprintf(stderr, "http_delivery_bench: warm-up failed: %s\n", warmup.first_failure().c_str());
      return 1;
    }
  }

  ClosedLoop loop(clients, request, flags->requests);
  const std::optional<std::chrono::duration<double>> took = loop.Run(flags->concurrency, std::chrono::seconds(600));
  if (!took) {
    std::fprintf(stderr, "http_delivery_bench: did not finish within 600 s\n");
    return 1;
  }
  const double seconds = took->count();
  std::printf("http_delivery_bench: %zu requests, concurrency %zu, engines %zu, %s %s: %.3f s, %.0f requests/s, "
              "%zu failures\n",
              flags->requests, flags->concurrency, flags->engines, flags->method.c_str(), flags->url.c_str(), seconds,
              static_cast<double>(flags->requests) / seconds, loop.failures());
  if (loop.failures() > 0) {
    std::fprintf(stderr, "http_delivery_bench: first failure: %s\n", loop.first_failure().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace fraiseql

int main(int argc, char** argv) { return fraiseql::Main(argc, argv); }
