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

bool RefusesData(const Error& error) {
  const std::string_view sql_class = SqlStateClass(SqlStateOf(error));
  return sql_class == "22" || sql_class == "23";
}

Error DataRefusalOrNotReady(Error error) {
  if (error.code == ErrorCode::kInvalidArgument && !SqlStateOf(error).empty() && !RefusesData(error)) {
    error.code = ErrorCode::kFailedPrecondition;
  }
  return error;
}

std::string_view SqlStateClass(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return {};
  return sqlstate.substr(0, 2);
}

}  // namespace fraiseql
