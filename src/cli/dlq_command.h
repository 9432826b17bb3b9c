// `fraiseql-observer dlq list|show|retry|purge`: the operator's view of the dead-letter store
// (dlq/dead_letter_store.h; observer_dead_letters in PostgreSQL), in text or JSON.
// Thread-safety: construct, parse and run on one thread.
//
// The database is --database-url, else the [database] url of --config, else DATABASE_URL; its
// password is never printed. Exit codes (cli/cli.h): 0 done (a dry run included), 1 the command
// could not do what was asked (no such dead letter, one that cannot be retried, the database
// refused or is unreachable, the config file is invalid), 2 bad usage (no database given, a bad
// --since, a --limit that is negative or over 1000000, both or neither of <id> and --all).
// Reasons and attempt errors are shown with any URL in them redacted (common/url.h).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace fraiseql::cli {

class DlqCommand {
 public:
  // Adds `dlq` and its four subcommands to `app`, bound to this object's options: it must
  // outlive app.parse() and Run().
  explicit DlqCommand(CLI::App& app);
  ~DlqCommand();
  DlqCommand(const DlqCommand&) = delete;
  DlqCommand& operator=(const DlqCommand&) = delete;

  // `dlq` was on the command line (after app.parse()).
  bool parsed() const;
  // Runs the parsed subcommand. REQUIRES: parsed().
  int Run(std::ostream& out, std::ostream& err) const;

  struct Options;

 private:
  std::unique_ptr<Options> options_;
};

}  // namespace fraiseql::cli
