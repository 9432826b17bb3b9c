#include "checkpoint/postgres_checkpoint_store.h"

#include <charconv>
#include <memory>
#include <utility>

#include "db/sqlstate.h"

namespace fraiseql {
namespace {

using checkpoint_internal::ValidateCheckpoint;

// Every timestamp is read as microseconds since the Unix epoch, so neither the session's
// TimeZone nor its DateStyle matters.
constexpr std::string_view kMicros = "(extract(epoch FROM {}) * 1000000)::bigint";

std::string Micros(std::string_view column) {
  std::string out(kMicros);
  out.replace(out.find("{}"), 2, column);
  return out;
}

template <typename T>
Result<T> ParseNumber(const PgResult& result, size_t row, size_t column) {
  const std::optional<std::string_view> text = result.Get(row, column);
  if (!text) return Error::Internal("unexpected NULL in column " + std::string(result.column_name(column)));
  T value{};
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return Error::Internal("column " + std::string(result.column_name(column)) + ": '" + std::string(*text) +
                           "' is not a number");
  }
  return value;
}

template <typename T>
Result<std::optional<T>> ParseOptionalNumber(const PgResult& result, size_t row, size_t column) {
  if (result.is_null(row, column)) return std::optional<T>();
  Result<T> value = ParseNumber<T>(result, row, column);
  if (!value) return std::move(value).error();
  return std::optional<T>(*value);
}

std::optional<std::string> OptionalText(const PgResult& result, size_t row, size_t column) {
  const std::optional<std::string_view> text = result.Get(row, column);
  if (!text) return std::nullopt;
  return std::string(*text);
}

std::chrono::system_clock::time_point FromMicros(int64_t micros) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(micros)));
}

std::optional<std::string> Text(int64_t value) { return std::to_string(value); }
std::optional<std::string> Text(uint64_t value) { return std::to_string(value); }
std::optional<std::string> Text(uint32_t value) { return std::to_string(value); }

const std::string kLoadSql =
    "SELECT listener_id, last_processed_txid::text, last_processed_id, lease_epoch, batch_size, event_count, "
    "total_events, consecutive_errors, last_error, updated_by, " +
    Micros("updated_at") + " FROM observer_checkpoints WHERE listener_id = $1";

// The listener's every batch: same epoch, a position already stored. A plain UPDATE (no CTEs to
// plan) with the compare in its WHERE; kCompareAndSwapSql below wraps it for first writes and
// epoch changes. $1 listener, $2..$4 the expected epoch and position, $5..$13 the new values.
constexpr std::string_view kAdvanceSql = R"sql(
UPDATE observer_checkpoints
   SET last_processed_txid = $5::xid8, last_processed_id = $6::bigint, lease_epoch = $7::bigint,
       batch_size = $8::int, event_count = $9::int, total_events = $10::bigint,
       consecutive_errors = $11::int, last_error = $12::text, updated_by = $13::text,
       last_processed_at = now(), updated_at = now()
 WHERE listener_id = $1 AND lease_epoch = $2::bigint
   AND last_processed_txid = $3::xid8 AND last_processed_id = $4::bigint
)sql";

// One statement, so it is atomic on its own and inside the caller's transaction alike. `old` is
// read from the statement's snapshot, only for the history row's informational columns; the
// UPDATE's WHERE is what decides (re-checked on the newest row version if a concurrent writer
// got there first). The INSERT is the first write, allowed only for expected (0, {0, 0}).
// $14 is the history reason (NULL: no history row).
const std::string kCompareAndSwapSql = R"sql(
WITH old AS (
  SELECT batch_size, event_count FROM observer_checkpoints WHERE listener_id = $1
), upd AS ()sql" + std::string(kAdvanceSql) + R"sql(
  RETURNING 1
), ins AS (
  INSERT INTO observer_checkpoints
    (listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count,
     total_events, consecutive_errors, last_error, updated_by)
  SELECT $1, $5::xid8, $6::bigint, $7::bigint, $8::int, $9::int, $10::bigint, $11::int, $12::text, $13::text
   WHERE $2::bigint = 0 AND $3::xid8 = '0'::xid8 AND $4::bigint = 0 AND NOT EXISTS (SELECT 1 FROM old)
  ON CONFLICT (listener_id) DO NOTHING
  RETURNING 1
), hist AS (
  INSERT INTO observer_checkpoints_history
    (listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count, updated_by, reason)
  SELECT $1, $3::xid8, $4::bigint, $2::bigint, old.batch_size, old.event_count, $13::text, $14::text
    FROM upd, old
   WHERE $14::text IS NOT NULL
)
SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins)
)sql";

constexpr std::string_view kSaveSql = R"sql(
WITH old AS (
  SELECT last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count
    FROM observer_checkpoints WHERE listener_id = $1
), up AS (
  INSERT INTO observer_checkpoints
    (listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count,
     total_events, consecutive_errors, last_error, updated_by)
  VALUES ($1, $2::xid8, $3::bigint, $4::bigint, $5::int, $6::int, $7::bigint, $8::int, $9::text, $10::text)
  ON CONFLICT (listener_id) DO UPDATE
     SET last_processed_txid = EXCLUDED.last_processed_txid, last_processed_id = EXCLUDED.last_processed_id,
         lease_epoch = EXCLUDED.lease_epoch, batch_size = EXCLUDED.batch_size,
         event_count = EXCLUDED.event_count, total_events = EXCLUDED.total_events,
         consecutive_errors = EXCLUDED.consecutive_errors, last_error = EXCLUDED.last_error,
         updated_by = EXCLUDED.updated_by, last_processed_at = now(), updated_at = now()
  RETURNING 1
), hist AS (
  INSERT INTO observer_checkpoints_history
    (listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count, updated_by, reason)
  SELECT $1, old.last_processed_txid, old.last_processed_id, old.lease_epoch, old.batch_size, old.event_count,
         $10::text, 'failover: epoch ' || old.lease_epoch || ' -> ' || $4::bigint
    FROM old
   WHERE old.lease_epoch <> $4::bigint
)
SELECT count(*) FROM up
)sql";

constexpr std::string_view kDeleteSql = R"sql(
WITH del AS (
  DELETE FROM observer_checkpoints WHERE listener_id = $1
  RETURNING listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count
), hist AS (
  INSERT INTO observer_checkpoints_history
    (listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count, reason)
  SELECT listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count, $2::text
    FROM del
)
SELECT count(*) FROM del
)sql";

constexpr std::string_view kMoveSql = R"sql(
WITH old AS (
  SELECT last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count
    FROM observer_checkpoints WHERE listener_id = $1
), up AS (
  INSERT INTO observer_checkpoints (listener_id, last_processed_txid, last_processed_id)
  VALUES ($1, $2::xid8, $3::bigint)
  ON CONFLICT (listener_id) DO UPDATE
     SET last_processed_txid = EXCLUDED.last_processed_txid, last_processed_id = EXCLUDED.last_processed_id,
         updated_at = now()
  RETURNING 1
), hist AS (
  INSERT INTO observer_checkpoints_history
    (listener_id, last_processed_txid, last_processed_id, lease_epoch, batch_size, event_count, reason)
  SELECT $1, COALESCE(old.last_processed_txid, '0'::xid8), COALESCE(old.last_processed_id, 0),
         old.lease_epoch, old.batch_size, old.event_count, $4::text
    FROM (SELECT 1) AS one LEFT JOIN old ON true
)
SELECT count(*) FROM up
)sql";

const std::string kHistorySql =
    "SELECT listener_id, COALESCE(last_processed_txid, '0'::xid8)::text, last_processed_id, lease_epoch, "
    "batch_size, event_count, updated_by, " +
    Micros("updated_at") +
    ", reason FROM observer_checkpoints_history WHERE listener_id = $1 ORDER BY id DESC LIMIT $2::bigint";

Result<Checkpoint> CheckpointFromRow(const PgResult& result, size_t row) {
  Checkpoint checkpoint;
  checkpoint.listener_id = std::string(result.Get(row, 0).value_or(""));
  FRAISEQL_ASSIGN_OR_RETURN(checkpoint.position.txid, ParseNumber<uint64_t>(result, row, 1));
  FRAISEQL_ASSIGN_OR_RETURN(checkpoint.position.pk, ParseNumber<int64_t>(result, row, 2));
  FRAISEQL_ASSIGN_OR_RETURN(checkpoint.lease_epoch, ParseNumber<int64_t>(result, row, 3));
  FRAISEQL_ASSIGN_OR_RETURN(checkpoint.batch_size, ParseNumber<uint32_t>(result, row, 4));
  FRAISEQL_ASSIGN_OR_RETURN(checkpoint.event_count, ParseNumber<uint32_t>(result, row, 5));
  FRAISEQL_ASSIGN_OR_RETURN(checkpoint.total_events, ParseNumber<int64_t>(result, row, 6));
  FRAISEQL_ASSIGN_OR_RETURN(checkpoint.consecutive_errors, ParseNumber<uint32_t>(result, row, 7));
  checkpoint.last_error = OptionalText(result, row, 8);
  checkpoint.updated_by = OptionalText(result, row, 9);
  int64_t micros = 0;
  FRAISEQL_ASSIGN_OR_RETURN(micros, ParseNumber<int64_t>(result, row, 10));
  checkpoint.updated_at = FromMicros(micros);
  return checkpoint;
}

// Parameters shared by the compare-and-swap statement ($5..$13) in the order it takes them.
void AppendCheckpointParams(std::vector<std::optional<std::string>>& params, const Checkpoint& next) {
  params.push_back(Text(next.position.txid));
  params.push_back(Text(next.position.pk));
  params.push_back(Text(next.lease_epoch));
  params.push_back(Text(next.batch_size));
  params.push_back(Text(next.event_count));
  params.push_back(Text(next.total_events));
  params.push_back(Text(next.consecutive_errors));
  params.push_back(next.last_error);
  params.push_back(next.updated_by);
}

// A validated compare-and-swap: its parameters ($1..$13, plus $14 for the general statement)
// and whether the plain UPDATE (kAdvanceSql) can do it.
struct CasRequest {
  std::vector<std::optional<std::string>> params;
  bool advance = false;
};

Result<CasRequest> MakeCasRequest(std::string_view listener_id, int64_t expected_epoch,
                                  ChangeLogPosition expected_position, const Checkpoint& next) {
  FRAISEQL_RETURN_IF_ERROR(ValidateCheckpoint(next));
  if (next.listener_id != listener_id) {
    return Error::InvalidArgument("compare-and-swap of '" + std::string(listener_id) + "' with a checkpoint of '" +
                                  next.listener_id + "'");
  }
  if (next.lease_epoch < expected_epoch) {
    return Error::InvalidArgument("compare-and-swap of '" + std::string(listener_id) + "' would lower the epoch from " +
                                  std::to_string(expected_epoch) + " to " + std::to_string(next.lease_epoch));
  }
  CasRequest request;
  request.params.reserve(14);
  request.params.emplace_back(std::string(listener_id));
  request.params.push_back(Text(expected_epoch));
  request.params.push_back(Text(expected_position.txid));
  request.params.push_back(Text(expected_position.pk));
  AppendCheckpointParams(request.params, next);
  request.advance = next.lease_epoch == expected_epoch && expected_position != ChangeLogPosition{};
  if (!request.advance) {
    request.params.emplace_back(next.lease_epoch != expected_epoch
                                    ? std::optional<std::string>(
                                          checkpoint_internal::FailoverReason(expected_epoch, next.lease_epoch))
                                    : std::nullopt);
  }
  return request;
}

// The general statement (first writes, epoch changes), whose result is the written row count.
Result<bool> RunGeneralCas(PgConnection& conn, const CasRequest& request) {
  Result<PgResult> result = conn.Execute(kCompareAndSwapSql, request.params);
  if (!result) return std::move(result).error();
  Result<int64_t> written = ParseNumber<int64_t>(*result, 0, 0);
  if (!written) return std::move(written).error();
  return *written > 0;
}

// The listener's every batch runs kAdvanceSql: prepared once per connection, since parsing and
// planning are about two thirds of a compare-and-swap that does not wait for a WAL flush.
Result<bool> CompareAndSwapOn(PgConnection& conn, const CasRequest& request) {
  if (!request.advance) return RunGeneralCas(conn, request);
  Result<PgResult> advanced = conn.ExecutePrepared("fraiseql_checkpoint_advance", kAdvanceSql, request.params);
  if (!advanced) return std::move(advanced).error();
  return advanced->affected_rows() > 0;
}

}  // namespace

PostgresCheckpointStore::PostgresCheckpointStore(Secret url, Options options)
    : session_(std::move(url), options.connect_timeout, [options](PgConnection& conn) -> Result<void> {
        if (options.synchronous_commit) return Ok();
        Result<PgResult> set = conn.Execute("SET synchronous_commit = off");
        if (!set) return std::move(set).error();
        return Ok();
      }) {}

Result<std::optional<Checkpoint>> PostgresCheckpointStore::LoadWith(PgConnection& conn, std::string_view listener_id) {
  const std::optional<std::string> params[] = {std::string(listener_id)};
  Result<PgResult> result = conn.Execute(kLoadSql, params);
  if (!result) return std::move(result).error();
  if (result->rows() == 0) return std::optional<Checkpoint>();
  Result<Checkpoint> checkpoint = CheckpointFromRow(*result, 0);
  if (!checkpoint) return std::move(checkpoint).error();
  return std::optional<Checkpoint>(std::move(checkpoint).value());
}

Result<bool> PostgresCheckpointStore::CompareAndSwapInTransaction(PgConnection& tx, std::string_view listener_id,
                                                                  int64_t expected_epoch,
                                                                  ChangeLogPosition expected_position,
                                                                  const Checkpoint& next) {
  CasRequest request;
  FRAISEQL_ASSIGN_OR_RETURN(request, MakeCasRequest(listener_id, expected_epoch, expected_position, next));
  return CompareAndSwapOn(tx, request);
}

Result<std::optional<Checkpoint>> PostgresCheckpointStore::Load(std::string_view listener_id) {
  MutexLock lock(&mu_);
  return session_.Run<std::optional<Checkpoint>>([&](PgConnection& conn) { return LoadWith(conn, listener_id); });
}

Result<void> PostgresCheckpointStore::Save(const Checkpoint& checkpoint) {
  FRAISEQL_RETURN_IF_ERROR(ValidateCheckpoint(checkpoint));
  const std::optional<std::string> params[] = {
      checkpoint.listener_id,         Text(checkpoint.position.txid),  Text(checkpoint.position.pk),
      Text(checkpoint.lease_epoch),   Text(checkpoint.batch_size),     Text(checkpoint.event_count),
      Text(checkpoint.total_events),  Text(checkpoint.consecutive_errors), checkpoint.last_error,
      checkpoint.updated_by};
  MutexLock lock(&mu_);
  return session_.Run<void>([&](PgConnection& conn) -> Result<void> {
    Result<PgResult> result = conn.Execute(kSaveSql, params);
    if (!result) return std::move(result).error();
    return Ok();
  });
}

Result<bool> PostgresCheckpointStore::CompareAndSwap(std::string_view listener_id, int64_t expected_epoch,
                                                     ChangeLogPosition expected_position, const Checkpoint& next) {
  CasRequest request;
  FRAISEQL_ASSIGN_OR_RETURN(request, MakeCasRequest(listener_id, expected_epoch, expected_position, next));
  MutexLock lock(&mu_);
  return session_.Run<bool>([&](PgConnection& conn) { return CompareAndSwapOn(conn, request); });
}

Result<bool> PostgresCheckpointStore::Delete(std::string_view listener_id) {
  const std::optional<std::string> params[] = {std::string(listener_id),
                                               std::string(checkpoint_internal::kResetReason)};
  MutexLock lock(&mu_);
  return session_.Run<bool>([&](PgConnection& conn) -> Result<bool> {
    Result<PgResult> result = conn.Execute(kDeleteSql, params);
    if (!result) return std::move(result).error();
    Result<int64_t> deleted = ParseNumber<int64_t>(*result, 0, 0);
    if (!deleted) return std::move(deleted).error();
    return *deleted > 0;
  });
}

Result<void> PostgresCheckpointStore::MoveTo(std::string_view listener_id, ChangeLogPosition position,
                                             std::string_view reason) {
  Checkpoint probe;
  probe.listener_id = std::string(listener_id);
  probe.position = position;
  FRAISEQL_RETURN_IF_ERROR(ValidateCheckpoint(probe));
  const std::optional<std::string> params[] = {probe.listener_id, Text(position.txid), Text(position.pk),
                                               checkpoint_internal::MoveReason(position, reason)};
  MutexLock lock(&mu_);
  return session_.Run<void>([&](PgConnection& conn) -> Result<void> {
    Result<PgResult> result = conn.Execute(kMoveSql, params);
    if (!result) return std::move(result).error();
    return Ok();
  });
}

Result<std::vector<CheckpointHistoryEntry>> PostgresCheckpointStore::History(std::string_view listener_id,
                                                                             size_t limit) {
  const std::optional<std::string> params[] = {std::string(listener_id), std::to_string(limit)};
  MutexLock lock(&mu_);
  return session_.Run<std::vector<CheckpointHistoryEntry>>(
      [&](PgConnection& conn) -> Result<std::vector<CheckpointHistoryEntry>> {
        Result<PgResult> result = conn.Execute(kHistorySql, params);
        if (!result) return std::move(result).error();
        std::vector<CheckpointHistoryEntry> entries;
        entries.reserve(result->rows());
        for (size_t row = 0; row < result->rows(); ++row) {
          CheckpointHistoryEntry entry;
          entry.listener_id = std::string(result->Get(row, 0).value_or(""));
          FRAISEQL_ASSIGN_OR_RETURN(entry.position.txid, ParseNumber<uint64_t>(*result, row, 1));
          FRAISEQL_ASSIGN_OR_RETURN(entry.position.pk, ParseNumber<int64_t>(*result, row, 2));
          FRAISEQL_ASSIGN_OR_RETURN(entry.lease_epoch, ParseOptionalNumber<int64_t>(*result, row, 3));
          FRAISEQL_ASSIGN_OR_RETURN(entry.batch_size, ParseOptionalNumber<uint32_t>(*result, row, 4));
          FRAISEQL_ASSIGN_OR_RETURN(entry.event_count, ParseOptionalNumber<uint32_t>(*result, row, 5));
          entry.updated_by = OptionalText(*result, row, 6);
          int64_t micros = 0;
          FRAISEQL_ASSIGN_OR_RETURN(micros, ParseNumber<int64_t>(*result, row, 7));
          entry.recorded_at = FromMicros(micros);
          entry.reason = std::string(result->Get(row, 8).value_or(""));
          entries.push_back(std::move(entry));
        }
        return entries;
      });
}

}  // namespace fraiseql
