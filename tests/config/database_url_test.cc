// ResolveDatabaseUrl: flag, then [database] url, then DATABASE_URL; empty means not given.
#include "config/database_url.h"

#include <cstdlib>
#include <map>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

EnvLookup Env(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](std::string_view name) -> std::optional<std::string> {
    auto it = variables.find(std::string(name));
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

DatabaseConfig WithUrl(std::string url) {
  DatabaseConfig config;
  config.url = Secret(std::move(url));
  return config;
}

const EnvLookup kEnvUrl = Env({{"DATABASE_URL", "postgresql://env/db"}});
const EnvLookup kNoEnv = Env({});

TEST(ResolveDatabaseUrl, FlagWinsOverConfigAndEnvironment) {
  const DatabaseConfig config = WithUrl("postgresql://config/db");
  Result<Secret> url = ResolveDatabaseUrl(std::string("postgresql://flag/db"), &config, kEnvUrl);
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->Reveal(), "postgresql://flag/db");
}

TEST(ResolveDatabaseUrl, ConfigWinsOverEnvironment) {
  const DatabaseConfig config = WithUrl("postgresql://config/db");
  Result<Secret> url = ResolveDatabaseUrl(std::string(), &config, kEnvUrl);
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->Reveal(), "postgresql://config/db");
}

TEST(ResolveDatabaseUrl, EnvironmentIsTheLastResort) {
  const DatabaseConfig config;  // no url
  for (const DatabaseConfig* section : {&config, static_cast<const DatabaseConfig*>(nullptr)}) {
    Result<Secret> url = ResolveDatabaseUrl(std::nullopt, section, kEnvUrl);
    ASSERT_TRUE(url) << url.error().message;
    EXPECT_EQ(url->Reveal(), "postgresql://env/db");
  }
}

TEST(ResolveDatabaseUrl, EmptyCountsAsNotGivenEverywhere) {
  const DatabaseConfig empty_config = WithUrl("");
  Result<Secret> url = ResolveDatabaseUrl(std::string(), &empty_config, kEnvUrl);
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->Reveal(), "postgresql://env/db");

  Result<Secret> none = ResolveDatabaseUrl(std::string(), &empty_config, Env({{"DATABASE_URL", ""}}));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument);
}

TEST(ResolveDatabaseUrl, ErrorNamesTheWaysTheCallerOffers) {
  const DatabaseConfig config;
  Result<Secret> all = ResolveDatabaseUrl(std::string(), &config, kNoEnv);
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().message,
            "no database URL: pass --database-url URL, set [database] url (or url_env) in the config, or set "
            "DATABASE_URL");

  Result<Secret> flag_only = ResolveDatabaseUrl(std::string(), nullptr, kNoEnv);
  ASSERT_FALSE(flag_only);
  EXPECT_EQ(flag_only.error().message, "no database URL: pass --database-url URL or set DATABASE_URL");

  Result<Secret> config_only = ResolveDatabaseUrl(std::nullopt, &config, kNoEnv);
  ASSERT_FALSE(config_only);
  EXPECT_EQ(config_only.error().message,
            "no database URL: set [database] url (or url_env) in the config or set DATABASE_URL");

  Result<Secret> environment_only = ResolveDatabaseUrl(std::nullopt, nullptr, kNoEnv);
  ASSERT_FALSE(environment_only);
  EXPECT_EQ(environment_only.error().message, "no database URL: set DATABASE_URL");
}

TEST(ResolveDatabaseUrl, DefaultsToTheProcessEnvironment) {
  // A variable name nobody sets would not test anything: DATABASE_URL is what it reads, so set it
  // for this process only and put it back.
  const char* saved = std::getenv("DATABASE_URL");  // NOLINT(concurrency-mt-unsafe): one test thread
  const std::optional<std::string> before = saved ? std::optional<std::string>(saved) : std::nullopt;
  setenv("DATABASE_URL", "postgresql://process/db", 1);
  Result<Secret> url = ResolveDatabaseUrl(std::nullopt, nullptr);
  if (before) {
    setenv("DATABASE_URL", before->c_str(), 1);
  } else {
    unsetenv("DATABASE_URL");
  }
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->Reveal(), "postgresql://process/db");
}

}  // namespace
}  // namespace fraiseql
