#include "listener/change_log_reader.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <memory>
#include <utility>

#include "common/json_limits.h"
#include "common/text.h"

namespace fraiseql {
namespace {

// The columns ChangeLogRow needs, every one cast to text so a legacy column of another type
// (a text object_id holding "42") still arrives and is judged by FromChangeLogRow, plus the txid.
// created_at is formatted in UTC here, independent of the session's TimeZone and DateStyle.
constexpr const char* kColumns[] = {
    "txid",          "pk_entity_change_log", "id",           "object_type",        "modification_type",
    "created_at",    "tenant_id",            "fk_customer_org", "fk_contact",      "object_id",
    "object_data",   "object_data_before",   "duration_ms",  "seq",                "actor_type",
    "acting_for",    "schema_version",       "extra_metadata"};
enum Column : size_t {
  kTxid, kPk, kId, kObjectType, kModificationType, kCreatedAt, kTenantId, kFkCustomerOrg, kFkContact,
  kObjectId, kObjectData, kObjectDataBefore, kDurationMs, kSeq, kActorType, kActingFor, kSchemaVersion,
  kExtraMetadata, kColumnCount
};
static_assert(std::size(kColumns) == kColumnCount);

std::string SelectList() {
  std::string list;
  for (size_t i = 0; i < kColumnCount; ++i) {
    if (i > 0) list += ", ";
    if (i == kCreatedAt) {
      // to_char gives NULL for 'infinity': sent as text, it is refused by name (FromChangeLogRow).
      list += "CASE WHEN isfinite(created_at) THEN to_char(created_at AT TIME ZONE 'UTC', "
              "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') ELSE created_at::text END";
    } else {
      list += std::string(kColumns[i]) + "::text";
    }
  }
  return list;
}

template <typename T>
Result<std::optional<T>> OptionalInteger(const PgResult& result, size_t row, size_t column) {
  const std::optional<std::string_view> text = result.Get(row, column);
  if (!text) return std::optional<T>();
  T value{};
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return Error::InvalidArgument(std::string(kColumns[column]) + " '" + std::string(*text) + "' is not an integer");
  }
  return std::optional<T>(value);
}

bool IsJsonColumn(size_t column) {
  return column == kObjectData || column == kObjectDataBefore || column == kExtraMetadata;
}

// The most bytes a column may hold (docs/security.md, "Parsers: nesting and size limits").
size_t MaxColumnBytes(size_t column) { return IsJsonColumn(column) ? kChangeLogJsonLimits.max_bytes : kMaxTextColumnBytes; }

// Checked before the value is parsed or copied: a row over a limit is dead-lettered like any row
// that cannot be converted (guarantee 7), with the pk to find it by.
Result<void> CheckColumnSize(const PgResult& result, size_t row, size_t column, int64_t pk) {
  const std::optional<std::string_view> text = result.Get(row, column);
  if (!text || text->size() <= MaxColumnBytes(column)) return Ok();
  return Error::InvalidArgument("change-log row " + std::to_string(pk) + ": " + kColumns[column] + " is " +
                                std::to_string(text->size()) + " bytes, over the limit of " +
                                std::to_string(MaxColumnBytes(column)) + " bytes");
}

Result<nlohmann::json> JsonColumn(const PgResult& result, size_t row, size_t column, int64_t pk) {
  const std::optional<std::string_view> text = result.Get(row, column);
  if (!text) return nlohmann::json();
  Result<nlohmann::json> value = ParseJsonWithin(*text, kChangeLogJsonLimits);
  if (!value) {
    return Error::InvalidArgument("change-log row " + std::to_string(pk) + ": " + kColumns[column] + ": " +
                                  value.error().message);
  }
  return std::move(value).value();
}

std::optional<std::string> TextColumn(const PgResult& result, size_t row, size_t column) {
  const std::optional<std::string_view> text = result.Get(row, column);
  if (!text) return std::nullopt;
  return std::string(*text);
}

Result<ChangeLogRow> ConvertRow(const PgResult& result, size_t row, int64_t pk) {
  for (size_t column = kId; column < kColumnCount; ++column) {
    FRAISEQL_RETURN_IF_ERROR(CheckColumnSize(result, row, column, pk));
  }
  ChangeLogRow out;
  out.pk = pk;
  out.id = std::string(result.Get(row, kId).value_or(""));
  out.object_type = std::string(result.Get(row, kObjectType).value_or(""));
  out.modification_type = std::string(result.Get(row, kModificationType).value_or(""));
  out.created_at = TextColumn(result, row, kCreatedAt);
  out.tenant_id = TextColumn(result, row, kTenantId);
  FRAISEQL_ASSIGN_OR_RETURN(out.fk_customer_org, OptionalInteger<int64_t>(result, row, kFkCustomerOrg));
  FRAISEQL_ASSIGN_OR_RETURN(out.fk_contact, OptionalInteger<int64_t>(result, row, kFkContact));
  out.object_id = TextColumn(result, row, kObjectId);
  FRAISEQL_ASSIGN_OR_RETURN(out.object_data, JsonColumn(result, row, kObjectData, pk));
  FRAISEQL_ASSIGN_OR_RETURN(out.object_data_before, JsonColumn(result, row, kObjectDataBefore, pk));
  FRAISEQL_ASSIGN_OR_RETURN(out.duration_ms, OptionalInteger<int32_t>(result, row, kDurationMs));
  FRAISEQL_ASSIGN_OR_RETURN(out.seq, OptionalInteger<int64_t>(result, row, kSeq));
  out.actor_type = TextColumn(result, row, kActorType);
  out.acting_for = TextColumn(result, row, kActingFor);
  out.schema_version = TextColumn(result, row, kSchemaVersion);
  FRAISEQL_ASSIGN_OR_RETURN(out.extra_metadata, JsonColumn(result, row, kExtraMetadata, pk));
  return out;
}

// The row's size as received: its columns' text.
size_t RowBytes(const PgResult& result, size_t row) {
  size_t bytes = 0;
  for (size_t column = 0; column < kColumnCount; ++column) bytes += result.Get(row, column).value_or("").size();
  return bytes;
}

// Every column as text, for the dead letter. A column over its size limit keeps only its start:
// the dead letter must stay writable, and the row itself stays in the change log under its pk.
nlohmann::json RawRow(const PgResult& result, size_t row) {
  constexpr size_t kKeptBytes = 1024;
  nlohmann::json raw = nlohmann::json::object();
  for (size_t column = 0; column < kColumnCount; ++column) {
    const std::optional<std::string_view> text = result.Get(row, column);
    if (!text) {
      raw[kColumns[column]] = nlohmann::json();
    } else if (text->size() > MaxColumnBytes(column)) {
      raw[kColumns[column]] = TruncateUtf8(*text, kKeptBytes) + " (" + std::to_string(text->size()) +
                              " bytes in all, over the limit: read the row by its pk)";
    } else {
      raw[kColumns[column]] = std::string(*text);
    }
  }
  return raw;
}

Result<std::string> QuoteIdentifier(PgConnection& conn, std::string_view part) {
  const std::string text(part);
  std::unique_ptr<char, decltype(&PQfreemem)> quoted(PQescapeIdentifier(conn.native(), text.c_str(), text.size()),
                                                     &PQfreemem);
  if (!quoted) {
    std::string reason = PQerrorMessage(conn.native());
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r')) reason.pop_back();
    return Error::InvalidArgument("cannot quote '" + text + "' as an identifier: " + reason);
  }
  return std::string(quoted.get());
}

std::vector<std::optional<std::string>> PositionParams(ChangeLogPosition after) {
  return {std::to_string(after.txid), std::to_string(after.pk)};
}

}  // namespace

Result<ChangeLogReader> ChangeLogReader::Create(PgConnection& conn, std::string_view table) {
  const size_t dot = table.find('.');
  std::string_view schema;
  std::string_view name = table;
  if (dot != std::string_view::npos) {
    schema = table.substr(0, dot);
    name = table.substr(dot + 1);
    if (schema.empty() || name.find('.') != std::string_view::npos) {
      return Error::InvalidArgument("change_log_table '" + std::string(table) +
                                    "' must be \"table\" or \"schema.table\"");
    }
  }
  if (name.empty()) {
    return Error::InvalidArgument("change_log_table '" + std::string(table) +
                                  "' must be \"table\" or \"schema.table\"");
  }
  std::string quoted;
  if (!schema.empty()) {
    FRAISEQL_ASSIGN_OR_RETURN(quoted, QuoteIdentifier(conn, schema));
    quoted += ".";
  }
  std::string quoted_name;
  FRAISEQL_ASSIGN_OR_RETURN(quoted_name, QuoteIdentifier(conn, name));
  quoted += quoted_name;
  return ChangeLogReader(std::move(quoted));
}

ChangeLogReader::ChangeLogReader(std::string quoted_table) : quoted_table_(std::move(quoted_table)) {
  // The row comparison and the ORDER BY match the (txid, pk_entity_change_log) index, so a read
  // is an index range scan that stops after `limit` rows, however long the log is.
  // The ORDER BY names the table's columns through the alias: a bare name would mean the
  // select list's text casts of the same name, and sort "99" after "200".
  // The inner query stops the index scan after `limit` rows and adds up their stored sizes
  // (pg_column_size reads a value's header, never decompresses it); the outer one keeps the
  // prefix within the byte limit (the first row always) and only then casts values to text.
  read_sql_ = "SELECT " + SelectList() + " FROM (SELECT c.*, row_number() OVER w AS fraiseql_row,"
              " sum(coalesce(pg_column_size(c.object_data), 0) + coalesce(pg_column_size(c.object_data_before), 0)"
              " + coalesce(pg_column_size(c.extra_metadata), 0)) OVER w AS fraiseql_bytes"
              " FROM " + quoted_table_ +
              " AS c WHERE (c.txid, c.pk_entity_change_log) > ($1::xid8, $2::bigint)"
              " AND c.txid < pg_snapshot_xmin(pg_current_snapshot())"
              " WINDOW w AS (ORDER BY c.txid, c.pk_entity_change_log ROWS UNBOUNDED PRECEDING)"
              " ORDER BY c.txid, c.pk_entity_change_log LIMIT $3::bigint) AS c"
              " WHERE c.fraiseql_row = 1 OR c.fraiseql_bytes <= $4::bigint"
              " ORDER BY c.txid, c.pk_entity_change_log";
  held_back_sql_ = "SELECT EXISTS (SELECT 1 FROM " + quoted_table_ +
                   " WHERE (txid, pk_entity_change_log) > ($1::xid8, $2::bigint)"
                   " AND txid >= pg_snapshot_xmin(pg_current_snapshot()))";
  legacy_position_sql_ = "SELECT (SELECT min(txid) FROM " + quoted_table_ +
                         " WHERE pk_entity_change_log > $1::bigint)::text,"
                         " pg_snapshot_xmin(pg_current_snapshot())::text";
  backlog_sql_ = "SELECT (SELECT pk_entity_change_log FROM " + quoted_table_ +
                 " ORDER BY pk_entity_change_log DESC LIMIT 1)::text, o.pk::text,"
                 " extract(epoch FROM now() - o.created_at)::float8::text"
                 " FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT pk_entity_change_log AS pk, created_at FROM " +
                 quoted_table_ +
                 " WHERE (txid, pk_entity_change_log) > ($1::xid8, $2::bigint)"
                 " ORDER BY txid, pk_entity_change_log LIMIT 1) AS o ON true";
}

Result<std::vector<ChangeLogEntry>> ChangeLogReader::ReadBatch(PgConnection& conn, ChangeLogPosition after,
                                                               ReadLimits limits) const {
  std::vector<std::optional<std::string>> params = PositionParams(after);
  params.emplace_back(std::to_string(limits.rows));
  params.emplace_back(std::to_string(std::min<size_t>(limits.bytes, std::numeric_limits<int64_t>::max())));
  Result<PgResult> result = conn.Execute(read_sql_, params);
  if (!result) return std::move(result).error();
  std::vector<ChangeLogEntry> entries;
  entries.reserve(result->rows());
  size_t bytes = 0;
  for (size_t row = 0; row < result->rows(); ++row) {
    bytes += RowBytes(*result, row);
    if (!entries.empty() && bytes > limits.bytes) break;  // the rest is read again next time
    ChangeLogEntry entry;
    // txid and pk are NOT NULL integers by the contract; a failure here is the server's.
    std::optional<uint64_t> txid;
    std::optional<int64_t> pk;
    FRAISEQL_ASSIGN_OR_RETURN(txid, OptionalInteger<uint64_t>(*result, row, kTxid));
    FRAISEQL_ASSIGN_OR_RETURN(pk, OptionalInteger<int64_t>(*result, row, kPk));
    if (!txid || !pk) return Error::Internal("the change log returned a row without txid or pk");
    entry.position = ChangeLogPosition{*txid, *pk};
    entry.row = ConvertRow(*result, row, *pk);
    if (!entry.row) entry.raw = RawRow(*result, row);
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<bool> ChangeLogReader::HasHeldBackRows(PgConnection& conn, ChangeLogPosition after) const {
  Result<PgResult> result = conn.Execute(held_back_sql_, PositionParams(after));
  if (!result) return std::move(result).error();
  return result->rows() > 0 && result->Get(0, 0).value_or("f") == "t";
}

Result<BacklogEstimate> ChangeLogReader::EstimateBacklog(PgConnection& conn, ChangeLogPosition after) const {
  Result<PgResult> result = conn.Execute(backlog_sql_, PositionParams(after));
  if (!result) return std::move(result).error();
  BacklogEstimate estimate;
  if (result->rows() == 0 || result->is_null(0, 1)) return estimate;
  std::optional<int64_t> newest;
  std::optional<int64_t> oldest;
  FRAISEQL_ASSIGN_OR_RETURN(newest, OptionalInteger<int64_t>(*result, 0, 0));
  FRAISEQL_ASSIGN_OR_RETURN(oldest, OptionalInteger<int64_t>(*result, 0, 1));
  estimate.rows = newest && oldest ? std::max<int64_t>(1, *newest - *oldest + 1) : 1;
  const std::string lag(result->Get(0, 2).value_or("0"));
  double seconds = 0;
  auto [end, error] = std::from_chars(lag.data(), lag.data() + lag.size(), seconds);
  if (error == std::errc() && end == lag.data() + lag.size()) estimate.lag_seconds = std::max(0.0, seconds);
  return estimate;
}

Result<ChangeLogPosition> ChangeLogReader::LegacyPosition(PgConnection& conn, int64_t last_processed_id) const {
  const std::optional<std::string> params[] = {std::to_string(last_processed_id)};
  Result<PgResult> result = conn.Execute(legacy_position_sql_, params);
  if (!result) return std::move(result).error();
  auto parse = [](std::string_view text) -> Result<uint64_t> {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      return Error::Internal("txid '" + std::string(text) + "' is not an unsigned integer");
    }
    return value;
  };
  uint64_t xmin = 0;
  FRAISEQL_ASSIGN_OR_RETURN(xmin, parse(result->Get(0, 1).value_or("")));
  // Transactions still running (txid >= xmin) may hold rows of any pk, FraiseQL's reader skipped
  // them: the position must lie below every one of them.
  ChangeLogPosition position{xmin > 0 ? xmin - 1 : 0, last_processed_id};
  if (const std::optional<std::string_view> oldest = result->Get(0, 0)) {
    uint64_t txid = 0;
    FRAISEQL_ASSIGN_OR_RETURN(txid, parse(*oldest));
    position.txid = std::min(position.txid, txid);
  }
  return position;
}

}  // namespace fraiseql
