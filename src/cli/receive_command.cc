#include "cli/receive_command.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <ostream>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/signals.h"
#include "cli/cli.h"
#include "cli/numeric_option.h"
#include "common/json_limits.h"
#include "common/mutex.h"
#include "common/secret.h"
#include "common/text.h"
#include "common/url.h"
#include "event/entity_event.h"  // FormatTimestamp
#include "http/http_server.h"
#include "http/signing.h"

namespace fraiseql::cli {
namespace {

using std::chrono::seconds;

// In text mode a body is cut to about this many bytes, so one delivery stays one readable line.
constexpr size_t kTextBodyBytes = 200;

struct NamedSecret {
  Secret secret;
  std::string origin;  // "--secret #2" or "$NAME": how messages refer to it, never by value
};

enum class Verdict { kOk, kBad, kAbsent, kUnchecked };

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kBad:
      return "bad";
    case Verdict::kAbsent:
      return "absent";
    case Verdict::kUnchecked:
      return "unchecked";
  }
  return "bad";
}

struct SchemeCheck {
  Verdict verdict = Verdict::kAbsent;
  std::string reason;  // why kBad (or kUnchecked); empty otherwise
};

std::optional<int64_t> ParseUnixSeconds(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string AgeProblem(int64_t signed_at, int64_t now, seconds tolerance) {
  const int64_t skew = now - signed_at;
  const std::string limit = " beyond the " + std::to_string(tolerance.count()) + " s tolerance";
  if (skew > 0) return "timestamp " + std::to_string(skew) + " s old," + limit;
  return "timestamp " + std::to_string(-skew) + " s in the future," + limit;
}

SchemeCheck CheckStandard(const ServerRequest& request, const std::vector<NamedSecret>& secrets, int64_t now,
                          seconds tolerance) {
  const std::optional<std::string_view> signature = request.Header(kWebhookSignatureHeader);
  if (!signature) return {Verdict::kAbsent, ""};
  if (secrets.empty()) return {Verdict::kUnchecked, "no secret given"};
  const std::optional<std::string_view> id = request.Header(kWebhookIdHeader);
  const std::optional<std::string_view> timestamp = request.Header(kWebhookTimestampHeader);
  if (!id || !timestamp) return {Verdict::kBad, "webhook-id or webhook-timestamp header missing"};
  const bool matches = std::any_of(secrets.begin(), secrets.end(), [&](const NamedSecret& named) {
    return VerifyStandardSignature(*signature, *id, *timestamp, request.body, named.secret);
  });
  if (!matches) return {Verdict::kBad, "no signature matches the secret(s)"};
  const std::optional<int64_t> signed_at = ParseUnixSeconds(*timestamp);
  if (!signed_at) return {Verdict::kBad, "webhook-timestamp is not a Unix time"};
  // The spec's replay protection: a captured request stops working once it is this old.
  if (tolerance.count() > 0 && (*signed_at < now - tolerance.count() || *signed_at > now + tolerance.count())) {
    return {Verdict::kBad, AgeProblem(*signed_at, now, tolerance)};
  }
  return {Verdict::kOk, ""};
}

SchemeCheck CheckFraiseql(const ServerRequest& request, const std::vector<NamedSecret>& secrets, int64_t now,
                          seconds tolerance) {
  const std::optional<std::string_view> signature = request.Header(kFraiseqlSignatureHeader);
  if (!signature) return {Verdict::kAbsent, ""};
  if (secrets.empty()) return {Verdict::kUnchecked, "no secret given"};
  bool matches = false;
  for (const NamedSecret& named : secrets) {
    // First without the age check, to tell a wrong key from a stale timestamp.
    if (!VerifyFraiseqlSignature(*signature, request.body, named.secret, now, seconds(0))) continue;
    matches = true;
    if (VerifyFraiseqlSignature(*signature, request.body, named.secret, now, tolerance)) return {Verdict::kOk, ""};
  }
  if (!matches) return {Verdict::kBad, "no signature matches the secret(s)"};
  return {Verdict::kBad, "its t= timestamp is beyond the " + std::to_string(tolerance.count()) + " s tolerance"};
}

// Control characters as escapes, so a header or body cannot break the one-line-per-request form
// (or a terminal).
std::string EscapeControls(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      escaped += "\\n";
    } else if (c == '\r') {
      escaped += "\\r";
    } else if (c == '\t') {
      escaped += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      escaped += "\\x";
      escaped += kHex[byte >> 4];
      escaped += kHex[byte & 0xf];
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string DumpCompact(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A body over the JSON limits (docs/security.md) is shown as text, like one that is not JSON.
std::optional<nlohmann::json> ParseJson(std::string_view body) {
  Result<nlohmann::json> parsed = ParseJsonWithin(body);
  if (!parsed) return std::nullopt;
  return std::move(parsed).value();
}

struct Received {
  std::string time;
  const ServerRequest* request = nullptr;
  SchemeCheck standard;
  SchemeCheck fraiseql;
  int status = 200;
};

std::string TextLine(const Received& delivery) {
  const ServerRequest& request = *delivery.request;
  std::string line =
      delivery.time + " " + EscapeControls(request.method) + " " + EscapeControls(RedactUrl(request.target));
  const std::optional<std::string_view> id = request.Header(kWebhookIdHeader);
  line += " webhook-id=" + (id ? EscapeControls(*id) : std::string("-"));
  const auto scheme = [&line](std::string_view name, const SchemeCheck& check) {
    line += " " + std::string(name) + ": " + std::string(VerdictName(check.verdict));
    if (check.verdict == Verdict::kBad) line += " (" + check.reason + ")";
  };
  scheme("standard", delivery.standard);
  scheme("fraiseql", delivery.fraiseql);
  line += " status=" + std::to_string(delivery.status) + " body=";
  if (request.body.empty()) {
    line += "(empty)";
  } else if (std::optional<nlohmann::json> json = ParseJson(request.body)) {
    line += TruncateUtf8(DumpCompact(*json), kTextBodyBytes);
  } else {
    line += TruncateUtf8(EscapeControls(request.body), kTextBodyBytes);
  }
  return line;
}

std::string JsonLine(const Received& delivery) {
  const ServerRequest& request = *delivery.request;
  const std::optional<std::string_view> id = request.Header(kWebhookIdHeader);
  const auto reason = [](const SchemeCheck& check) -> nlohmann::json {
    return check.verdict == Verdict::kBad ? nlohmann::json(check.reason) : nlohmann::json(nullptr);
  };
  nlohmann::json line = {
      {"time", delivery.time},
      {"method", request.method},
      {"path", RedactUrl(request.target)},
      {"webhook_id", id ? nlohmann::json(std::string(*id)) : nlohmann::json(nullptr)},
      {"standard", VerdictName(delivery.standard.verdict)},
      {"standard_reason", reason(delivery.standard)},
      {"fraiseql", VerdictName(delivery.fraiseql.verdict)},
      {"fraiseql_reason", reason(delivery.fraiseql)},
      {"status", delivery.status},
  };
  // A JSON body as itself (so `jq .body.data` works); anything else as a string.
  std::optional<nlohmann::json> body = ParseJson(request.body);
  line["body"] = body ? std::move(*body) : nlohmann::json(request.body);
  return DumpCompact(line);
}

// Each --secret and --secret-env, checked; the message names the bad one by position or
// variable, never by value.
Result<std::vector<NamedSecret>> ResolveSecrets(const ReceiveOptions& options, const ReceiveEnvironment& environment) {
  std::vector<NamedSecret> secrets;
  for (size_t i = 0; i < options.secrets.size(); ++i) {
    secrets.push_back({Secret(options.secrets[i]), "--secret #" + std::to_string(i + 1)});
  }
  for (const std::string& name : options.secret_envs) {
    std::optional<std::string> value;
    if (environment.getenv) {
      value = environment.getenv(name);
    } else if (const char* found = std::getenv(name.c_str()); found != nullptr) {
      value = found;
    }
    if (!value) return Error::InvalidArgument("--secret-env " + name + ": $" + name + " is not set");
    secrets.push_back({Secret(std::move(*value)), "$" + name});
  }
  for (const NamedSecret& named : secrets) {
    if (named.secret.empty()) return Error::InvalidArgument(named.origin + " is empty");
    // A "whsec_" secret must decode, as the sender's would have to: catch the typo here rather
    // than report every request as "bad".
    if (Result<std::string> key = StandardWebhooksKey(named.secret); !key) {
      return Error::InvalidArgument(named.origin + ": " + key.error().message);
    }
  }
  return secrets;
}

// What the server threads share with the thread running RunReceive.
struct Shared {
  Mutex mu;
  std::condition_variable changed;
  std::ostream* out = nullptr;
  size_t printed GUARDED_BY(mu) = 0;
  bool stopping GUARDED_BY(mu) = false;
};

const std::map<std::string, OutputFormat> kFormats = {{"text", OutputFormat::kText},
                                                       {"json", OutputFormat::kJson}};

// A day either side is already far more clock skew than a signature check should forgive; a
// year is the most that is not plainly a typo.
constexpr int64_t kMaxToleranceSeconds = 365 * 24 * 3600;
// More requests than a test script sends; 0 is the way to say "until stopped".
constexpr int64_t kMaxCount = 1'000'000'000;

}  // namespace

HttpServerLimits ReceiveServerLimits() {
  HttpServerLimits limits;
  limits.max_body_bytes = 10 << 20;  // webhook payloads are far smaller
  limits.request_deadline = std::chrono::seconds(30);
  limits.max_connections_per_address = 64;
  return limits;
}

CLI::App* AddReceiveCommand(CLI::App& app, ReceiveOptions& options) {
  CLI::App* command = app.add_subcommand(
      "receive",
      "Run a webhook receiver that verifies both signature schemes and prints each delivery, to test a setup");
  command->add_option("--port", options.port, "Port to listen on; 0 picks a free one (shown on the first line)")
      ->required()
      ->check(IntegerRange(0, 65535));
  command->add_option("--host", options.host, "Address to listen on")->capture_default_str();
  command
      ->add_option("--secret", options.secrets,
                   "A signing secret; repeat for key rotation (any match verifies). Visible in `ps`: prefer "
                   "--secret-env")
      ->allow_extra_args(false);
  command
      ->add_option("--secret-env", options.secret_envs,
                   "The name of an environment variable holding a signing secret; repeatable")
      ->allow_extra_args(false);
  command
      ->add_option_function<int64_t>(
          "--tolerance", [&options](const int64_t& value) { options.tolerance = seconds(value); },
          "Seconds a signed timestamp may differ from now; 0 disables the check")
      ->check(IntegerRange(0, kMaxToleranceSeconds))
      ->default_str("300");
  // 200 and up: a 1xx is not a final answer (the server turns one into a 500).
  command->add_option("--status", options.status, "Status to answer verified requests with (200 to 599)")
      ->check(IntegerRange(200, 599))
      ->capture_default_str();
  command->add_option("--format", options.format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(kFormats, CLI::ignore_case));
  command->add_option("--count", options.count, "Exit after this many requests (for scripts); 0: never")
      ->check(IntegerRange(0, kMaxCount));
  return command;
}

int RunReceive(const ReceiveOptions& options, std::ostream& out, std::ostream& err, std::stop_token stop,
               const ReceiveEnvironment& environment) {
  Result<std::vector<NamedSecret>> resolved = ResolveSecrets(options, environment);
  if (!resolved) {
    err << "fraiseql-observer: error: " << resolved.error().message << "\n";
    return kExitUsage;
  }
  const std::vector<NamedSecret> secrets = std::move(*resolved);
  if (options.status < 200 || options.status > 599) {
    err << "fraiseql-observer: error: --status " << options.status << " is not a final HTTP status (200 to 599)\n";
    return kExitUsage;
  }
  Clock& clock = *environment.clock;

  Shared shared;
  shared.out = &out;
  const auto handle = [&](const ServerRequest& request) {
    const auto now = clock.Now();
    const int64_t now_seconds = std::chrono::duration_cast<seconds>(now.time_since_epoch()).count();
    Received delivery;
    delivery.time = FormatTimestamp(std::chrono::time_point_cast<std::chrono::microseconds>(now));
    delivery.request = &request;
    delivery.standard = CheckStandard(request, secrets, now_seconds, options.tolerance);
    delivery.fraiseql = CheckFraiseql(request, secrets, now_seconds, options.tolerance);
    const bool verified =
        delivery.standard.verdict == Verdict::kOk || delivery.fraiseql.verdict == Verdict::kOk;
    delivery.status = secrets.empty() || verified ? options.status : 401;
    const std::string line = options.format == OutputFormat::kJson ? JsonLine(delivery) : TextLine(delivery);

    {
      MutexLock lock(&shared.mu);
      // With --count, requests racing in after the last one are turned away unprinted, so the
      // output has exactly `count` lines.
      if (shared.stopping || (options.count > 0 && shared.printed >= options.count)) {
        return ServerResponse{503, "text/plain; charset=utf-8", "receiver is shutting down\n", {}};
      }
      *shared.out << line << std::endl;
      ++shared.printed;
      shared.changed.notify_all();
    }
    if (delivery.status == 401) {
      return ServerResponse{401, "text/plain; charset=utf-8",
                            "signature verification failed: standard: " +
                                std::string(VerdictName(delivery.standard.verdict)) +
                                ", fraiseql: " + std::string(VerdictName(delivery.fraiseql.verdict)) + "\n",
                            {}};
    }
    return ServerResponse{delivery.status, "text/plain; charset=utf-8", "ok\n", {}};
  };

  HttpServerOptions server_options;
  server_options.address = {options.host, options.port};
  server_options.limits = options.limits;
  HttpServer server(server_options, handle);
  {
    // Held while starting, so the first request's line cannot come before the listening line.
    MutexLock lock(&shared.mu);
    if (Result<void> started = server.Start(); !started) {
      err << "fraiseql-observer: error: " << started.error().message << "\n";
      return kExitInvalidInput;
    }
    out << "listening on http://" << server.address().ToString() << std::endl;
  }
  if (secrets.empty()) {
    err << "receive: no --secret given: signatures are not checked and every request is answered "
        << options.status << "\n";
  } else {
    err << "receive: verifying with " << secrets.size() << (secrets.size() == 1 ? " secret" : " secrets")
        << (options.tolerance.count() > 0 ? ", tolerance " + std::to_string(options.tolerance.count()) + " s"
                                          : ", no timestamp check")
        << "; answering " << options.status << " when a scheme verifies, else 401\n";
  }

  {
    std::stop_callback on_stop(stop, [&shared] {
      MutexLock lock(&shared.mu);
      shared.stopping = true;
      shared.changed.notify_all();
    });
    MutexLock lock(&shared.mu);
    while (!shared.stopping && !(options.count > 0 && shared.printed >= options.count)) {
      shared.mu.Wait(shared.changed);
    }
    shared.stopping = true;
  }
  server.Stop();
  return kExitOk;
}

int RunReceiveCommand(const ReceiveOptions& options, std::ostream& out, std::ostream& err) {
  ShutdownSignals signals;  // first: the threads below inherit the blocked mask
  std::stop_source stop;
  std::optional<int> received;
  std::jthread watcher([&](std::stop_token watcher_stop) {
    received = signals.Wait(watcher_stop);
    if (received) stop.request_stop();
  });
  const int code = RunReceive(options, out, err, stop.get_token());
  watcher.request_stop();
  watcher.join();
  if (received) err << "receive: stopped by " << SignalName(*received) << "\n";
  return code;
}

}  // namespace fraiseql::cli
