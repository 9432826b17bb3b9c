// DeadLetterRecord: one row of observer_dead_letters, the form shared by the delivery engine's
// dead letters, the listener's pipeline failures and the operator's `dlq` commands.
// Thread-safety: a value type and a free function; the PgConnection is the caller's, one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "db/connection.h"
#include "executor/delivery.h"

namespace fraiseql {

// One row of observer_dead_letters. Pipeline failures (unreadable row, condition error) have no
// delivery: delivery_id/action_* empty, row_data set when there is no event.
struct DeadLetterRecord {
  std::optional<std::string> delivery_id;
  std::string listener_id;
  std::optional<int64_t> change_log_pk;
  std::optional<nlohmann::json> event;
  std::optional<nlohmann::json> row_data;
  std::optional<std::string> observer;
  std::optional<size_t> action_index;
  std::optional<std::string> action_type;
  std::optional<std::string> entity_type;
  std::vector<AttemptRecord> attempts;
  std::string reason;
};

// Inserts inside the caller's open transaction, one statement for the batch.
// A record whose delivery still has a row in observer_jobs takes its listener_id and
// change_log_pk from there when it has none of its own.
// Errors: kInvalidArgument when a delivery_id is not a UUID; db/connection.h's otherwise.
Result<void> InsertDeadLetters(PgConnection& tx, std::span<const DeadLetterRecord> records);

// For statements that insert dead letters together with other writes (PostgresJobQueue's
// flush): the JSON object of one record (absent optionals left out; attempts as AttemptToJson
// writes them), and the INSERT ... SELECT that reads an array of those from parameter
// $`param` (a jsonb array). REQUIRES: delivery_id, when set, is a canonical UUID.
nlohmann::json DeadLetterRecordToJson(const DeadLetterRecord& record);
std::string DeadLetterInsertSql(int param);

}  // namespace fraiseql
