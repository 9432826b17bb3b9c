// MemoryDeadLetterStore: the DeadLetterStore contract in memory, for one process (`debug-event
// --execute`, the in-memory pipeline of tests); gone when the process exits.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "dlq/dead_letter_store.h"

namespace fraiseql {

// Where Retry puts re-driven deliveries (MemoryJobQueue implements it).
class RedriveTarget {
 public:
  virtual ~RedriveTarget() = default;
  // True when a delivery with this id is queued (waiting or claimed).
  virtual bool Contains(std::string_view delivery_id) const = 0;
  // Queues `delivery`, due now; false (and nothing changes) when its id is queued already.
  virtual bool Enqueue(Delivery delivery) = 0;
};

class MemoryDeadLetterStore final : public DeadLetterStore {
 public:
  // `clock` stamps created_at; borrowed, must outlive the store.
  explicit MemoryDeadLetterStore(Clock& clock) : clock_(clock) {}

  // Where Retry re-drives to; borrowed, must outlive the store. Until it is set, Retry is
  // kFailedPrecondition (the job queue and the store refer to each other: set it once both exist).
  void SetRedriveTarget(RedriveTarget* target) LOCKS_EXCLUDED(mu_);

  Result<void> Add(std::span<const DeadLetter> letters) override LOCKS_EXCLUDED(mu_);
  Result<std::vector<StoredDeadLetter>> List(const DeadLetterFilter& filter) override LOCKS_EXCLUDED(mu_);
  Result<StoredDeadLetter> Get(int64_t id) override LOCKS_EXCLUDED(mu_);
  // An event that no longer decodes cannot be re-driven: reported kNotRetryable, left in place.
  Result<RetryReport> Retry(const DeadLetterSelector& selector, bool dry_run) override LOCKS_EXCLUDED(mu_);
  Result<PurgeReport> Purge(const DeadLetterSelector& selector, bool dry_run) override LOCKS_EXCLUDED(mu_);

  size_t size() const LOCKS_EXCLUDED(mu_);

 private:
  // The ids a selector picks, in id order; kNotFound when it names one id that is not there.
  Result<std::vector<int64_t>> SelectLocked(const DeadLetterSelector& selector) const EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  mutable Mutex mu_;
  std::map<int64_t, StoredDeadLetter> letters_ GUARDED_BY(mu_);
  int64_t next_id_ GUARDED_BY(mu_) = 1;
  RedriveTarget* redrive_ GUARDED_BY(mu_) = nullptr;
};

}  // namespace fraiseql
