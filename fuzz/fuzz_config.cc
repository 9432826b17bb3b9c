// Checks that LoadConfigString handles any text (a Config or diagnostics, any of them) without
// crashing, hanging or leaking, with a fixed fake environment; ok() must agree with error_count().
// And that the TOML limit scan (config/toml_limits.h) is sound: with small limits, so the fuzzer
// reaches them, text the scan passes must not give toml++ a tree deeper than the scan allowed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config/config.h"
#include "config/toml_limits.h"

namespace {

// The variables the seed configs reference; anything else reads as unset.
const std::map<std::string, std::string, std::less<>>& FakeEnvironment() {
  static const std::map<std::string, std::string, std::less<>> environment = {
      {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/X"},
      {"API_TOKEN", "token-123"},
      {"ANALYTICS_WEBHOOK_URL", "https://analytics.example.com/orders"},
      {"DATABASE_URL", "postgres://observer:secret@127.0.0.1:5432/app"},
      {"REDIS_URL", "redis://127.0.0.1:6379/0"},
      {"NATS_URL", "nats://127.0.0.1:4222"},
      {"SIGNING_SECRET", "whsec_test"},
      {"EMPTY", ""},
  };
  return environment;
}

std::optional<std::string> FakeGetenv(std::string_view name) {
  const auto& environment = FakeEnvironment();
  auto it = environment.find(name);
  if (it == environment.end()) return std::nullopt;
  return it->second;
}

// The deepest node of toml++'s tree (the root table is 0), without recursion.
size_t TreeDepth(const toml::table& root) {
  size_t deepest = 0;
  std::vector<std::pair<const toml::node*, size_t>> stack = {{&root, 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, depth);
    if (const toml::table* table = node->as_table()) {
      for (auto&& [key, child] : *table) stack.emplace_back(&child, depth + 1);
    } else if (const toml::array* array = node->as_array()) {
      for (const toml::node& child : *array) stack.emplace_back(&child, depth + 1);
    }
  }
  return deepest;
}

void CheckTheLimitScanIsSound(std::string_view text) {
  fraiseql::TomlLimits small;
  small.max_depth = 5;
  small.max_key_segments = 3;
  if (!fraiseql::CheckTomlLimits(text, small)) return;
  try {
    const toml::table document = toml::parse(text);
    if (TreeDepth(document) > small.max_depth) __builtin_trap();
  } catch (const toml::parse_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fraiseql::LoadOptions options{FakeGetenv};

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckTheLimitScanIsSound(text);
  const fraiseql::LoadResult result = fraiseql::LoadConfigString(text, "fuzz.toml", options);
  // config.h: the config is set exactly when there is no error.
  if (result.ok() != (result.error_count() == 0)) __builtin_trap();
  return 0;
}
