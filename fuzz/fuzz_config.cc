// Checks that LoadConfigString handles any text (a Config or diagnostics, any of them) without
// crashing, hanging or leaking, with a fixed fake environment; ok() must agree with error_count().
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fraiseql::LoadOptions options{FakeGetenv};

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const fraiseql::LoadResult result = fraiseql::LoadConfigString(text, "fuzz.toml", options);
  // config.h: the config is set exactly when there is no error.
  if (result.ok() != (result.error_count() == 0)) __builtin_trap();
  return 0;
}
