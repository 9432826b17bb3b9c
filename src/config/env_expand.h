// ${VAR} expansion for config string values. `$${` writes a literal `${`; a `$` or `${` not
// followed by a variable name and `}` is plain text, so "${{ data.total }}" (a dollar sign
// before a template placeholder) is left alone.
// Thread-safety: pure function.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fraiseql {

using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

struct Expanded {
  std::string text;
  bool used_variables = false;  // true when any ${VAR} was substituted
};

// On a missing variable: kInvalidArgument naming it; `location` column is the 1-based byte
// offset of its `${` within `text` (line 1; the caller maps it into the file).
Result<Expanded> ExpandEnv(std::string_view text, const EnvLookup& lookup);

// Reads the process environment.
std::optional<std::string> ProcessEnv(std::string_view name);

}  // namespace fraiseql
