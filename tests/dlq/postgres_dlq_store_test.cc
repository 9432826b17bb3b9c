// InsertDeadLetters and PostgresDlqStore against the real PostgreSQL (label pg).
#include "dlq/postgres_dlq_store.h"

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "dlq/dead_letter_record.h"
#include "queue/migrated_database.h"
#include "queue/postgres_job_queue.h"

namespace fraiseql {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MigratedDatabase;
using testing::NewAttempt;
using testing::NewDelivery;
using testing::NewEvent;

DeadLetterRecord DeliveryLetter(const Delivery& delivery, std::string reason) {
  DeadLetterRecord record;
  record.delivery_id = delivery.id;
  record.listener_id = "default";
  record.change_log_pk = 77;
  record.event = EventToJson(*delivery.event);
  record.observer = delivery.observer;
  record.action_index = delivery.action_index;
  record.action_type = "webhook";
  record.entity_type = delivery.event->entity_type;
  record.attempts = {NewAttempt(503, "HTTP 503", 1), NewAttempt(503, "HTTP 503", 2)};
  record.reason = std::move(reason);
  return record;
}

DeadLetterRecord PipelineFailure() {
  DeadLetterRecord record;
  record.listener_id = "default";
  record.change_log_pk = 99;
  record.row_data = nlohmann::json{{"pk_entity_change_log", 99}, {"modification_type", "MERGE"}};
  record.reason = "row 99: unknown modification_type 'MERGE'";
  return record;
}

void Insert(const MigratedDatabase& db, const std::vector<DeadLetterRecord>& records) {
  PgConnection conn = db.Connect();
  ASSERT_TRUE(conn.Execute("BEGIN"));
  Result<void> inserted = InsertDeadLetters(conn, records);
  ASSERT_TRUE(inserted) << inserted.error().message;
  ASSERT_TRUE(conn.Execute("COMMIT"));
}

// Aggregates without designated initializers: g++ 12 warns about the members they leave out.
DeadLetterFilter Filter(std::optional<std::string> observer, std::optional<std::string> entity = std::nullopt,
                        std::optional<std::chrono::system_clock::time_point> since = std::nullopt, size_t limit = 0) {
  DeadLetterFilter filter;
  filter.observer = std::move(observer);
  filter.entity_type = std::move(entity);
  filter.since = since;
  filter.limit = limit;
  return filter;
}

DeadLetterSelector ById(int64_t id) {
  DeadLetterSelector selector;
  selector.id = id;
  return selector;
}

DeadLetterSelector Matching(DeadLetterFilter filter) {
  DeadLetterSelector selector;
  selector.filter = std::move(filter);
  return selector;
}

std::chrono::system_clock::time_point AnHourAgo() { return std::chrono::system_clock::now() - std::chrono::hours(1); }

std::vector<int64_t> IdsOf(const std::vector<StoredDeadLetter>& letters) {
  std::vector<int64_t> ids;
  for (const StoredDeadLetter& letter : letters) ids.push_back(letter.id);
  return ids;
}

// Three dead letters, ids 1..3: o1's Order delivery, o2's User delivery (a day old), and a
// pipeline failure.
class DlqStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Insert(db_, {DeliveryLetter(order_, "HTTP 503 after 2 attempts"), DeliveryLetter(user_, "HTTP 400"),
                 PipelineFailure()});
    db_.Execute("UPDATE observer_dead_letters SET created_at = now() - interval '1 day' WHERE id = 2");
  }

  MigratedDatabase db_{"dlq"};
  PgConnection conn_ = db_.Connect();
  PostgresDlqStore store_{&conn_};
  Delivery order_ = NewDelivery(NewEvent("Order", 1), "o1", 1);
  Delivery user_ = NewDelivery(NewEvent("User", 2), "o2", 0);
};

TEST_F(DlqStoreTest, InsertDeadLettersKeepsEveryField) {
  Result<StoredDeadLetter> letter = store_.Get(1);
  ASSERT_TRUE(letter) << letter.error().message;
  EXPECT_EQ(letter->id, 1);
  EXPECT_EQ(letter->record.delivery_id, order_.id);
  EXPECT_EQ(letter->record.listener_id, "default");
  EXPECT_EQ(letter->record.change_log_pk, 77);
  ASSERT_TRUE(letter->record.event);
  EXPECT_EQ((*letter->record.event)["id"], order_.event->id);
  EXPECT_EQ(letter->record.observer, "o1");
  EXPECT_EQ(letter->record.action_index, 1u);
  EXPECT_EQ(letter->record.action_type, "webhook");
  EXPECT_EQ(letter->record.entity_type, "Order");
  EXPECT_EQ(letter->record.attempts, (std::vector<AttemptRecord>{NewAttempt(503, "HTTP 503", 1), NewAttempt(503, "HTTP 503", 2)}));
  EXPECT_EQ(letter->record.reason, "HTTP 503 after 2 attempts");
  EXPECT_EQ(letter->retry_count, 0);
  EXPECT_FALSE(letter->last_retried_at);
  EXPECT_LT(std::chrono::system_clock::now() - letter->created_at, std::chrono::minutes(5));
  EXPECT_TRUE(letter->retryable());

  Result<StoredDeadLetter> failure = store_.Get(3);
  ASSERT_TRUE(failure);
  EXPECT_FALSE(failure->record.delivery_id);
  EXPECT_FALSE(failure->record.event);
  ASSERT_TRUE(failure->record.row_data);
  EXPECT_EQ((*failure->record.row_data)["modification_type"], "MERGE");
  EXPECT_FALSE(failure->retryable());

  const nlohmann::json json = StoredDeadLetterToJson(*failure);
  EXPECT_EQ(json["id"], 3);
  EXPECT_TRUE(json["delivery_id"].is_null());
  EXPECT_EQ(json["retryable"], false);
}

TEST_F(DlqStoreTest, InsertDeadLettersRefusesAnIdThatIsNotAUuid) {
  DeadLetterRecord record = PipelineFailure();
  record.delivery_id = "nope";
  Result<void> inserted = InsertDeadLetters(conn_, std::vector<DeadLetterRecord>{record});
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DlqStoreTest, GetOfAMissingIdIsNotFound) {
  Result<StoredDeadLetter> letter = store_.Get(42);
  ASSERT_FALSE(letter);
  EXPECT_EQ(letter.error().code, ErrorCode::kNotFound);
}

TEST_F(DlqStoreTest, ListFilters) {
  auto list = [&](DeadLetterFilter filter) {
    Result<std::vector<StoredDeadLetter>> letters = store_.List(filter);
    EXPECT_TRUE(letters) << letters.error().message;
    return letters ? IdsOf(*letters) : std::vector<int64_t>{};
  };
  EXPECT_THAT(list({}), ElementsAre(1, 2, 3));
  EXPECT_THAT(list(Filter("o2")), ElementsAre(2));
  EXPECT_THAT(list(Filter(std::nullopt, "Order")), ElementsAre(1));
  EXPECT_THAT(list(Filter(std::nullopt, std::nullopt, AnHourAgo())), ElementsAre(1, 3));
  EXPECT_THAT(list(Filter(std::nullopt, std::nullopt, std::nullopt, 2)), ElementsAre(1, 2));
  EXPECT_THAT(list(Filter("o1", "User")), ElementsAre());
}

TEST_F(DlqStoreTest, RetryReEnqueuesOnlyThatActionsDelivery) {
  // Another action of the same event failed too; retrying one must not run the other.
  Delivery sibling = NewDelivery(order_.event, "o1", 0);
  Insert(db_, {DeliveryLetter(sibling, "HTTP 500")});

  Result<RetryReport> report = store_.Retry(ById(1), /*dry_run=*/false);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kEnqueued);
  EXPECT_EQ(report->items[0].delivery_id, order_.id);

  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_jobs"), 1);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_jobs WHERE delivery_id = $1 AND observer = 'o1' AND action_index = 1"
                      " AND attempt = 0 AND attempts = '[]' AND run_at <= now() AND locked_by IS NULL"
                      " AND listener_id = 'default' AND change_log_pk = 77 AND event->>'id' = $2",
                      {order_.id, order_.event->id}),
            1);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters WHERE id = 1"), 0);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters"), 3);

  // The queue hands it out again: same delivery, a clean slate of attempts.
  SystemClock clock;
  PostgresJobQueueOptions options;
  options.database_url = db_.url();
  options.holder = "worker";
  PostgresJobQueue queue(options, &clock);
  std::vector<Delivery> claimed = queue.Claim(10, std::chrono::steady_clock::now() + milliseconds(10000), {});
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, order_.id);
  EXPECT_EQ(claimed[0].observer, "o1");
  EXPECT_EQ(claimed[0].action_index, 1u);
  EXPECT_TRUE(claimed[0].attempts.empty());
  EXPECT_EQ(*claimed[0].event, *order_.event);
}

TEST_F(DlqStoreTest, RetryOfAPipelineFailureIsRefusedAndLeavesIt) {
  Result<RetryReport> report = store_.Retry(ById(3), /*dry_run=*/false);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kNotRetryable);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters WHERE id = 3"), 1);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_jobs"), 0);
}

TEST_F(DlqStoreTest, RetryOfAMissingIdIsNotFound) {
  Result<RetryReport> report = store_.Retry(ById(42), false);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kNotFound);
}

TEST_F(DlqStoreTest, RetryDryRunChangesNothing) {
  Result<RetryReport> report = store_.Retry({}, /*dry_run=*/true);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->dry_run);
  EXPECT_EQ(report->Count(RetryOutcome::kEnqueued), 2u);
  EXPECT_EQ(report->Count(RetryOutcome::kNotRetryable), 1u);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters"), 3);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_jobs"), 0);
}

TEST_F(DlqStoreTest, RetryAllWithAFilterAndADeliveryAlreadyQueued) {
  // A second dead letter of o1's delivery (it failed again after an earlier retry).
  Insert(db_, {DeliveryLetter(order_, "HTTP 503 again")});
  Result<RetryReport> report = store_.Retry(Matching(Filter("o1")), false);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->items.size(), 2u);
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kEnqueued);
  EXPECT_EQ(report->items[1].outcome, RetryOutcome::kEnqueued);  // the same delivery: queued once
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_jobs WHERE delivery_id = $1", {order_.id}), 1);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters"), 2);

  // Dead-lettered again while its job is still queued: the retry says so and runs it once.
  Insert(db_, {DeliveryLetter(order_, "HTTP 503 a third time")});
  report = store_.Retry(Matching(Filter(std::nullopt, "Order")), false);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kAlreadyQueued);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_jobs"), 1);
}

TEST_F(DlqStoreTest, PurgeDryRunChangesNothingAndPurgeDeletes) {
  Result<PurgeReport> dry = store_.Purge(Matching(Filter(std::nullopt, std::nullopt, AnHourAgo())),
                                         /*dry_run=*/true);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_THAT(dry->ids, ElementsAre(1, 3));
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters"), 3);

  Result<PurgeReport> one = store_.Purge(ById(2), false);
  ASSERT_TRUE(one);
  EXPECT_THAT(one->ids, ElementsAre(2));
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters"), 2);

  Result<PurgeReport> missing = store_.Purge(ById(2), false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  Result<PurgeReport> all = store_.Purge({}, false);
  ASSERT_TRUE(all);
  EXPECT_THAT(all->ids, ElementsAre(1, 3));
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters"), 0);
}

}  // namespace
}  // namespace fraiseql
