// The `fraiseql-observer` command line: parses arguments and runs one subcommand.
// Each subcommand lives in its own file and writes to the streams it is given, so tests can
// run it in-process and read what a user would see.
// Thread-safety: call from one thread.
#pragma once

#include <iosfwd>

namespace fraiseql::cli {

// Exit codes: 0 success, 1 the input is invalid (config, event), 2 bad command-line usage,
// 3 a delivery performed by `debug-event --execute` did not succeed.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalidInput = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDeliveryFailed = 3;

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace fraiseql::cli
