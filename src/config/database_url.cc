#include "config/database_url.h"

#include <vector>

namespace fraiseql {
namespace {

// "a or b", "a, b, or c".
std::string Alternatives(const std::vector<std::string_view>& ways) {
  std::string text;
  for (size_t i = 0; i < ways.size(); ++i) {
    if (i > 0) text += i + 1 < ways.size() ? ", " : ways.size() > 2 ? ", or " : " or ";
    text += ways[i];
  }
  return text;
}

}  // namespace

Result<Secret> ResolveDatabaseUrl(const std::optional<std::string>& flag, const DatabaseConfig* config,
                                  const EnvLookup& getenv) {
  if (flag && !flag->empty()) return Secret(*flag);
  if (config != nullptr && config->url && !config->url->empty()) return *config->url;
  std::optional<std::string> env = getenv ? getenv("DATABASE_URL") : ProcessEnv("DATABASE_URL");
  if (env && !env->empty()) return Secret(std::move(*env));

  std::vector<std::string_view> ways;
  if (flag) ways.push_back("pass --database-url URL");
  if (config != nullptr) ways.push_back("set [database] url (or url_env) in the config");
  ways.push_back("set DATABASE_URL");
  return Error::InvalidArgument("no database URL: " + Alternatives(ways));
}

}  // namespace fraiseql
