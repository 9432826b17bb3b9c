// `fraiseql-observer receive`: a webhook receiver for testing a setup. Verifies both signature
// schemes of every request against the given secrets and prints one line (or JSON object) each.
// Thread-safety: RunReceive may run on any thread; it writes only to the streams it is given.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"  // OutputFormat
#include "common/clock.h"
#include "http/http_server.h"

namespace CLI {
class App;
}  // namespace CLI

namespace fraiseql::cli {

// The receiver's server limits (docs/receive.md, "Limits"): HttpServerLimits' defaults, but
// bodies up to 10 MiB, 30 s to send one, and 64 connections per client address (twice the
// observer's 32 per host).
HttpServerLimits ReceiveServerLimits();

struct ReceiveOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port, shown in the "listening on" line
  // Secrets verbatim ("whsec_..." keys the Standard scheme with its base64 part, as the sender
  // does); any one matching verifies a request, for key rotation. A command line is visible to
  // every local user in `ps`: secret_envs (variable names) are the better way.
  std::vector<std::string> secrets;
  std::vector<std::string> secret_envs;
  std::chrono::seconds tolerance{300};  // how far a signed timestamp may be from now; 0: no check
  int status = 200;                     // the answer to a verified request
  OutputFormat format = OutputFormat::kText;
  size_t count = 0;  // exit 0 after this many requests; 0: run until stopped
  HttpServerLimits limits = ReceiveServerLimits();  // no flag: tests shorten the deadline
};

// Adds the `receive` subcommand with its flags to `app`, writing into `options` (which must
// outlive parsing). Returns the subcommand, for `->parsed()`.
CLI::App* AddReceiveCommand(CLI::App& app, ReceiveOptions& options);

struct ReceiveEnvironment {
  Clock* clock = &RealClock();  // printed times and the tolerance check; never null
  // Reads --secret-env variables; empty: the process environment.
  std::function<std::optional<std::string>(std::string_view)> getenv;
};

// Serves until `stop` is requested or `options.count` requests were answered, then returns 0.
// Prints "listening on http://HOST:PORT" first (flushed, so a script can wait for it), then one
// line per request to `out`; problems with the options go to `err`: exit 2 for a bad option or
// secret (named by position or variable, never shown), 1 when the address cannot be bound.
int RunReceive(const ReceiveOptions& options, std::ostream& out, std::ostream& err, std::stop_token stop,
               const ReceiveEnvironment& environment = {});

// What the subcommand runs: RunReceive on the system clock until SIGINT or SIGTERM (exit 0).
// REQUIRES: called before the process starts any other thread (see app/signals.h).
int RunReceiveCommand(const ReceiveOptions& options, std::ostream& out, std::ostream& err);

}  // namespace fraiseql::cli
