// PostgresDlqStore: what operators do with observer_dead_letters (`fraiseql-observer dlq ...`):
// list and show dead letters, re-drive a delivery back into the job queue, purge.
// Thread-safety: one store per thread; it uses the borrowed PgConnection, which libpq lets one
// thread use at a time.
//
// Re-driving (Retry) moves a dead letter back into observer_jobs, in one transaction: the same
// delivery (same delivery_id, hence the same idempotency key; same observer; same action index)
// with its attempts reset and due now, and the dead-letter row is deleted. Only that action runs
// again, not every observer of the event. If it fails for good again, the engine writes a new
// dead letter with the new attempts. A dead letter without a delivery (a pipeline failure: an
// unreadable change-log row, a condition that errored, a job row that did not decode) has no
// action to run, and Retry refuses it: fix the cause and replay the row, or purge it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "db/connection.h"
#include "dlq/dead_letter_record.h"

namespace fraiseql {

// Which dead letters to look at; unset fields do not filter. Always in id (arrival) order.
struct DeadLetterFilter {
  std::optional<std::string> observer;
  std::optional<std::string> entity_type;
  std::optional<std::chrono::system_clock::time_point> since;  // created_at >= since
  size_t limit = 0;                                            // 0: no limit
};

// Either one dead letter by id or every one the filter matches.
struct DeadLetterSelector {
  std::optional<int64_t> id;
  DeadLetterFilter filter;  // ignored when id is set
};

struct StoredDeadLetter {
  int64_t id = 0;
  std::chrono::system_clock::time_point created_at;
  int retry_count = 0;
  std::optional<std::chrono::system_clock::time_point> last_retried_at;
  DeadLetterRecord record;

  // It names a delivery whose event is kept: Retry can re-drive it.
  bool retryable() const {
    return record.delivery_id && record.event && record.observer && record.action_index;
  }
};

// {"id", "created_at", "retry_count", "last_retried_at", "retryable", ...DeadLetterRecordToJson}:
// what `dlq show --format json` prints.
nlohmann::json StoredDeadLetterToJson(const StoredDeadLetter& letter);

enum class RetryOutcome {
  kEnqueued,       // the delivery is in observer_jobs again, due now
  kAlreadyQueued,  // its delivery id was already queued (an earlier retry): it runs once
  kNotRetryable,   // no delivery to run (a pipeline failure); left in place
};

// "enqueued", "already_queued", "not_retryable".
std::string_view RetryOutcomeName(RetryOutcome outcome);

struct RetryItem {
  int64_t id = 0;
  std::optional<std::string> delivery_id;
  std::optional<std::string> observer;
  std::optional<size_t> action_index;
  RetryOutcome outcome = RetryOutcome::kNotRetryable;
};

struct RetryReport {
  bool dry_run = false;  // then outcomes say what would happen and nothing changed
  std::vector<RetryItem> items;

  size_t Count(RetryOutcome outcome) const;
};

struct PurgeReport {
  bool dry_run = false;
  std::vector<int64_t> ids;  // deleted (or, on a dry run, that would be)
};

class PostgresDlqStore {
 public:
  // `conn` is borrowed and must outlive the store; it must not be inside a transaction.
  explicit PostgresDlqStore(PgConnection* conn) : conn_(conn) {}

  Result<std::vector<StoredDeadLetter>> List(const DeadLetterFilter& filter);
  // kNotFound when there is no dead letter with that id.
  Result<StoredDeadLetter> Get(int64_t id);
  // Re-drives the selected dead letters (see the top of this file), one transaction for all of
  // them. kNotFound when `selector.id` names no dead letter. Dead letters that cannot be
  // retried are reported (kNotRetryable), not an error: the caller decides what to say.
  Result<RetryReport> Retry(const DeadLetterSelector& selector, bool dry_run);
  // Deletes the selected dead letters. kNotFound when `selector.id` names no dead letter.
  Result<PurgeReport> Purge(const DeadLetterSelector& selector, bool dry_run);

 private:
  PgConnection* const conn_;
};

}  // namespace fraiseql
