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

bool FailsWhateverTheBatch(const Error& error) {
  const std::string_view sqlstate = SqlStateOf(error);
  const std::string_view sql_class = SqlStateClass(sqlstate);
  if (sql_class.empty()) return error.code != ErrorCode::kInvalidArgument;  // client side: judged by its code
  static constexpr std::string_view kClasses[] = {"08", "25", "28", "3D", "40", "42", "55", "58", "F0"};
  static constexpr std::string_view kStates[] = {"53100", "53300", "XX001", "XX002"};
  for (std::string_view environment : kClasses) {
    if (sql_class == environment) return true;
  }
  for (std::string_view environment : kStates) {
    if (sqlstate == environment) return true;
  }
  return sqlstate.starts_with("57P0");
}

Error AsBatchFailure(Error error) {
  if (!FailsWhateverTheBatch(error)) {
    error.code = ErrorCode::kInvalidArgument;
    return error;
  }
  const std::string_view sqlstate = SqlStateOf(error);
  if (sqlstate.empty()) return error;  // a client-side failure keeps its code
  const std::string_view sql_class = SqlStateClass(sqlstate);
  const bool needs_someone = sql_class == "42" || sql_class == "28" || sql_class == "3D" || sql_class == "F0" ||
                             sql_class == "58" || (sql_class == "55" && sqlstate != "55P03");
  if (needs_someone) {
    error.code = ErrorCode::kFailedPrecondition;
  } else if (error.code != ErrorCode::kAborted) {
    error.code = ErrorCode::kUnavailable;
  }
  return error;
}

std::string_view SqlStateClass(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return {};
  return sqlstate.substr(0, 2);
}

}  // namespace fraiseql
