// The subcommands behind cli.h, one function each (not a public interface).
// Thread-safety: call from one thread.
#pragma once

#include <iosfwd>
#include <string>

namespace fraiseql::cli {

enum class OutputFormat { kText, kJson };

struct ValidateOptions {
  std::string config_path;
  OutputFormat format = OutputFormat::kText;
};
int RunValidate(const ValidateOptions& options, std::ostream& out, std::ostream& err);

struct DebugEventOptions {
  std::string config_path;
  std::string event_path;
  OutputFormat format = OutputFormat::kText;
  bool execute = false;  // perform the matched actions for real
};
int RunDebugEvent(const DebugEventOptions& options, std::ostream& out, std::ostream& err);

}  // namespace fraiseql::cli
