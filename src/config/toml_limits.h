// TomlLimits: the size, line length, dotted-key length and nesting a config file must keep, checked
// by a scan without recursion before toml++ (which recurses once per level) sees the text.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.h"

namespace fraiseql {

// The defaults; docs/security.md and docs/configuration.md state them.
inline constexpr size_t kDefaultTomlMaxBytes = size_t{4} << 20;       // 4 MiB
inline constexpr size_t kDefaultTomlMaxLineBytes = size_t{64} << 10;  // 64 KiB
inline constexpr size_t kDefaultTomlMaxKeySegments = 32;
inline constexpr size_t kDefaultTomlMaxDepth = 64;

struct TomlLimits {
  size_t max_bytes = kDefaultTomlMaxBytes;
  size_t max_line_bytes = kDefaultTomlMaxLineBytes;  // a line's bytes, its line break excluded
  // Segments of one dotted key or table header: `a.b.c = 1` and `[a.b.c]` have 3.
  size_t max_key_segments = kDefaultTomlMaxKeySegments;
  // How deep a value sits in the document's tree: each segment of its table header (plus one for
  // each array of tables the header declares or goes through), each segment of its key, and each
  // array and inline table around it. `[a.b]` then `c = [1]` puts 1 at depth 4; `[[a]]` then
  // `[[a.b]]` then `c = 1` puts c at depth 5.
  size_t max_depth = kDefaultTomlMaxDepth;
};

// Ok when `text` keeps `limits`; otherwise kInvalidArgument whose `location` (line and column, no
// file name) is where the first limit is crossed. In text that is not valid TOML the limits are
// exact up to its first error, which is as far as toml++ reads; past it the scan only goes on.
Result<void> CheckTomlLimits(std::string_view text, const TomlLimits& limits = {});

}  // namespace fraiseql
