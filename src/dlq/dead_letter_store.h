// DeadLetterStore: where dead letters are kept for operators (`fraiseql-observer dlq ...`): add,
// list and show them, re-drive a delivery into the job queue, purge. Backends:
// PostgresDeadLetterStore (observer_dead_letters) and MemoryDeadLetterStore (one process).
// Thread-safety: see each backend (the PostgreSQL one uses a borrowed connection: one thread).
//
// The contract (tests/dlq/dead_letter_store_contract.cc runs it over both backends):
//   - ids rise in arrival order; List and selections return them in id order;
//   - Retry re-drives a dead letter that names a delivery (DeadLetter::redrivable()): the same
//     delivery (same id, hence the same idempotency key; same observer and action) with its
//     attempts reset and due now, and the dead letter is removed, together. Only that action runs
//     again, not every observer of the event. A delivery already queued is not queued twice
//     (kAlreadyQueued); several dead letters of one delivery queue it once. A pipeline failure
//     (no delivery) is reported kNotRetryable and left in place;
//   - a selection by id that names no dead letter is kNotFound; dry runs change nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "delivery/dead_letter.h"

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
  DeadLetter letter;
};

// {"id", "created_at", "retry_count", "last_retried_at", "failure", "retryable", "redrivable",
// ...DeadLetterToJson}, with absent fields as null: what `dlq show --format json` prints.
// "failure" is DeadLetterFailureName, "retryable" whether that failure was transient (attempts
// exhausted), "redrivable" whether `dlq retry` can run the delivery again.
nlohmann::json StoredDeadLetterToJson(const StoredDeadLetter& stored);

enum class RetryOutcome {
  kEnqueued,       // the delivery is queued again, due now
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

class DeadLetterStore {
 public:
  DeadLetterStore() = default;
  virtual ~DeadLetterStore() = default;
  DeadLetterStore(const DeadLetterStore&) = delete;
  DeadLetterStore& operator=(const DeadLetterStore&) = delete;

  // Keeps `letters`, all or none. kInvalidArgument when a delivery id is not a UUID.
  virtual Result<void> Add(std::span<const DeadLetter> letters) = 0;
  virtual Result<std::vector<StoredDeadLetter>> List(const DeadLetterFilter& filter) = 0;
  // kNotFound when there is no dead letter with that id.
  virtual Result<StoredDeadLetter> Get(int64_t id) = 0;
  // Re-drives the selected dead letters, as one step (see the contract above). Dead letters
  // that cannot be retried are reported (kNotRetryable), not an error: the caller decides what
  // to say.
  virtual Result<RetryReport> Retry(const DeadLetterSelector& selector, bool dry_run) = 0;
  // Deletes the selected dead letters.
  virtual Result<PurgeReport> Purge(const DeadLetterSelector& selector, bool dry_run) = 0;
};

namespace dead_letter_internal {

// The checks every backend applies to what it is asked to keep.
Result<void> Validate(std::span<const DeadLetter> letters);

}  // namespace dead_letter_internal

}  // namespace fraiseql
