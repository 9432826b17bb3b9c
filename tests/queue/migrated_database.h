// MigratedDatabase: a ScratchDatabase with every migration of migrations/ applied, for the tests
// of queue/, dlq/ and the `dlq` command, plus the few statements they all need.
// Thread-safety: as ScratchDatabase; Count() and Execute() open a connection per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"
#include "event/entity_event.h"
#include "executor/delivery.h"
#include "queue/job_rows.h"
#include "queue/migration_files.h"
#include "testing/scratch_database.h"

namespace fraiseql::testing {

class MigratedDatabase {
 public:
  explicit MigratedDatabase(std::string_view prefix = "queue") : scratch_(prefix) {
    PgConnection conn = scratch_.Connect();
    ApplyMigrationFiles(conn, std::string(FRAISEQL_SOURCE_DIR) + "/migrations");
  }

  const Secret& url() const { return scratch_.url(); }
  const std::string& name() const { return scratch_.name(); }
  PgConnection Connect() const { return scratch_.Connect(); }

  // Runs one statement with parameters on a new connection; throws when it fails.
  PgResult Execute(std::string_view sql, std::vector<std::optional<std::string>> params = {}) const {
    PgConnection conn = Connect();
    Result<PgResult> result = conn.Execute(sql, params);
    if (!result) throw std::runtime_error(std::string(sql) + ": " + result.error().message);
    return std::move(result).value();
  }

  // The first column of the first row of `sql`, as a number.
  int64_t Count(std::string_view sql, std::vector<std::optional<std::string>> params = {}) const {
    PgResult result = Execute(sql, std::move(params));
    if (result.rows() == 0 || !result.Get(0, 0)) throw std::runtime_error(std::string(sql) + ": no value");
    return std::stoll(std::string(*result.Get(0, 0)));
  }

  // The text of the first column of the first row, nullopt for NULL or no row.
  std::optional<std::string> Value(std::string_view sql, std::vector<std::optional<std::string>> params = {}) const {
    PgResult result = Execute(sql, std::move(params));
    if (result.rows() == 0 || !result.Get(0, 0)) return std::nullopt;
    return std::string(*result.Get(0, 0));
  }

  // InsertJobs in a transaction of its own. Throws when it fails.
  void InsertJobsNow(std::string_view listener_id, const std::vector<NewJob>& jobs,
                     const std::optional<ClaimStamp>& claim = std::nullopt) const {
    PgConnection conn = Connect();
    Check(conn.Execute("BEGIN"), "BEGIN");
    Result<void> inserted = InsertJobs(conn, listener_id, jobs, claim);
    if (!inserted) throw std::runtime_error("InsertJobs: " + inserted.error().message);
    Check(conn.Execute("COMMIT"), "COMMIT");
  }

 private:
  static void Check(const Result<PgResult>& result, std::string_view what) {
    if (!result) throw std::runtime_error(std::string(what) + ": " + result.error().message);
  }

  ScratchDatabase scratch_;
};

// An event with a fresh id (so its deliveries have fresh ids) of the given entity type.
inline std::shared_ptr<const EntityEvent> NewEvent(std::string_view entity_type, int n) {
  EntityEvent event;
  char id[37];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  event.id = id;
  event.event_type = EventKind::kInsert;
  event.entity_type = std::string(entity_type);
  event.entity_id = "550e8400-e29b-41d4-a716-446655440000";
  event.data = {{"n", n}};
  event.changes = nullptr;
  event.timestamp = *ParseTimestamp("2026-11-29T12:00:00Z");
  return std::make_shared<const EntityEvent>(std::move(event));
}

inline Delivery NewDelivery(std::shared_ptr<const EntityEvent> event, std::string observer, size_t action_index = 0) {
  Delivery delivery;
  delivery.id = MakeDeliveryId(event->id, observer, action_index);
  delivery.event = std::move(event);
  delivery.observer = std::move(observer);
  delivery.action_index = action_index;
  return delivery;
}

inline AttemptRecord NewAttempt(int status, std::string error, int64_t seconds_after_2026 = 0) {
  AttemptRecord attempt;
  attempt.started_at = std::chrono::sys_days(std::chrono::year(2026) / 1 / 1) + std::chrono::seconds(seconds_after_2026);
  attempt.outcome = status >= 500 ? DeliveryOutcomeKind::kRetryable : DeliveryOutcomeKind::kPermanent;
  attempt.status = status;
  attempt.error = std::move(error);
  attempt.duration = std::chrono::microseconds(12'345);
  return attempt;
}

}  // namespace fraiseql::testing
