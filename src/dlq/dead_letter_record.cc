#include "dlq/dead_letter_record.h"

#include "dlq/sql_text.h"
#include "event/entity_event.h"

namespace fraiseql {

nlohmann::json DeadLetterRecordToJson(const DeadLetterRecord& record) {
  nlohmann::json attempts = nlohmann::json::array();
  for (const AttemptRecord& attempt : record.attempts) attempts.push_back(AttemptToJson(attempt));
  nlohmann::json row = {{"listener_id", record.listener_id}, {"attempts", std::move(attempts)},
                        {"reason", record.reason}};
  if (record.delivery_id) row["delivery_id"] = *record.delivery_id;
  if (record.change_log_pk) row["change_log_pk"] = *record.change_log_pk;
  if (record.event && !record.event->is_null()) row["event"] = *record.event;
  if (record.row_data && !record.row_data->is_null()) row["row_data"] = *record.row_data;
  if (record.observer) row["observer"] = *record.observer;
  if (record.action_index) row["action_index"] = *record.action_index;
  if (record.action_type) row["action_type"] = *record.action_type;
  if (record.entity_type) row["entity_type"] = *record.entity_type;
  return row;
}

std::string DeadLetterInsertSql(int param) {
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
         " LEFT JOIN observer_jobs j ON j.delivery_id = d.delivery_id"
         " ORDER BY d.n";
}

Result<void> InsertDeadLetters(PgConnection& tx, std::span<const DeadLetterRecord> records) {
  if (records.empty()) return {};
  nlohmann::json rows = nlohmann::json::array();
  for (const DeadLetterRecord& record : records) {
    if (record.delivery_id && !NormalizeUuid(*record.delivery_id)) {
      return Error::InvalidArgument("dead letter delivery id '" + *record.delivery_id + "' is not a UUID");
    }
    rows.push_back(DeadLetterRecordToJson(record));
  }
  const std::optional<std::string> params[] = {sql_text::Json(rows)};
  Result<PgResult> result = tx.Execute(DeadLetterInsertSql(1), params);
  if (!result) return Error{result.error().code, "inserting dead letters: " + result.error().message, std::nullopt};
  return {};
}

}  // namespace fraiseql
