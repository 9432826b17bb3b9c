#include "dlq/memory_dead_letter_store.h"

#include <memory>
#include <set>
#include <utility>

#include "event/entity_event.h"

namespace fraiseql {
namespace {

bool Matches(const StoredDeadLetter& stored, const DeadLetterFilter& filter) {
  const DeadLetter& letter = stored.letter;
  if (filter.observer && letter.observer != filter.observer) return false;
  if (filter.entity_type && letter.entity_type != filter.entity_type) return false;
  if (filter.since && stored.created_at < *filter.since) return false;
  return true;
}

// The delivery a retryable dead letter names, attempts reset; nullopt when its event no longer
// decodes.
std::optional<Delivery> DeliveryOf(const DeadLetter& letter) {
  Result<EntityEvent> event = EventFromJson(*letter.event);
  if (!event) return std::nullopt;
  Delivery delivery;
  delivery.id = *letter.delivery_id;
  delivery.event = std::make_shared<const EntityEvent>(std::move(event).value());
  delivery.observer = *letter.observer;
  delivery.action_index = *letter.action_index;
  return delivery;
}

}  // namespace

void MemoryDeadLetterStore::SetRedriveTarget(RedriveTarget* target) {
  MutexLock lock(&mu_);
  redrive_ = target;
}

Result<void> MemoryDeadLetterStore::Add(std::span<const DeadLetter> letters) {
  FRAISEQL_RETURN_IF_ERROR(dead_letter_internal::Validate(letters));
  const auto now = clock_.Now();
  MutexLock lock(&mu_);
  for (const DeadLetter& letter : letters) {
    StoredDeadLetter stored;
    stored.id = next_id_++;
    stored.created_at = now;
    stored.letter = letter;
    // As PostgreSQL's uuid column would keep it.
    if (letter.delivery_id) stored.letter.delivery_id = NormalizeUuid(*letter.delivery_id);
    letters_.emplace(stored.id, std::move(stored));
  }
  return Ok();
}

Result<std::vector<int64_t>> MemoryDeadLetterStore::SelectLocked(const DeadLetterSelector& selector) const {
  if (selector.id) {
    if (!letters_.contains(*selector.id)) return Error::NotFound("there is no dead letter " + std::to_string(*selector.id));
    return std::vector<int64_t>{*selector.id};
  }
  std::vector<int64_t> ids;
  for (const auto& [id, stored] : letters_) {
    if (selector.filter.limit > 0 && ids.size() >= selector.filter.limit) break;
    if (Matches(stored, selector.filter)) ids.push_back(id);
  }
  return ids;
}

Result<std::vector<StoredDeadLetter>> MemoryDeadLetterStore::List(const DeadLetterFilter& filter) {
  MutexLock lock(&mu_);
  std::vector<int64_t> ids;
  FRAISEQL_ASSIGN_OR_RETURN(ids, SelectLocked(DeadLetterSelector{std::nullopt, filter}));
  std::vector<StoredDeadLetter> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(letters_.at(id));
  return out;
}

Result<StoredDeadLetter> MemoryDeadLetterStore::Get(int64_t id) {
  MutexLock lock(&mu_);
  const auto found = letters_.find(id);
  if (found == letters_.end()) return Error::NotFound("there is no dead letter " + std::to_string(id));
  return found->second;
}

Result<RetryReport> MemoryDeadLetterStore::Retry(const DeadLetterSelector& selector, bool dry_run) {
  MutexLock lock(&mu_);
  if (redrive_ == nullptr) return Error::FailedPrecondition("this dead-letter store has no job queue to re-drive into");
  std::vector<int64_t> ids;
  FRAISEQL_ASSIGN_OR_RETURN(ids, SelectLocked(selector));
  RetryReport report;
  report.dry_run = dry_run;
  std::set<std::string> enqueued_now;  // deliveries this retry queues (several letters may name one)
  for (int64_t id : ids) {
    const DeadLetter& letter = letters_.at(id).letter;
    RetryItem item{id, letter.delivery_id, letter.observer, letter.action_index, RetryOutcome::kNotRetryable};
    std::optional<Delivery> delivery = letter.redrivable() ? DeliveryOf(letter) : std::nullopt;
    if (delivery) {
      const std::string& delivery_id = delivery->id;
      if (enqueued_now.contains(delivery_id)) {
        item.outcome = RetryOutcome::kEnqueued;
      } else if (redrive_->Contains(delivery_id)) {
        item.outcome = RetryOutcome::kAlreadyQueued;
      } else {
        item.outcome = RetryOutcome::kEnqueued;
        enqueued_now.insert(delivery_id);
        if (!dry_run) redrive_->Enqueue(std::move(*delivery));
      }
      if (!dry_run) letters_.erase(id);
    }
    report.items.push_back(std::move(item));
  }
  return report;
}

Result<PurgeReport> MemoryDeadLetterStore::Purge(const DeadLetterSelector& selector, bool dry_run) {
  MutexLock lock(&mu_);
  PurgeReport report;
  report.dry_run = dry_run;
  FRAISEQL_ASSIGN_OR_RETURN(report.ids, SelectLocked(selector));
  if (!dry_run) {
    for (int64_t id : report.ids) letters_.erase(id);
  }
  return report;
}

size_t MemoryDeadLetterStore::size() const {
  MutexLock lock(&mu_);
  return letters_.size();
}

}  // namespace fraiseql
