// ResolveDatabaseUrl: the one rule every command and the daemon use to pick the PostgreSQL URL,
// so `run`, `migrate`, `attach`, `detach` and `dlq` always agree on which database they mean.
// Thread-safety: a pure function; it reads the environment only through `getenv`.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "common/secret.h"
#include "config/env_expand.h"
#include "config/sections.h"

namespace fraiseql {

// The first of, in this order: `flag` (an explicit --database-url), `config`'s url ([database]
// url or url_env), the DATABASE_URL environment variable. An empty string counts as not given,
// wherever it comes from.
//
// `flag` is std::nullopt for a caller without such a flag (the daemon), and `config` nullptr for
// one without a config file; the error then names only the ways that caller offers. `getenv`
// defaults to the process environment when empty.
//
// Errors: kInvalidArgument "no database URL: pass --database-url URL, set [database] url (or
// url_env) in the config, or set DATABASE_URL" (naming the ways offered).
Result<Secret> ResolveDatabaseUrl(const std::optional<std::string>& flag, const DatabaseConfig* config,
                                  const EnvLookup& getenv = {});

}  // namespace fraiseql
