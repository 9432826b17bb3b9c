#include "http/curl_engine.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/mutex.h"
#include "common/text.h"
#include "common/url.h"

namespace fraiseql {
namespace {

using std::chrono::steady_clock;

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistHandle = std::unique_ptr<curl_slist, SlistDeleter>;

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Easy handles are reused: creating one allocates its buffers afresh, which shows at tens of
// thousands of requests a second. Beyond this many idle ones they are freed.
constexpr size_t kMaxIdleEasyHandles = 256;
// The engine thread wakes at least this often even when nothing happens (it waits less when one
// of curl's timers is due, and Send() wakes it at once).
constexpr int kMaxPollWaitMs = 1000;
// Readiness events taken per epoll_wait; more stay queued for the next pass.
constexpr size_t kMaxEvents = 256;
constexpr std::string_view kShutDownMessage = "client shut down";

// One request from Send() to its callback. Owned by the submission queue, then by the engine
// thread; curl's callbacks get a pointer to it, valid while the easy handle is in the multi.
struct Transfer {
  HttpRequest request;
  HttpClient::Callback on_done;
  steady_clock::time_point started;
  const SsrfGuard* guard = nullptr;

  EasyHandle easy;
  SlistHandle headers;  // referenced by `easy` while it runs

  HttpResponse response;
  bool status_line_seen = false;
  bool body_started = false;
  // The first address the guard refused, and how many it let through: only when every attempt
  // was refused is the failure the guard's rather than the network's.
  std::optional<std::string> blocked_reason;
  int allowed_connects = 0;
  // Set when one of our curl callbacks failed on its own (out of memory), which aborts the transfer.
  std::optional<std::string> callback_error;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

// RFC 9110 section 5.6.2: token = 1*tchar.
bool IsToken(std::string_view text) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return IsAsciiDigit(c) || IsAsciiAlpha(c) || kSpecials.find(c) != std::string_view::npos;
  });
}

// A value that would end the header line early could smuggle a header or a whole request.
bool IsSafeHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::optional<IpAddress> AddressOf(const curl_sockaddr& address) {
  // curl passes room for the whole address behind `addr` (a sockaddr union inside curl), with its
  // true length in addrlen.
  if (address.family == AF_INET && address.addrlen >= sizeof(sockaddr_in)) {
    sockaddr_in in{};
    std::memcpy(&in, &address.addr, sizeof in);
    return IpAddress::V4(ntohl(in.sin_addr.s_addr));
  }
  if (address.family == AF_INET6 && address.addrlen >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &address.addr, sizeof in6);
    IpAddress::Bytes bytes{};
    std::memcpy(bytes.data(), in6.sin6_addr.s6_addr, bytes.size());
    return IpAddress::V6(bytes);
  }
  return std::nullopt;
}

// ---- curl callbacks: they run inside curl_multi_perform and must never throw ----

curl_socket_t OpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    try {
      const std::optional<IpAddress> ip = AddressOf(*address);
      std::optional<std::string> reason =
          ip ? transfer->guard->RefusalReason(*ip)
             : std::optional<std::string>("address family " + std::to_string(address->family) + " is not IP");
      if (reason) {
        if (!transfer->blocked_reason) transfer->blocked_reason = std::move(reason);
        return CURL_SOCKET_BAD;
      }
      ++transfer->allowed_connects;
    } catch (const std::exception& e) {
      transfer->callback_error = e.what();
      return CURL_SOCKET_BAD;
    }
  }
  // What curl's own opener does, plus close-on-exec so that no child process inherits it.
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

void OnHeaderLine(Transfer& transfer, std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new response begins (after a 100 Continue or other interim answer): only the final
    // response's headers count.
    transfer.response = HttpResponse{};
    transfer.status_line_seen = true;
    transfer.body_started = false;
    return;
  }
  // Lines after the body are chunked trailers, not headers of the response.
  if (line.empty() || transfer.body_started) return;
  std::vector<HttpHeaderLine>& headers = transfer.response.headers;
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding (RFC 9110 section 5.5): a continuation of the previous value.
    if (!headers.empty()) {
      headers.back().value += ' ';
      headers.back().value += TrimAsciiSpace(line);
    }
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  headers.push_back({std::string(line.substr(0, colon)), std::string(TrimAsciiSpace(line.substr(colon + 1)))});
}

size_t HeaderCallback(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  try {
    OnHeaderLine(*transfer, std::string_view(data, bytes));
  } catch (const std::exception& e) {
    transfer->callback_error = e.what();
    return 0;  // curl aborts the transfer with CURLE_WRITE_ERROR
  }
  return bytes;
}

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  transfer->body_started = true;
  std::string& body = transfer->response.body;
  const size_t kept = std::min(bytes, kMaxCapturedResponseBody - std::min(body.size(), kMaxCapturedResponseBody));
  try {
    body.append(data, kept);
  } catch (const std::exception& e) {
    transfer->callback_error = e.what();
    return 0;
  }
  // The rest is consumed and dropped, so the connection stays usable and memory bounded.
  if (kept < bytes) transfer->response.body_truncated = true;
  return bytes;
}

// ---- request set-up ----

long Millis(std::chrono::milliseconds duration) {
  // 0 means "no timeout" to curl; a request always has one.
  return static_cast<long>(std::max<std::chrono::milliseconds::rep>(1, duration.count()));
}

// The options every request shares, set once per easy handle: handles are reused without
// curl_easy_reset (it costs more than these calls), and ConfigureRequest sets everything else.
CURLcode ConfigureHandle(CURL* easy) {
  CURLcode rc = CURLE_OK;
  auto set = [&rc](CURLcode result) {
    if (rc == CURLE_OK) rc = result;
  };
  set(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(easy, CURLOPT_PROXY, ""));  // ignore http_proxy & co.
  set(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS)));
  set(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L));
  set(curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L));  // notice idle pooled connections that died
  set(curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, HeaderCallback));
  set(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, WriteCallback));
  set(curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, OpenSocket));
  return rc;
}

// Between two requests a handle must not point into the transfer that is gone.
void DetachHandle(CURL* easy) {
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, static_cast<char*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, static_cast<char*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, static_cast<void*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, static_cast<void*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, static_cast<void*>(nullptr));
}

// Applies `request` to the transfer's easy handle, which has ConfigureHandle's options and
// possibly those of an earlier request: every option set here is set on every request. An error
// message when the request cannot be sent as given (the caller's mistake, so kInvalidRequest).
std::optional<std::string> ConfigureRequest(Transfer& transfer) {
  const HttpRequest& request = transfer.request;
  CURL* easy = transfer.easy.get();
  if (!IsToken(request.method)) return "method \"" + TruncateUtf8(request.method, 40) + "\" is not an HTTP token";

  auto append = [&transfer](const std::string& line) {
    // Returns the head of the list (a new one when it was empty), or null leaving it unchanged.
    curl_slist* head = curl_slist_append(transfer.headers.get(), line.c_str());
    if (head == nullptr) return false;
    if (!transfer.headers) transfer.headers.reset(head);
    return true;
  };
  for (const HttpHeaderLine& header : request.headers) {
    if (!IsToken(header.name)) return "header name \"" + TruncateUtf8(header.name, 40) + "\" is not an HTTP token";
    if (!IsSafeHeaderValue(header.value)) return "header " + header.name + " has a CR, LF or NUL in its value";
    // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
    if (!append(header.value.empty() ? header.name + ";" : header.name + ": " + header.value)) {
      return "out of memory building the request headers";
    }
  }
  // Suppress what curl would add on its own: the request carries the caller's headers only. An
  // Expect: 100-continue would cost a round trip (or a one-second wait) on every large body.
  for (std::string_view name : {"Expect", "Accept", "Content-Type"}) {
    if (!HasHeader(request.headers, name) && !append(std::string(name) + ":")) {
      return "out of memory building the request headers";
    }
  }

  CURLcode rc = CURLE_OK;
  auto set = [&rc](CURLcode result) {
    if (rc == CURLE_OK) rc = result;
  };
  set(curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str()));
  set(curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, Millis(request.connect_timeout)));
  set(curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, Millis(request.timeout)));
  set(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers.get()));
  set(curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer));
  set(curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer));
  set(curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &transfer));
  set(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer));
  // Wait for an HTTP/2 connection being set up to this host rather than open more; for plain
  // http there is no multiplexing to wait for.
  const bool https = request.url.size() >= 8 && EqualsIgnoreCase(std::string_view(request.url).substr(0, 8), "https://");
  set(curl_easy_setopt(easy, CURLOPT_PIPEWAIT, https ? 1L : 0L));

  // The method, from a clean slate: a reused handle may still say HEAD, POST or a custom verb.
  const std::string& method = request.method;
  set(curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, static_cast<char*>(nullptr)));
  set(curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L));  // also clears NOBODY
  if (method == "GET" && request.body.empty()) {
    // done
  } else if (method == "HEAD" && request.body.empty()) {
    set(curl_easy_setopt(easy, CURLOPT_NOBODY, 1L));
  } else if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    // The body is sent from the request in place (it stays alive in the transfer), byte for byte.
    set(curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size())));
    set(curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data()));
    if (method != "POST") set(curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str()));
  } else {
    set(curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str()));
  }
  if (rc != CURLE_OK) return std::string("cannot set up the request: ") + curl_easy_strerror(rc);
  return std::nullopt;
}

// ---- outcomes ----

TransportFailure FailureOf(CURLcode code, bool status_line_seen) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportFailure::kDns;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kTimeout;
    case CURLE_COULDNT_CONNECT:
      return TransportFailure::kConnect;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return TransportFailure::kInvalidRequest;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return TransportFailure::kTls;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      // Dropped before any answer (the request may not have been processed) versus cut off in
      // the middle of one: http_client.h's kConnect and kNetwork.
      return status_line_seen ? TransportFailure::kNetwork : TransportFailure::kConnect;
    default:
      return TransportFailure::kNetwork;
  }
}

}  // namespace

struct CurlEngine::Impl {
  Impl(CurlEngineOptions engine_options, Clock& engine_clock, UniqueFd epoll, UniqueFd wake, MultiHandle multi_handle)
      : options(std::move(engine_options)),
        clock(engine_clock),
        epoll_fd(std::move(epoll)),
        wake_fd(std::move(wake)),
        multi(std::move(multi_handle)) {}

  void Submit(std::unique_ptr<Transfer> transfer) LOCKS_EXCLUDED(mu) {
    bool wake = false;
    {
      MutexLock lock(&mu);
      submitted.push_back(std::move(transfer));
      // One wake-up per batch: the engine takes the whole queue when it wakes. None at all from
      // a callback: the engine looks at the queue again before it waits (Run), and a wake-up
      // would only cost a write and an extra pass through poll per request.
      const bool on_engine_thread = std::this_thread::get_id() == engine_thread_id;
      wake = !wake_pending && !on_engine_thread;
      wake_pending = true;
      if (on_engine_thread) queued_by_engine = true;
    }
    if (wake) Wake();
  }

  void Wake() {
    const uint64_t one = 1;
    // Fails only when the counter is about to overflow, i.e. a wake-up is pending anyway.
    (void)!::write(wake_fd.get(), &one, sizeof one);
  }

  std::vector<std::unique_ptr<Transfer>> TakeSubmitted() LOCKS_EXCLUDED(mu) {
    std::vector<std::unique_ptr<Transfer>> taken;
    MutexLock lock(&mu);
    taken.swap(submitted);
    wake_pending = false;
    return taken;
  }

  // ---- engine thread only, from here on ----

  // The event loop: curl's socket interface over epoll. curl says which sockets to watch
  // (SocketCallback) and when its next timer is due (TimerCallback); we tell it which socket is
  // ready. Each pass costs in proportion to what happened, not to how many requests are in
  // flight, which curl_multi_perform + curl_multi_poll would (every handle visited, every socket
  // polled, on every wake-up): thousands in flight stay cheap.
  void Run(const std::stop_token& stop) {
    std::array<epoll_event, kMaxEvents> events{};
    while (!stop.stop_requested()) {
      passes.fetch_add(1, std::memory_order_relaxed);
      // Also what callbacks of the previous pass sent (they do not wake the loop, see Submit).
      queued_by_engine = false;
      for (std::unique_ptr<Transfer>& transfer : TakeSubmitted()) Start(std::move(transfer));
      // A request refused in Start() may have had its callback send another: no waiting then.
      const int wait_ms = queued_by_engine ? 0 : WaitMs();
      const int ready = ::epoll_wait(epoll_fd.get(), events.data(), static_cast<int>(events.size()), wait_ms);
      if (ready < 0 && errno != EINTR) ReportError("epoll_wait", std::strerror(errno));
      int running = 0;
      for (int i = 0; i < ready; ++i) {
        const epoll_event& event = events[static_cast<size_t>(i)];
        if (event.data.fd == wake_fd.get()) {
          uint64_t count = 0;
          (void)!::read(wake_fd.get(), &count, sizeof count);
          continue;
        }
        int flags = 0;
        if ((event.events & EPOLLIN) != 0) flags |= CURL_CSELECT_IN;
        if ((event.events & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
        if ((event.events & (EPOLLERR | EPOLLHUP)) != 0) flags |= CURL_CSELECT_ERR;
        CheckMulti("curl_multi_socket_action", curl_multi_socket_action(multi.get(), event.data.fd, flags, &running));
      }
      if (timer_deadline && steady_clock::now() >= *timer_deadline) {
        const steady_clock::time_point fired = *timer_deadline;
        CheckMulti("curl_multi_socket_action",
                   curl_multi_socket_action(multi.get(), CURL_SOCKET_TIMEOUT, 0, &running));
        // curl calls TimerCallback only when its earliest timer changes. Its clock
        // (CLOCK_MONOTONIC_RAW) and steady_clock (CLOCK_MONOTONIC) run at slightly different
        // rates, so the timer may not be due yet in curl's eyes: then nothing changed, no
        // callback came, and the past deadline would make every pass a zero-timeout poll (a
        // core spun at any load). Ask curl how long is really left.
        if (timer_deadline == fired) RefreshTimer();
      }
      ReapFinished();
    }
    Shutdown();
  }

  // The deadline from curl's own count of what is left of its earliest timer.
  void RefreshTimer() {
    long timeout_ms = -1;
    CheckMulti("curl_multi_timeout", curl_multi_timeout(multi.get(), &timeout_ms));
    SetTimer(timeout_ms);
  }

  // What TimerCallback and RefreshTimer were told: -1 none, else due in `timeout_ms`.
  void SetTimer(long timeout_ms) {
    if (timeout_ms < 0) {
      timer_deadline.reset();
    } else {
      timer_deadline = steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    }
  }

  // Until curl's next timer, rounded up so the loop does not wake a moment early and spin.
  int WaitMs() const {
    if (!timer_deadline) return kMaxPollWaitMs;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*timer_deadline - steady_clock::now());
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, kMaxPollWaitMs));
  }

  static int SocketCallback(CURL* /*easy*/, curl_socket_t socket, int what, void* user, void* socket_data) {
    static_cast<Impl*>(user)->Watch(socket, what, socket_data != nullptr);
    return 0;
  }

  static int TimerCallback(CURLM* /*multi*/, long timeout_ms, void* user) {
    static_cast<Impl*>(user)->SetTimer(timeout_ms);
    return 0;
  }

  // Keeps the epoll set in step with what curl wants to hear about `socket`.
  void Watch(curl_socket_t socket, int what, bool watched) {
    if (what == CURL_POLL_REMOVE) {
      // May fail when curl closed the socket already (closing removes it from the set anyway).
      ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, socket, nullptr);
      return;
    }
    epoll_event event{};
    event.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
    event.data.fd = socket;
    if (::epoll_ctl(epoll_fd.get(), watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, socket, &event) != 0) {
      // A descriptor number reused since curl last spoke of it: take the other operation.
      const int retry = errno == EEXIST ? EPOLL_CTL_MOD : errno == ENOENT ? EPOLL_CTL_ADD : -1;
      if (retry < 0 || ::epoll_ctl(epoll_fd.get(), retry, socket, &event) != 0) {
        ReportError("epoll_ctl", std::strerror(errno));
      }
    }
    // Any non-null pointer marks the socket as in the set; curl forgets it on CURL_POLL_REMOVE.
    if (!watched) curl_multi_assign(multi.get(), socket, this);
  }

  void CheckMulti(std::string_view call, CURLMcode code) {
    if (code != CURLM_OK) ReportError(call, curl_multi_strerror(code));
  }

  void ReportError(std::string_view call, std::string_view error) {
    try {
      log::Error("http engine: a system or libcurl call failed",
                 {{"call", std::string(call)}, {"error", std::string(error)}});
    } catch (const std::exception&) {
      // Out of memory while logging: nothing better to do than carry on.
    }
    // Not expected to happen; if it keeps happening, do not spin a core on it.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  void Start(std::unique_ptr<Transfer> transfer) {
    transfer->guard = &options.guard;
    if (!idle.empty()) {
      transfer->easy = std::move(idle.back());
      idle.pop_back();
    } else {
      transfer->easy.reset(curl_easy_init());
      if (!transfer->easy) {
        Fail(std::move(transfer), TransportFailure::kNetwork, "curl_easy_init failed");
        return;
      }
      if (const CURLcode rc = ConfigureHandle(transfer->easy.get()); rc != CURLE_OK) {
        Fail(std::move(transfer), TransportFailure::kNetwork,
             std::string("cannot set up a curl handle: ") + curl_easy_strerror(rc));
        return;
      }
    }
    if (std::optional<std::string> problem = ConfigureRequest(*transfer)) {
      Fail(std::move(transfer), TransportFailure::kInvalidRequest, std::move(*problem));
      return;
    }
    const CURLMcode added = curl_multi_add_handle(multi.get(), transfer->easy.get());
    if (added != CURLM_OK) {
      Fail(std::move(transfer), TransportFailure::kNetwork,
           std::string("curl_multi_add_handle: ") + curl_multi_strerror(added));
      return;
    }
    CURL* key = transfer->easy.get();
    in_flight.emplace(key, std::move(transfer));
  }

  void ReapFinished() {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      // `message` dies with the removal below: copy what we need first.
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      const auto found = in_flight.find(easy);
      if (found == in_flight.end()) continue;
      std::unique_ptr<Transfer> transfer = std::move(found->second);
      in_flight.erase(found);
      curl_multi_remove_handle(multi.get(), easy);
      HttpResult result = Outcome(*transfer, code);
      Finish(std::move(transfer), std::move(result));
    }
  }

  HttpResult Outcome(Transfer& transfer, CURLcode code) {
    HttpResult result;
    result.elapsed = clock.SteadyNow() - transfer.started;
    CURL* easy = transfer.easy.get();
    char* ip = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr) result.remote_address = ip;
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      result.response = std::move(transfer.response);
      result.response.status = static_cast<int>(status);
      return result;
    }
    if (transfer.blocked_reason && transfer.allowed_connects == 0) {
      result.failure = TransportFailure::kBlockedTarget;
      result.error = std::move(*transfer.blocked_reason);
      result.remote_address.clear();  // nothing was connected to
      return result;
    }
    result.failure = FailureOf(code, transfer.status_line_seen);
    result.error = transfer.error_buffer[0] != '\0' ? transfer.error_buffer : curl_easy_strerror(code);
    if (transfer.callback_error) result.error += " (" + *transfer.callback_error + ")";
    if (transfer.blocked_reason) result.error += "; also refused by the SSRF guard: " + *transfer.blocked_reason;
    return result;
  }

  void Fail(std::unique_ptr<Transfer> transfer, TransportFailure failure, std::string error) {
    HttpResult result;
    result.failure = failure;
    result.error = std::move(error);
    result.elapsed = clock.SteadyNow() - transfer->started;
    Finish(std::move(transfer), std::move(result));
  }

  // Hands the easy handle back to the pool and the result to the caller's callback.
  void Finish(std::unique_ptr<Transfer> transfer, HttpResult result) {
    if (transfer->easy && !shutting_down && idle.size() < kMaxIdleEasyHandles) {
      // Before the header list and buffers go with the transfer: the handle points at them.
      DetachHandle(transfer->easy.get());
      idle.push_back(std::move(transfer->easy));
    }
    HttpClient::Callback on_done = std::move(transfer->on_done);
    transfer.reset();
    // curl's messages may quote the URL, credentials and all; this text reaches logs and
    // dead-letter rows.
    if (!result.error.empty()) result.error = RedactUrlsIn(result.error);
    Invoke(on_done, std::move(result));
  }

  static void Invoke(HttpClient::Callback& on_done, HttpResult result) {
    // The engine thread (and curl under it) must survive whatever the caller's code does.
    try {
      if (on_done) on_done(std::move(result));
    } catch (const std::exception& e) {
      log::Error("http engine: a request callback threw; the exception was dropped", {{"error", e.what()}});
    } catch (...) {
      log::Error("http engine: a request callback threw; the exception was dropped",
                 {{"error", "not a std::exception"}});
    }
  }

  void Shutdown() {
    shutting_down = true;
    std::vector<std::unique_ptr<Transfer>> aborted;
    aborted.reserve(in_flight.size());
    for (auto& [easy, transfer] : in_flight) {
      curl_multi_remove_handle(multi.get(), easy);
      aborted.push_back(std::move(transfer));
    }
    in_flight.clear();
    for (std::unique_ptr<Transfer>& transfer : aborted) {
      Fail(std::move(transfer), TransportFailure::kNetwork, std::string(kShutDownMessage));
    }
    // Callbacks may have sent more: fail those too, until nobody sends any more.
    for (auto batch = TakeSubmitted(); !batch.empty(); batch = TakeSubmitted()) {
      for (std::unique_ptr<Transfer>& transfer : batch) {
        Fail(std::move(transfer), TransportFailure::kNetwork, std::string(kShutDownMessage));
      }
    }
  }

  CurlEngineOptions options;
  Clock& clock;
  // Declared before `multi`, so they outlive it.
  UniqueFd epoll_fd;
  UniqueFd wake_fd;  // an eventfd in the epoll set: Send() and the destructor write it
  MultiHandle multi;

  Mutex mu;
  std::vector<std::unique_ptr<Transfer>> submitted GUARDED_BY(mu);
  // Set with the first request queued since the queue was last taken: either a wake-up was sent
  // or the engine thread queued it itself and will look before it waits.
  bool wake_pending GUARDED_BY(mu) = false;
  std::thread::id engine_thread_id;  // written before the engine thread starts, then read-only
  // Engine thread only: a callback queued a request since the loop last took the queue.
  bool queued_by_engine = false;

  // Engine thread only. Destroyed before `multi` (declared after it), as curl requires.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> in_flight;
  std::vector<EasyHandle> idle;
  bool shutting_down = false;
  // When curl wants CURL_SOCKET_TIMEOUT; set through TimerCallback and RefreshTimer. curl's
  // timers run on real time, so this is the steady clock, not the injected one.
  std::optional<steady_clock::time_point> timer_deadline;
  // Passes of the loop: what a wait costs (CurlEngine::loop_passes).
  std::atomic<uint64_t> passes{0};

  std::jthread thread;  // last: it uses everything above
};

CurlEngine::CurlEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<CurlEngine>> CurlEngine::Create(CurlEngineOptions options, Clock& clock) {
  // curl_global_init is not thread-safe and must run before any other curl call.
  static std::once_flag global_init_once;
  static CURLcode global_init_result = CURLE_OK;
  std::call_once(global_init_once, [] { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_init_result != CURLE_OK) {
    return Error::Internal(std::string("curl_global_init failed: ") + curl_easy_strerror(global_init_result));
  }
  MultiHandle multi(curl_multi_init());
  if (!multi) return Error::Internal("curl_multi_init failed");
  CURLMcode rc = CURLM_OK;
  auto set = [&rc](CURLMcode result) {
    if (rc == CURLM_OK) rc = result;
  };
  set(curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options.max_connections_per_host)));
  set(curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options.max_total_connections)));
  // Keep as many idle connections as may be open, so keep-alive survives bursts across many hosts.
  set(curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_total_connections)));
  set(curl_multi_setopt(multi.get(), CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX)));
  if (rc != CURLM_OK) return Error::Internal(std::string("curl_multi_setopt: ") + curl_multi_strerror(rc));

  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return Error::Internal(std::string("epoll_create1: ") + std::strerror(errno));
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return Error::Internal(std::string("eventfd: ") + std::strerror(errno));
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.fd = wake.get();
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &wake_event) != 0) {
    return Error::Internal(std::string("epoll_ctl: ") + std::strerror(errno));
  }

  auto impl = std::make_unique<Impl>(std::move(options), clock, std::move(epoll), std::move(wake), std::move(multi));
  Impl* engine = impl.get();
  CURLM* multi_handle = impl->multi.get();
  set(curl_multi_setopt(multi_handle, CURLMOPT_SOCKETFUNCTION, &Impl::SocketCallback));
  set(curl_multi_setopt(multi_handle, CURLMOPT_SOCKETDATA, engine));
  set(curl_multi_setopt(multi_handle, CURLMOPT_TIMERFUNCTION, &Impl::TimerCallback));
  set(curl_multi_setopt(multi_handle, CURLMOPT_TIMERDATA, engine));
  if (rc != CURLM_OK) return Error::Internal(std::string("curl_multi_setopt: ") + curl_multi_strerror(rc));
  impl->thread = std::jthread([engine](const std::stop_token& stop) { engine->Run(stop); });
  // Read by Submit() only, which nobody can call before Create() returns.
  impl->engine_thread_id = impl->thread.get_id();
  return std::unique_ptr<CurlEngine>(new CurlEngine(std::move(impl)));
}

CurlEngine::~CurlEngine() {
  impl_->thread.request_stop();
  impl_->Wake();
  impl_->thread.join();
  // The multi handle closes its cached connections when it goes; it must not call back into a
  // half-destroyed engine then.
  curl_multi_setopt(impl_->multi.get(), CURLMOPT_SOCKETFUNCTION, static_cast<curl_socket_callback>(nullptr));
  curl_multi_setopt(impl_->multi.get(), CURLMOPT_TIMERFUNCTION, static_cast<curl_multi_timer_callback>(nullptr));
  // Only a Send() racing with destruction (a caller's bug) can leave anything behind; still,
  // every callback runs exactly once.
  for (std::unique_ptr<Transfer>& transfer : impl_->TakeSubmitted()) {
    impl_->Fail(std::move(transfer), TransportFailure::kNetwork, std::string(kShutDownMessage));
  }
}

uint64_t CurlEngine::loop_passes() const { return impl_->passes.load(std::memory_order_relaxed); }

void CurlEngine::Send(HttpRequest request, Callback on_done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->on_done = std::move(on_done);
  transfer->started = impl_->clock.SteadyNow();
  impl_->Submit(std::move(transfer));
}

}  // namespace fraiseql
