#include "queue/job_rows.h"

#include <string>
#include <vector>

#include "common/json_text.h"
#include "db/sql_text.h"
#include "event/entity_event.h"

namespace fraiseql {

namespace {

// One job's row as JSON text, the keys in ascending order like every JSON tree we dump.
void AppendJobRow(std::string& out, const NewJob& job) {
  const Delivery& delivery = job.delivery;
  JsonObjectText row(out);
  row.Int("action_index", static_cast<int64_t>(delivery.action_index));
  row.Int("attempt", static_cast<int64_t>(delivery.attempts.size()));
  if (delivery.attempts.empty()) {
    row.Raw("attempts", "[]");
  } else {
    nlohmann::json attempts = nlohmann::json::array();
    for (const AttemptRecord& attempt : delivery.attempts) attempts.push_back(AttemptToJson(attempt));
    row.Json("attempts", attempts);
  }
  // pk_entity_change_log starts at 1: 0 means the caller did not know it.
  if (job.change_log_pk > 0) row.Int("change_log_pk", job.change_log_pk);
  row.String("delivery_id", delivery.id);
  AppendEventJson(row.Value("event"), *delivery.event, EventJsonForm::kFull);
  if (!delivery.attempts.empty() && !delivery.attempts.back().error.empty()) {
    row.String("last_error", delivery.attempts.back().error);
  }
  row.String("observer", delivery.observer);
  if (job.run_at) row.String("run_at", sql_text::Timestamp(*job.run_at));
  row.Close();
}

}  // namespace

Result<std::vector<std::string>> JobRowArrays(std::span<const NewJob> jobs) {
  sql_text::JsonArrayTexts arrays;
  std::string row;  // one buffer for every row: its capacity is kept across clear()
  for (const NewJob& job : jobs) {
    const Delivery& delivery = job.delivery;
    if (delivery.event == nullptr) {
      return Error::InvalidArgument("job " + delivery.id + " has no event");
    }
    if (!NormalizeUuid(delivery.id)) {
      return Error::InvalidArgument("job id '" + delivery.id + "' is not a UUID (MakeDeliveryId makes them)");
    }
    row.clear();
    AppendJobRow(row, job);
    sql_text::ReplaceNulEscapes(row);
    arrays.Add(row);
  }
  return std::move(arrays).Finish();
}

Result<std::unordered_set<std::string>> InsertJobs(PgConnection& tx, std::string_view listener_id,
                                                   std::span<const NewJob> jobs, const std::optional<ClaimStamp>& claim) {
  if (jobs.empty()) return std::unordered_set<std::string>();
  // The batch travels as JSON arrays unpacked by jsonb_to_recordset: one parameter a statement,
  // no array literal escaping of event texts, and the server converts each field with its
  // column's type. Large batches take several statements (sql_text::JsonArrays).
  Result<std::vector<std::string>> arrays = JobRowArrays(jobs);
  if (!arrays) return std::move(arrays).error();
  static constexpr std::string_view kSql =
      "INSERT INTO observer_jobs (delivery_id, listener_id, change_log_pk, event, observer, action_index,"
      " attempt, attempts, last_error, run_at, locked_by, locked_until)"
      " SELECT j.delivery_id, $1, j.change_log_pk, j.event, j.observer, j.action_index, j.attempt,"
      " j.attempts, j.last_error, COALESCE(j.run_at, now()),"
      " CASE WHEN j.run_at IS NULL THEN $3 END,"
      " CASE WHEN j.run_at IS NULL THEN now() + $4::bigint * interval '1 millisecond' END"
      " FROM jsonb_to_recordset($2::jsonb) AS j(delivery_id uuid, change_log_pk bigint, event jsonb,"
      " observer text, action_index int, attempt int, attempts jsonb, last_error text, run_at timestamptz)"
      " ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id::text";
  std::unordered_set<std::string> inserted;
  inserted.reserve(jobs.size());
  for (std::string& array : *arrays) {
    const std::optional<std::string> params[] = {
        std::string(listener_id),
        std::move(array),
        claim ? std::optional<std::string>(claim->holder) : std::nullopt,
        claim ? std::optional<std::string>(std::to_string(claim->lock_for.count())) : std::nullopt,
    };
    Result<PgResult> result = tx.Execute(kSql, params);
    if (!result) return std::move(result).error().Context("inserting jobs");
    for (size_t row = 0; row < result->rows(); ++row) inserted.emplace(result->Get(row, 0).value_or(""));
  }
  return inserted;
}

}  // namespace fraiseql
