#include "dlq/postgres_dead_letter_store.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "db/sql_text.h"
#include "event/entity_event.h"

namespace fraiseql {
namespace {

// Timestamps leave the server in one fixed form, whatever the session's TimeZone.
constexpr std::string_view kUtc = "YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"";

std::string Columns() {
  const std::string utc(kUtc);
  return "id, to_char(created_at AT TIME ZONE 'UTC', '" + utc + "'), retry_count, to_char(last_retried_at AT TIME ZONE 'UTC', '" + utc +
         "'), delivery_id, listener_id, change_log_pk, event, row_data, observer, action_index, action_type,"
         " entity_type, attempts, reason";
}

// The WHERE, ORDER BY and LIMIT of a selection, with its parameters.
struct Selection {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

Selection Select(const DeadLetterSelector& selector) {
  Selection out;
  std::vector<std::string> conditions;
  auto param = [&](std::string value) {
    out.params.emplace_back(std::move(value));
    return "$" + std::to_string(out.params.size());
  };
  if (selector.id) {
    conditions.push_back("id = " + param(std::to_string(*selector.id)));
  } else {
    const DeadLetterFilter& filter = selector.filter;
    if (filter.observer) conditions.push_back("observer = " + param(*filter.observer));
    if (filter.entity_type) conditions.push_back("entity_type = " + param(*filter.entity_type));
    if (filter.since) conditions.push_back("created_at >= " + param(sql_text::Timestamp(*filter.since)) + "::timestamptz");
  }
  for (size_t i = 0; i < conditions.size(); ++i) out.sql += (i == 0 ? " WHERE " : " AND ") + conditions[i];
  out.sql += " ORDER BY id";
  if (!selector.id && selector.filter.limit > 0) out.sql += " LIMIT " + param(std::to_string(selector.filter.limit));
  return out;
}

template <typename Int>
std::optional<Int> ParseInt(std::optional<std::string_view> text) {
  Int value{};
  if (!text || std::from_chars(text->data(), text->data() + text->size(), value).ec != std::errc()) return std::nullopt;
  return value;
}

std::optional<std::string> OptionalText(const PgResult& rows, size_t row, size_t column) {
  if (std::optional<std::string_view> text = rows.Get(row, column)) return std::string(*text);
  return std::nullopt;
}

std::optional<nlohmann::json> OptionalJson(const PgResult& rows, size_t row, size_t column) {
  std::optional<std::string_view> text = rows.Get(row, column);
  if (!text) return std::nullopt;
  nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, false);
  if (parsed.is_discarded()) return nlohmann::json(std::string(*text));  // jsonb always parses; be safe
  return parsed;
}

std::optional<std::chrono::system_clock::time_point> OptionalTime(const PgResult& rows, size_t row, size_t column) {
  std::optional<std::string_view> text = rows.Get(row, column);
  if (!text) return std::nullopt;
  Result<Timestamp> parsed = ParseTimestamp(*text);
  if (!parsed) return std::nullopt;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(*parsed);
}

// A row of Columns(). Tolerant: an operator must be able to see a row even if part of it is
// damaged, so an attempt that does not decode is left out rather than failing the listing.
StoredDeadLetter DecodeRow(const PgResult& rows, size_t row) {
  StoredDeadLetter stored;
  stored.id = ParseInt<int64_t>(rows.Get(row, 0)).value_or(0);
  stored.created_at = OptionalTime(rows, row, 1).value_or(std::chrono::system_clock::time_point());
  stored.retry_count = ParseInt<int>(rows.Get(row, 2)).value_or(0);
  stored.last_retried_at = OptionalTime(rows, row, 3);
  DeadLetter& letter = stored.letter;
  letter.delivery_id = OptionalText(rows, row, 4);
  letter.listener_id = OptionalText(rows, row, 5).value_or("");
  letter.change_log_pk = ParseInt<int64_t>(rows.Get(row, 6));
  letter.event = OptionalJson(rows, row, 7);
  letter.row_data = OptionalJson(rows, row, 8);
  letter.observer = OptionalText(rows, row, 9);
  letter.action_index = ParseInt<size_t>(rows.Get(row, 10));
  letter.action_type = OptionalText(rows, row, 11);
  letter.entity_type = OptionalText(rows, row, 12);
  if (std::optional<nlohmann::json> attempts = OptionalJson(rows, row, 13); attempts && attempts->is_array()) {
    for (const nlohmann::json& attempt : *attempts) {
      if (Result<AttemptRecord> decoded = AttemptFromJson(attempt)) letter.attempts.push_back(std::move(decoded).value());
    }
  }
  letter.reason = OptionalText(rows, row, 14).value_or("");
  return stored;
}

}  // namespace

std::string PostgresDeadLetterStore::InsertSql(int param, std::string_view only_if) {
  // The LEFT JOIN reads the job row before a DELETE in the same statement removes it (all parts
  // of one statement see the same snapshot), so an engine's dead letter, which knows neither
  // its listener nor its change-log row, still records both.
  return "INSERT INTO observer_dead_letters (delivery_id, listener_id, change_log_pk, event, row_data,"
         " observer, action_index, action_type, entity_type, attempts, reason)"
         " SELECT d.delivery_id, COALESCE(NULLIF(d.listener_id, ''), j.listener_id),"
         " COALESCE(d.change_log_pk, j.change_log_pk), d.event, d.row_data, d.observer, d.action_index,"
         " d.action_type, d.entity_type, COALESCE(d.attempts, '[]'::jsonb), COALESCE(d.reason, '')"
         " FROM ROWS FROM (jsonb_to_recordset($" +
         std::to_string(param) +
         "::jsonb) AS (delivery_id uuid, listener_id text, change_log_pk bigint, event jsonb, row_data jsonb,"
         " observer text, action_index int, action_type text, entity_type text, attempts jsonb, reason text))"
         " WITH ORDINALITY AS d(delivery_id, listener_id, change_log_pk, event, row_data, observer,"
         " action_index, action_type, entity_type, attempts, reason, n)"
         " LEFT JOIN observer_jobs j ON j.delivery_id = d.delivery_id" +
         (only_if.empty() ? std::string() : " WHERE " + std::string(only_if)) + " ORDER BY d.n";
}

Result<void> PostgresDeadLetterStore::AddWith(PgConnection& conn, std::span<const DeadLetter> letters) {
  if (letters.empty()) return Ok();
  FRAISEQL_RETURN_IF_ERROR(dead_letter_internal::Validate(letters));
  std::vector<nlohmann::json> rows;
  rows.reserve(letters.size());
  for (const DeadLetter& letter : letters) rows.push_back(DeadLetterToJson(letter));
  for (std::string& array : sql_text::JsonArrays(rows)) {
    const std::optional<std::string> params[] = {std::move(array)};
    Result<PgResult> result = conn.Execute(InsertSql(1), params);
    if (!result) return std::move(result).error().Context("inserting dead letters");
  }
  return Ok();
}

Result<void> PostgresDeadLetterStore::Add(std::span<const DeadLetter> letters) { return AddWith(*conn_, letters); }

Result<std::vector<StoredDeadLetter>> PostgresDeadLetterStore::List(const DeadLetterFilter& filter) {
  const Selection selection = Select(DeadLetterSelector{std::nullopt, filter});
  Result<PgResult> rows = conn_->Execute("SELECT " + Columns() + " FROM observer_dead_letters" + selection.sql,
                                         selection.params);
  if (!rows) return std::move(rows).error().Context("listing dead letters");
  std::vector<StoredDeadLetter> out;
  out.reserve(rows->rows());
  for (size_t row = 0; row < rows->rows(); ++row) out.push_back(DecodeRow(*rows, row));
  return out;
}

Result<StoredDeadLetter> PostgresDeadLetterStore::Get(int64_t id) {
  const Selection selection = Select(DeadLetterSelector{id, {}});
  Result<PgResult> rows = conn_->Execute("SELECT " + Columns() + " FROM observer_dead_letters" + selection.sql,
                                         selection.params);
  if (!rows) return std::move(rows).error().Context("reading dead letter " + std::to_string(id));
  if (rows->rows() == 0) return Error::NotFound("there is no dead letter " + std::to_string(id));
  return DecodeRow(*rows, 0);
}

Result<RetryReport> PostgresDeadLetterStore::Retry(const DeadLetterSelector& selector, bool dry_run) {
  const Selection selection = Select(selector);
  static constexpr std::string_view kPicked =
      "SELECT id, delivery_id, listener_id, change_log_pk, event, observer, action_index,"
      " (delivery_id IS NOT NULL AND event IS NOT NULL AND observer IS NOT NULL AND action_index IS NOT NULL)"
      " AS retryable FROM observer_dead_letters";
  std::string sql;
  if (dry_run) {
    sql = "SELECT p.id, p.delivery_id, p.observer, p.action_index, p.retryable,"
          " NOT EXISTS (SELECT 1 FROM observer_jobs j WHERE j.delivery_id = p.delivery_id) AS enqueued"
          " FROM (" + std::string(kPicked) + selection.sql + ") p ORDER BY p.id";
  } else {
    // One statement, so one transaction: the job is queued and its dead letter deleted, or
    // neither. FOR UPDATE makes two concurrent retries of the same dead letter run it once. Each
    // delivery is queued once even when several dead letters name it (the newest one's event).
    sql = "WITH picked AS (" + std::string(kPicked) + selection.sql + " FOR UPDATE),"
          " ins AS (INSERT INTO observer_jobs (delivery_id, listener_id, change_log_pk, event, observer,"
          " action_index, attempt, attempts, run_at)"
          " SELECT DISTINCT ON (delivery_id) delivery_id, COALESCE(listener_id, 'default'), change_log_pk, event,"
          " observer, action_index, 0, '[]'::jsonb, now() FROM picked WHERE retryable ORDER BY delivery_id, id DESC"
          " ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id),"
          " del AS (DELETE FROM observer_dead_letters d USING picked p WHERE d.id = p.id AND p.retryable RETURNING d.id)"
          " SELECT p.id, p.delivery_id, p.observer, p.action_index, p.retryable,"
          " EXISTS (SELECT 1 FROM ins WHERE ins.delivery_id = p.delivery_id) AS enqueued"
          " FROM picked p ORDER BY p.id";
  }
  Result<PgResult> rows = conn_->Execute(sql, selection.params);
  if (!rows) return std::move(rows).error().Context("retrying dead letters");
  if (selector.id && rows->rows() == 0) return Error::NotFound("there is no dead letter " + std::to_string(*selector.id));
  RetryReport report;
  report.dry_run = dry_run;
  for (size_t row = 0; row < rows->rows(); ++row) {
    RetryItem item;
    item.id = ParseInt<int64_t>(rows->Get(row, 0)).value_or(0);
    item.delivery_id = OptionalText(*rows, row, 1);
    item.observer = OptionalText(*rows, row, 2);
    item.action_index = ParseInt<size_t>(rows->Get(row, 3));
    const bool retryable = rows->Get(row, 4) == std::optional<std::string_view>("t");
    const bool enqueued = rows->Get(row, 5) == std::optional<std::string_view>("t");
    item.outcome = !retryable ? RetryOutcome::kNotRetryable
                   : enqueued ? RetryOutcome::kEnqueued
                              : RetryOutcome::kAlreadyQueued;
    report.items.push_back(std::move(item));
  }
  return report;
}

Result<PurgeReport> PostgresDeadLetterStore::Purge(const DeadLetterSelector& selector, bool dry_run) {
  const Selection selection = Select(selector);
  const std::string picked = "SELECT id FROM observer_dead_letters" + selection.sql;
  const std::string sql =
      dry_run ? picked : "DELETE FROM observer_dead_letters WHERE id IN (" + picked + ") RETURNING id";
  Result<PgResult> rows = conn_->Execute(sql, selection.params);
  if (!rows) return std::move(rows).error().Context("purging dead letters");
  if (selector.id && rows->rows() == 0) return Error::NotFound("there is no dead letter " + std::to_string(*selector.id));
  PurgeReport report;
  report.dry_run = dry_run;
  for (size_t row = 0; row < rows->rows(); ++row) report.ids.push_back(ParseInt<int64_t>(rows->Get(row, 0)).value_or(0));
  std::sort(report.ids.begin(), report.ids.end());
  return report;
}

}  // namespace fraiseql
