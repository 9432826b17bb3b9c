#include "dlq/postgres_dlq_store.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "dlq/sql_text.h"
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
  StoredDeadLetter letter;
  letter.id = ParseInt<int64_t>(rows.Get(row, 0)).value_or(0);
  letter.created_at = OptionalTime(rows, row, 1).value_or(std::chrono::system_clock::time_point());
  letter.retry_count = ParseInt<int>(rows.Get(row, 2)).value_or(0);
  letter.last_retried_at = OptionalTime(rows, row, 3);
  DeadLetterRecord& record = letter.record;
  record.delivery_id = OptionalText(rows, row, 4);
  record.listener_id = OptionalText(rows, row, 5).value_or("");
  record.change_log_pk = ParseInt<int64_t>(rows.Get(row, 6));
  record.event = OptionalJson(rows, row, 7);
  record.row_data = OptionalJson(rows, row, 8);
  record.observer = OptionalText(rows, row, 9);
  record.action_index = ParseInt<size_t>(rows.Get(row, 10));
  record.action_type = OptionalText(rows, row, 11);
  record.entity_type = OptionalText(rows, row, 12);
  if (std::optional<nlohmann::json> attempts = OptionalJson(rows, row, 13); attempts && attempts->is_array()) {
    for (const nlohmann::json& attempt : *attempts) {
      if (Result<AttemptRecord> decoded = AttemptFromJson(attempt)) record.attempts.push_back(std::move(decoded).value());
    }
  }
  record.reason = OptionalText(rows, row, 14).value_or("");
  return letter;
}

Error WithContext(std::string_view what, Error error) {
  error.message = std::string(what) + ": " + error.message;
  return error;
}

}  // namespace

nlohmann::json StoredDeadLetterToJson(const StoredDeadLetter& letter) {
  auto time = [](std::chrono::system_clock::time_point at) { return sql_text::Timestamp(at); };
  nlohmann::json out = {{"id", letter.id},
                        {"created_at", time(letter.created_at)},
                        {"retry_count", letter.retry_count},
                        {"last_retried_at", letter.last_retried_at ? nlohmann::json(time(*letter.last_retried_at))
                                                                   : nlohmann::json()},
                        {"retryable", letter.retryable()}};
  const nlohmann::json record = DeadLetterRecordToJson(letter.record);  // items() must not outlive it
  for (const auto& [key, value] : record.items()) out[key] = value;
  // Absent optionals as null rather than missing, so JSON consumers see every field.
  for (const char* key : {"delivery_id", "change_log_pk", "event", "row_data", "observer", "action_index",
                          "action_type", "entity_type"}) {
    if (!out.contains(key)) out[key] = nullptr;
  }
  return out;
}

std::string_view RetryOutcomeName(RetryOutcome outcome) {
  switch (outcome) {
    case RetryOutcome::kEnqueued: return "enqueued";
    case RetryOutcome::kAlreadyQueued: return "already_queued";
    case RetryOutcome::kNotRetryable: return "not_retryable";
  }
  return "not_retryable";
}

size_t RetryReport::Count(RetryOutcome outcome) const {
  return static_cast<size_t>(
      std::count_if(items.begin(), items.end(), [&](const RetryItem& item) { return item.outcome == outcome; }));
}

Result<std::vector<StoredDeadLetter>> PostgresDlqStore::List(const DeadLetterFilter& filter) {
  const Selection selection = Select(DeadLetterSelector{std::nullopt, filter});
  Result<PgResult> rows = conn_->Execute("SELECT " + Columns() + " FROM observer_dead_letters" + selection.sql,
                                         selection.params);
  if (!rows) return WithContext("listing dead letters", std::move(rows).error());
  std::vector<StoredDeadLetter> out;
  out.reserve(rows->rows());
  for (size_t row = 0; row < rows->rows(); ++row) out.push_back(DecodeRow(*rows, row));
  return out;
}

Result<StoredDeadLetter> PostgresDlqStore::Get(int64_t id) {
  const Selection selection = Select(DeadLetterSelector{id, {}});
  Result<PgResult> rows = conn_->Execute("SELECT " + Columns() + " FROM observer_dead_letters" + selection.sql,
                                         selection.params);
  if (!rows) return WithContext("reading dead letter " + std::to_string(id), std::move(rows).error());
  if (rows->rows() == 0) return Error::NotFound("there is no dead letter " + std::to_string(id));
  return DecodeRow(*rows, 0);
}

Result<RetryReport> PostgresDlqStore::Retry(const DeadLetterSelector& selector, bool dry_run) {
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
  if (!rows) return WithContext("retrying dead letters", std::move(rows).error());
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

Result<PurgeReport> PostgresDlqStore::Purge(const DeadLetterSelector& selector, bool dry_run) {
  const Selection selection = Select(selector);
  const std::string picked = "SELECT id FROM observer_dead_letters" + selection.sql;
  const std::string sql =
      dry_run ? picked : "DELETE FROM observer_dead_letters WHERE id IN (" + picked + ") RETURNING id";
  Result<PgResult> rows = conn_->Execute(sql, selection.params);
  if (!rows) return WithContext("purging dead letters", std::move(rows).error());
  if (selector.id && rows->rows() == 0) return Error::NotFound("there is no dead letter " + std::to_string(*selector.id));
  PurgeReport report;
  report.dry_run = dry_run;
  for (size_t row = 0; row < rows->rows(); ++row) report.ids.push_back(ParseInt<int64_t>(rows->Get(row, 0)).value_or(0));
  std::sort(report.ids.begin(), report.ids.end());
  return report;
}

}  // namespace fraiseql
