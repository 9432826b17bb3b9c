#include "db/connection.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <vector>

#include "common/log.h"
#include "common/text.h"
#include "db/sqlstate.h"

namespace fraiseql {
namespace {

std::string_view TrimTrailingNewlines(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// ours become one log line and one dead-letter reason, so line breaks and tabs become a space.
std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool blank = false;
  for (const char c : TrimTrailingNewlines(text)) {
    const bool is_blank = c == '\n' || c == '\r' || c == '\t';
    if (is_blank) {
      if (!blank) out += ' ';
    } else {
      out += c;
    }
    blank = is_blank;
  }
  return out;
}

// The forms a password can take inside `url`: the userinfo part of a URI (as written, maybe
// percent-encoded), a `password=` query parameter or conninfo keyword, and libpq's decoded
// value. libpq's messages about an unparsable URL quote pieces of it, so every error text
// derived from the URL goes through RedactPassword().
std::vector<std::string> PasswordForms(const std::string& url) {
  std::vector<std::string> forms;
  if (const size_t scheme = url.find("://"); scheme != std::string::npos) {
    const size_t authority = scheme + 3;
    const size_t authority_end = std::min(url.find_first_of("/?", authority), url.size());
    const size_t at = url.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority) {
      const size_t colon = url.find(':', authority);
      if (colon != std::string::npos && colon < at) forms.push_back(url.substr(colon + 1, at - colon - 1));
    }
  }
  for (size_t position = url.find("password="); position != std::string::npos;
       position = url.find("password=", position + 1)) {
    size_t start = position + 9;
    const bool quoted = start < url.size() && url[start] == '\'';
    if (quoted) ++start;
    const size_t end = std::min(url.find_first_of(quoted ? "'" : "& ", start), url.size());
    forms.push_back(url.substr(start, end - start));
  }
  char* parse_error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_error)) {
    for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
      if (std::string_view(option->keyword) == "password" && option->val != nullptr) forms.emplace_back(option->val);
    }
    PQconninfoFree(options);
  }
  PQfreemem(parse_error);
  std::erase_if(forms, [](const std::string& form) { return form.empty(); });
  return forms;
}

std::string RedactPassword(std::string_view text, const std::string& url) {
  std::string out(text);
  std::vector<std::string> forms = PasswordForms(url);
  forms.push_back(url);
  // Longest first, so a shorter form inside a longer one does not leave the rest behind.
  std::sort(forms.begin(), forms.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const std::string& form : forms) {
    for (size_t position = out.find(form); position != std::string::npos; position = out.find(form, position)) {
      out.replace(position, form.size(), Secret::kRedacted);
      position += std::string_view(Secret::kRedacted).size();
    }
  }
  return out;
}

struct ParsedDestination {
  std::string host;
  std::string port;
  std::string dbname;

  std::string Short() const { return host + ":" + port + "/" + dbname; }
};

Result<ParsedDestination> ParseDestination(const Secret& url) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.Reveal().c_str(), &parse_error);
  if (options == nullptr) {
    std::string reason = parse_error != nullptr ? OneLine(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return Error::InvalidArgument("the database URL does not parse: " + RedactPassword(reason, url.Reveal()));
  }
  ParsedDestination destination;
  std::string user;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    const std::string_view keyword = option->keyword;
    if (keyword == "host" || (keyword == "hostaddr" && destination.host.empty())) destination.host = option->val;
    if (keyword == "port") destination.port = option->val;
    if (keyword == "dbname") destination.dbname = option->val;
    if (keyword == "user") user = option->val;
  }
  PQconninfoFree(options);
  if (destination.host.empty()) destination.host = "localhost";
  if (destination.port.empty()) destination.port = "5432";
  if (destination.dbname.empty()) destination.dbname = user;
  return destination;
}

// libpq prints NOTICEs ("table does not exist, skipping") to stderr by default; they belong in
// the log at debug level. A C callback: nothing may escape it.
void LogNotice(void* /*arg*/, const char* message) {
  try {
    if (log::Enabled(log::Level::kDebug)) {
      log::Write(log::Level::kDebug, "postgres notice", {{"notice", std::string(TrimTrailingNewlines(message))}});
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): a notice is not worth crashing for
  }
}

}  // namespace

size_t PgResult::rows() const { return static_cast<size_t>(PQntuples(result_.get())); }

size_t PgResult::columns() const { return static_cast<size_t>(PQnfields(result_.get())); }

std::string_view PgResult::column_name(size_t column) const { return PQfname(result_.get(), static_cast<int>(column)); }

std::optional<size_t> PgResult::column_index(std::string_view name) const {
  // Not PQfnumber: it case-folds unquoted names, and callers pass names as the server spelt them.
  for (size_t column = 0; column < columns(); ++column) {
    if (column_name(column) == name) return column;
  }
  return std::nullopt;
}

std::optional<std::string_view> PgResult::Get(size_t row, size_t column) const {
  const int r = static_cast<int>(row);
  const int c = static_cast<int>(column);
  if (PQgetisnull(result_.get(), r, c) != 0) return std::nullopt;
  return std::string_view(PQgetvalue(result_.get(), r, c), static_cast<size_t>(PQgetlength(result_.get(), r, c)));
}

bool PgResult::is_null(size_t row, size_t column) const {
  return PQgetisnull(result_.get(), static_cast<int>(row), static_cast<int>(column)) != 0;
}

uint64_t PgResult::affected_rows() const {
  const std::string_view text = PQcmdTuples(result_.get());
  uint64_t count = 0;
  std::from_chars(text.data(), text.data() + text.size(), count);
  return count;
}

Result<PgConnection> PgConnection::Connect(const Secret& url, std::chrono::milliseconds timeout) {
  auto destination = ParseDestination(url);
  if (!destination) return std::move(destination).error();
  const std::string description = destination->Short();

  const auto seconds = std::max<std::chrono::seconds::rep>(1, std::chrono::ceil<std::chrono::seconds>(timeout).count());
  const std::string timeout_text = std::to_string(seconds);
  // expand_dbname = 1: `url` is expanded into its parameters; keywords after it override them
  // (our connect timeout wins over one in the URL), keywords before it are defaults the URL may
  // override. The defaults find a dead server or network in tens of seconds rather than the
  // kernel's minutes, so no call (and no shutdown waiting for one) hangs on a silent peer:
  // unacknowledged data for 30 s, or an idle connection unanswered after 30 + 3 x 10 s.
  const char* const keywords[] = {"keepalives",       "keepalives_idle", "keepalives_interval",
                                  "keepalives_count", "tcp_user_timeout", "dbname",
                                  "connect_timeout",  "fallback_application_name", nullptr};
  const char* const values[] = {"1", "30", "10", "3", "30000", url.Reveal().c_str(), timeout_text.c_str(),
                                "fraiseql-observer", nullptr};
  PgConnection connection(PQconnectdbParams(keywords, values, /*expand_dbname=*/1), description);
  if (!connection.conn_) return Error::Internal("cannot connect to " + description + ": out of memory");
  if (PQstatus(connection.conn_.get()) != CONNECTION_OK) {
    const std::string reason = OneLine(PQerrorMessage(connection.conn_.get()));
    return Error::Unavailable("cannot connect to " + description + ": " + RedactPassword(reason, url.Reveal()));
  }
  PQsetNoticeProcessor(connection.conn_.get(), LogNotice, nullptr);
  return connection;
}

bool PgConnection::healthy() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

namespace {

// libpq wants NUL-terminated parameter values; nullptr is SQL NULL.
std::vector<const char*> ParamValues(PgParams params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::optional<std::string>& param : params) values.push_back(param ? param->c_str() : nullptr);
  return values;
}

}  // namespace

Error PgConnection::StatementError(const PGresult* raw) const {
  const ExecStatusType status = PQresultStatus(raw);  // PGRES_FATAL_ERROR for nullptr
  const char* sqlstate = raw != nullptr ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  if (sqlstate == nullptr || *sqlstate == '\0') {
    // No SQLSTATE: libpq itself failed, typically because the server went away mid-statement.
    const std::string reason = OneLine(raw != nullptr ? PQresultErrorMessage(raw) : PQerrorMessage(conn_.get()));
    if (!healthy()) return Error::Unavailable("the connection to " + description_ + " is lost: " + reason);
    if (raw != nullptr && status != PGRES_FATAL_ERROR) {
      return Error::Internal(std::string("unexpected result status ") + PQresStatus(status) +
                             " (only single statements without COPY are supported)");
    }
    return Error::Internal("statement failed: " + reason);
  }
  const char* primary = PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY);
  std::string text = OneLine(primary != nullptr ? primary : PQresultErrorMessage(raw));
  if (const char* detail = PQresultErrorField(raw, PG_DIAG_MESSAGE_DETAIL)) text += " (" + OneLine(detail) + ")";
  if (const char* hint = PQresultErrorField(raw, PG_DIAG_MESSAGE_HINT)) text += " (hint: " + OneLine(hint) + ")";
  return SqlStateError(sqlstate, text);
}

Result<PgResult> PgConnection::Checked(PgResult result) const {
  const PGresult* raw = result.result_.get();
  const ExecStatusType status = PQresultStatus(raw);
  if (raw != nullptr && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)) return result;
  return StatementError(raw);
}

Result<PgResult> PgConnection::Execute(std::string_view sql, PgParams params) {
  if (!healthy()) return Error::Unavailable("the connection to " + description_ + " is lost");
  if (params.size() > static_cast<size_t>(INT_MAX)) return Error::InvalidArgument("too many statement parameters");
  const std::vector<const char*> values = ParamValues(params);
  const std::string statement(sql);
  return Checked(PgResult(PQexecParams(conn_.get(), statement.c_str(), static_cast<int>(values.size()), nullptr,
                                       values.data(), nullptr, nullptr, /*resultFormat=text*/ 0)));
}

Result<PgResult> PgConnection::ExecutePrepared(std::string_view name, std::string_view sql, PgParams params) {
  if (!healthy()) return Error::Unavailable("the connection to " + description_ + " is lost");
  if (params.size() > static_cast<size_t>(INT_MAX)) return Error::InvalidArgument("too many statement parameters");
  const std::string statement_name(name);
  const std::vector<const char*> values = ParamValues(params);
  for (int attempt = 0;; ++attempt) {
    if (std::find(prepared_.begin(), prepared_.end(), statement_name) == prepared_.end()) {
      const std::string statement(sql);
      Result<PgResult> prepared =
          Checked(PgResult(PQprepare(conn_.get(), statement_name.c_str(), statement.c_str(), 0, nullptr)));
      if (!prepared) return std::move(prepared).error();
      prepared_.push_back(statement_name);
    }
    Result<PgResult> result = Checked(PgResult(PQexecPrepared(conn_.get(), statement_name.c_str(),
                                                              static_cast<int>(values.size()), values.data(), nullptr,
                                                              nullptr, /*resultFormat=text*/ 0)));
    if (result || SqlStateOf(result.error()) != "26000") return result;
    // The server forgot it: prepare it again. Inside a transaction the failure aborted it, so
    // the caller must retry the transaction (kAborted), and the next try prepares anew.
    std::erase(prepared_, statement_name);
    if (attempt > 0) return result;
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      Error error = std::move(result).error();
      error.code = ErrorCode::kAborted;
      return error;
    }
  }
}

Result<void> PgConnection::ExecuteScript(std::string_view sql) {
  if (!healthy()) return Error::Unavailable("the connection to " + description_ + " is lost");
  const std::string text(sql);  // PQexec needs a terminating NUL
  // PQexec returns the last statement's result, or the first error (it stops there).
  PgResult result(PQexec(conn_.get(), text.c_str()));
  const ExecStatusType status = PQresultStatus(result.result_.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return Ok();
  return StatementError(result.result_.get());
}

Result<std::string> PostgresDestination(const Secret& url) {
  auto destination = ParseDestination(url);
  if (!destination) return std::move(destination).error();
  return "postgresql://" + destination->Short();
}

}  // namespace fraiseql
