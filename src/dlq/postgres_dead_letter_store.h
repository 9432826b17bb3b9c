// PostgresDeadLetterStore: the DeadLetterStore contract on observer_dead_letters (migrations/004),
// and the one INSERT through which every PostgreSQL writer of dead letters goes: the listener's
// batch transaction, the job queue's batched writes, and Add.
// Thread-safety: one store per thread; it uses the borrowed PgConnection, which libpq lets one
// thread use at a time.
//
// Retry moves a dead letter back into observer_jobs in one statement: the job row is inserted
// and the dead-letter row deleted, or neither; FOR UPDATE makes two concurrent retries of the
// same dead letter run it once.
#pragma once

#include <span>
#include <string>

#include "db/connection.h"
#include "dlq/dead_letter_store.h"

namespace fraiseql {

class PostgresDeadLetterStore final : public DeadLetterStore {
 public:
  // `conn` is borrowed and must outlive the store; it must not be inside a transaction.
  explicit PostgresDeadLetterStore(PgConnection* conn) : conn_(conn) {}

  Result<void> Add(std::span<const DeadLetter> letters) override;
  Result<std::vector<StoredDeadLetter>> List(const DeadLetterFilter& filter) override;
  Result<StoredDeadLetter> Get(int64_t id) override;
  Result<RetryReport> Retry(const DeadLetterSelector& selector, bool dry_run) override;
  Result<PurgeReport> Purge(const DeadLetterSelector& selector, bool dry_run) override;

  // Add, on the caller's connection: inside its open transaction, the letters commit or roll
  // back with it (the listener's batch). One statement for the batch.
  static Result<void> AddWith(PgConnection& conn, std::span<const DeadLetter> letters);

  // The INSERT ... SELECT behind AddWith, reading a jsonb array of DeadLetterToJson objects from
  // parameter $`param`, for statements that write dead letters together with other changes
  // (the job queue's batched write). A letter without a listener_id or change_log_pk takes them
  // from its delivery's job row, read in the same statement. `only_if`, when given, is a
  // condition on `d` (the letter) that each row must meet (the queue keeps only the letters whose
  // job it deleted in the same statement).
  // REQUIRES: every delivery_id is a canonical UUID (dead_letter_internal::Validate).
  static std::string InsertSql(int param, std::string_view only_if = {});

 private:
  PgConnection* const conn_;
};

}  // namespace fraiseql
