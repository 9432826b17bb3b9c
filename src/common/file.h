// Reading a whole file into memory, with errors that say why (missing, a directory, unreadable):
// the one place the CLI and the config loader touch the filesystem for their inputs.
// Thread-safety: pure function over the filesystem.
#pragma once

#include <string>

#include "common/result.h"

namespace fraiseql {

// The file's bytes, or kNotFound / kInvalidArgument (a directory) / kUnavailable (read
// failed) whose message is the reason alone, e.g. "No such file or directory".
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace fraiseql
