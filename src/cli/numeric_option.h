// Integer options of the command line: a decimal number within a stated range, or a usage error
// (exit 2) naming the flag. CLI11 alone turns "-5" into a huge unsigned number, saturates
// overflow silently and accepts forms nobody means ("0x10"); every integer option goes through this.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace fraiseql::cli {

// Why `text` is not a decimal integer from `min` to `max` ("" when it is): "-5 is negative",
// "99999999999999999999 is more than 1000000", "'5k' is not a whole number"; each ends with
// "; give a whole number from <min> to <max>".
std::string IntegerRangeError(std::string_view text, int64_t min, int64_t max);

// A CLI11 check applying IntegerRangeError. CLI11 reports a failure as "<flag>: <message>",
// which RunCli prints and answers with exit code 2.
CLI::Validator IntegerRange(int64_t min, int64_t max);

}  // namespace fraiseql::cli
