// Reading a whole file into memory, with errors that say why (missing, a directory, unreadable):
// the one place the CLI and the config loader touch the filesystem for their inputs.
// Thread-safety: pure function over the filesystem.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fraiseql {

// The file's bytes, or kNotFound / kInvalidArgument (a directory) / kUnavailable (read
// failed) whose message is the reason alone, e.g. "No such file or directory".
// A file longer than `max_bytes` is not read further: kInvalidArgument with detail
// (kFileErrorDomain, kFileTooLarge), so a huge file or an endless pipe costs no memory.
Result<std::string> ReadWholeFile(const std::string& path,
                                  size_t max_bytes = std::numeric_limits<size_t>::max());

inline constexpr std::string_view kFileErrorDomain = "file";
inline constexpr std::string_view kFileTooLarge = "too_large";

}  // namespace fraiseql
