#include "db/sqlstate.h"


namespace fraiseql {

ErrorCode ClassifySqlState(std::string_view sqlstate) {
  const std::string_view sql_class = SqlStateClass(sqlstate);
  if (sql_class.empty()) return ErrorCode::kInternal;
  if (sqlstate == "40001" || sqlstate == "40P01") return ErrorCode::kAborted;
  if (sql_class == "08" || sql_class == "53" || sqlstate.starts_with("57P0") || sqlstate == "57014" ||
      sqlstate == "55P03" || sqlstate == "25006") {
    return ErrorCode::kUnavailable;
  }
  if (sql_class == "22" || sql_class == "23" || sql_class == "42" || sql_class == "P0") {
    return ErrorCode::kInvalidArgument;
  }
  return ErrorCode::kInternal;
}

Error SqlStateError(std::string_view sqlstate, std::string_view text) {
  std::string message = std::string(kSqlStatePrefix) + std::string(sqlstate) + ": " + std::string(text);
  return Error::Of(ClassifySqlState(sqlstate), std::move(message))
      .WithDetail(std::string(kSqlStateDomain), std::string(sqlstate));
}

namespace {

// The failures of a batch write that say nothing about its rows (see FailsWhateverTheBatch),
// matched by prefix, first match wins; `needs_someone` when only a person fixing the database
// ends them (kFailedPrecondition), otherwise they pass on their own (retried as they are coded).
struct EnvironmentFailure {
  std::string_view prefix;
  bool needs_someone;
};
constexpr EnvironmentFailure kEnvironmentFailures[] = {
    {"08", false},    {"25", false},    {"28", true},     {"3D", true},     {"40", false},
    {"42", true},     {"53100", false}, {"53300", false}, {"55P03", false}, {"55", true},
    {"57P0", false},  {"58", true},     {"F0", true},     {"XX001", false}, {"XX002", false},
};

const EnvironmentFailure* EnvironmentFailureOf(std::string_view sqlstate) {
  if (SqlStateClass(sqlstate).empty()) return nullptr;
  for (const EnvironmentFailure& failure : kEnvironmentFailures) {
    if (sqlstate.starts_with(failure.prefix)) return &failure;
  }
  return nullptr;
}

}  // namespace

bool FailsWhateverTheBatch(const Error& error) {
  const std::string_view sqlstate = SqlStateOf(error);
  if (SqlStateClass(sqlstate).empty()) return error.code != ErrorCode::kInvalidArgument;  // client side: its code
  return EnvironmentFailureOf(sqlstate) != nullptr;
}

Error AsBatchFailure(Error error) {
  if (!FailsWhateverTheBatch(error)) {
    error.code = ErrorCode::kInvalidArgument;
    return error;
  }
  const EnvironmentFailure* failure = EnvironmentFailureOf(SqlStateOf(error));
  if (failure == nullptr) return error;  // a client-side failure keeps its code
  if (failure->needs_someone) {
    error.code = ErrorCode::kFailedPrecondition;
  } else if (error.code != ErrorCode::kAborted) {
    error.code = ErrorCode::kUnavailable;  // ClassifySqlState's code, or kInternal for XX001/XX002 and class 25
  }
  return error;
}

std::string_view SqlStateClass(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return {};
  return sqlstate.substr(0, 2);
}

}  // namespace fraiseql
