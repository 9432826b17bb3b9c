// The DeadLetterStore contract (dlq/dead_letter_store.h), run by every backend.
#include "dead_letter_store_contract.h"

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "testing/delivery_builder.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::SizeIs;

DeadLetter DeliveryLetter(const Delivery& delivery, std::string reason) {
  DeadLetter letter = DeadLetterOf(delivery, "webhook", std::move(reason));
  letter.listener_id = "default";
  letter.change_log_pk = 77;
  letter.attempts = {NewAttempt(503, "HTTP 503", 1), NewAttempt(503, "HTTP 503", 2)};
  return letter;
}

DeadLetter PipelineFailure() {
  DeadLetter letter;
  letter.listener_id = "default";
  letter.change_log_pk = 99;
  letter.row_data = nlohmann::json{{"pk_entity_change_log", 99}, {"modification_type", "MERGE"}};
  letter.reason = "row 99: unknown modification_type 'MERGE'";
  return letter;
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

std::vector<int64_t> IdsOf(const std::vector<StoredDeadLetter>& letters) {
  std::vector<int64_t> ids;
  for (const StoredDeadLetter& letter : letters) ids.push_back(letter.id);
  return ids;
}

}  // namespace

void DeadLetterStoreContract::SetUp() {
    ContractTest::SetUp();
    order_ = NewDelivery(NewEvent("Order", 1), "o1", 1);
    user_ = NewDelivery(NewEvent("User", 2), "o2", 0);
    const std::vector<DeadLetter> letters = {DeliveryLetter(order_, "HTTP 503 after 2 attempts"),
                                             DeliveryLetter(user_, "HTTP 400"), PipelineFailure()};
    Result<void> added = store().Add(letters);
    ASSERT_TRUE(added) << added.error().message;
    Result<std::vector<StoredDeadLetter>> all = store().List({});
    ASSERT_TRUE(all) << all.error().message;
    ids_ = IdsOf(*all);
    ASSERT_THAT(ids_, SizeIs(3));
}

std::vector<int64_t> DeadLetterStoreContract::List(const DeadLetterFilter& filter) {
  Result<std::vector<StoredDeadLetter>> letters = store().List(filter);
  EXPECT_TRUE(letters) << letters.error().message;
  return letters ? IdsOf(*letters) : std::vector<int64_t>{};
}

std::vector<Delivery> DeadLetterStoreContract::ClaimAll() {
  return backend().queue().Claim(100, std::chrono::steady_clock::now() + 10s, std::stop_token());
}

namespace {

TEST_P(DeadLetterStoreContract, AddKeepsEveryFieldInArrivalOrder) {
  EXPECT_LT(ids_[0], ids_[1]);
  EXPECT_LT(ids_[1], ids_[2]);
  Result<StoredDeadLetter> stored = store().Get(ids_[0]);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->id, ids_[0]);
  EXPECT_EQ(stored->letter, DeliveryLetter(order_, "HTTP 503 after 2 attempts"));
  EXPECT_EQ(stored->retry_count, 0);
  EXPECT_FALSE(stored->last_retried_at);
  EXPECT_LT(std::chrono::system_clock::now() - stored->created_at, 5min);

  Result<StoredDeadLetter> failure = store().Get(ids_[2]);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->letter, PipelineFailure());
  const nlohmann::json json = StoredDeadLetterToJson(*failure);
  EXPECT_EQ(json["id"], ids_[2]);
  EXPECT_TRUE(json["delivery_id"].is_null());
  EXPECT_EQ(json["retryable"], false);
  EXPECT_EQ(json["redrivable"], false);
  EXPECT_EQ(json["failure"], "pipeline");
}

// The RETRYABLE column of `dlq list` is this JSON's "retryable": the failure read back from the
// stored attempts, not whether the delivery can be re-driven.
TEST_P(DeadLetterStoreContract, FailureKindComesFromTheLastStoredAttempt) {
  const Delivery refused = NewDelivery(NewEvent("Order", 7), "o7", 0);
  DeadLetter permanent = DeliveryLetter(refused, "HTTP 404 Not Found (permanent)");
  permanent.attempts = {NewAttempt(503, "HTTP 503 (retryable)", 1), NewAttempt(404, "HTTP 404 (permanent)", 2)};
  DeadLetter unattempted = DeliveryLetter(NewDelivery(NewEvent("Order", 8), "gone", 0), "no such action");
  unattempted.attempts.clear();
  ASSERT_TRUE(store().Add(std::vector<DeadLetter>{permanent, unattempted}));
  Result<std::vector<StoredDeadLetter>> all = store().List({});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_THAT(*all, SizeIs(5));
  const auto json = [&](size_t index) { return StoredDeadLetterToJson((*all)[index]); };
  // ids_[0]: two 503s, attempts exhausted.
  EXPECT_EQ(json(0)["failure"], "exhausted");
  EXPECT_EQ(json(0)["retryable"], true);
  EXPECT_EQ(json(0)["redrivable"], true);
  EXPECT_EQ(json(3)["failure"], "permanent");
  EXPECT_EQ(json(3)["retryable"], false);
  EXPECT_EQ(json(3)["redrivable"], true);  // `dlq retry` may still run it once the cause is fixed
  EXPECT_EQ(json(4)["failure"], "not_attempted");
  EXPECT_EQ(json(4)["retryable"], false);
}

TEST_P(DeadLetterStoreContract, AddRefusesAnIdThatIsNotAUuidAndKeepsNothingOfTheBatch) {
  DeadLetter bad = PipelineFailure();
  bad.delivery_id = "nope";
  const std::vector<DeadLetter> letters = {PipelineFailure(), bad};
  Result<void> added = store().Add(letters);
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(List({}), SizeIs(3));
}

TEST_P(DeadLetterStoreContract, GetOfAMissingIdIsNotFound) {
  Result<StoredDeadLetter> letter = store().Get(ids_[2] + 1000);
  ASSERT_FALSE(letter);
  EXPECT_EQ(letter.error().code, ErrorCode::kNotFound);
}

TEST_P(DeadLetterStoreContract, ListFilters) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(List({}), ids_);
  EXPECT_THAT(List(Filter("o2")), ElementsAre(ids_[1]));
  EXPECT_THAT(List(Filter(std::nullopt, "Order")), ElementsAre(ids_[0]));
  EXPECT_EQ(List(Filter(std::nullopt, std::nullopt, now - 1h)), ids_);
  EXPECT_THAT(List(Filter(std::nullopt, std::nullopt, now + 1h)), ElementsAre());
  EXPECT_THAT(List(Filter(std::nullopt, std::nullopt, std::nullopt, 2)), ElementsAre(ids_[0], ids_[1]));
  EXPECT_THAT(List(Filter("o1", "User")), ElementsAre());
}

TEST_P(DeadLetterStoreContract, RetryReDrivesOnlyThatActionsDeliveryWithItsAttemptsReset) {
  // Another action of the same event failed too; retrying one must not run the other.
  const Delivery sibling = NewDelivery(order_.event, "o1", 0);
  ASSERT_TRUE(store().Add(std::vector<DeadLetter>{DeliveryLetter(sibling, "HTTP 500")}));

  Result<RetryReport> report = store().Retry(ById(ids_[0]), /*dry_run=*/false);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_THAT(report->items, SizeIs(1));
  EXPECT_EQ(report->items[0].id, ids_[0]);
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kEnqueued);
  EXPECT_EQ(report->items[0].delivery_id, order_.id);
  EXPECT_EQ(report->items[0].observer, "o1");
  EXPECT_EQ(report->items[0].action_index, 1u);
  EXPECT_EQ(backend().Queued(), 1u);
  EXPECT_EQ(store().Get(ids_[0]).error().code, ErrorCode::kNotFound);
  EXPECT_THAT(List({}), SizeIs(3));

  // The queue hands it out again: same delivery, a clean slate of attempts.
  std::vector<Delivery> claimed = ClaimAll();
  ASSERT_THAT(claimed, SizeIs(1));
  EXPECT_EQ(claimed[0].id, order_.id);
  EXPECT_EQ(claimed[0].observer, "o1");
  EXPECT_EQ(claimed[0].action_index, 1u);
  EXPECT_TRUE(claimed[0].attempts.empty());
  EXPECT_EQ(*claimed[0].event, *order_.event);
}

TEST_P(DeadLetterStoreContract, RetryOfAPipelineFailureIsNotRetryableAndLeavesIt) {
  Result<RetryReport> report = store().Retry(ById(ids_[2]), false);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_THAT(report->items, SizeIs(1));
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kNotRetryable);
  EXPECT_TRUE(store().Get(ids_[2]));
  EXPECT_EQ(backend().Queued(), 0u);
}

TEST_P(DeadLetterStoreContract, RetryOfAMissingIdIsNotFound) {
  Result<RetryReport> report = store().Retry(ById(ids_[2] + 1000), false);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kNotFound);
}

TEST_P(DeadLetterStoreContract, RetryDryRunChangesNothing) {
  Result<RetryReport> report = store().Retry({}, /*dry_run=*/true);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->dry_run);
  EXPECT_EQ(report->Count(RetryOutcome::kEnqueued), 2u);
  EXPECT_EQ(report->Count(RetryOutcome::kNotRetryable), 1u);
  EXPECT_THAT(List({}), SizeIs(3));
  EXPECT_EQ(backend().Queued(), 0u);
}

TEST_P(DeadLetterStoreContract, ADeliveryIsQueuedOnceWhateverHowManyLettersNameIt) {
  // A second dead letter of o1's delivery (it failed again after an earlier retry).
  ASSERT_TRUE(store().Add(std::vector<DeadLetter>{DeliveryLetter(order_, "HTTP 503 again")}));
  Result<RetryReport> report = store().Retry(Matching(Filter("o1")), false);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_THAT(report->items, SizeIs(2));
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kEnqueued);
  EXPECT_EQ(report->items[1].outcome, RetryOutcome::kEnqueued);  // the same delivery: queued once
  EXPECT_EQ(backend().Queued(), 1u);
  EXPECT_THAT(List({}), SizeIs(2));

  // Dead-lettered again while its job is still queued: the retry says so and it runs once.
  ASSERT_TRUE(store().Add(std::vector<DeadLetter>{DeliveryLetter(order_, "HTTP 503 a third time")}));
  report = store().Retry(Matching(Filter(std::nullopt, "Order")), false);
  ASSERT_TRUE(report);
  ASSERT_THAT(report->items, SizeIs(1));
  EXPECT_EQ(report->items[0].outcome, RetryOutcome::kAlreadyQueued);
  EXPECT_EQ(backend().Queued(), 1u);
}

TEST_P(DeadLetterStoreContract, PurgeDryRunChangesNothingAndPurgeDeletes) {
  Result<PurgeReport> dry = store().Purge(Matching(Filter(std::nullopt, "Order")), /*dry_run=*/true);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_TRUE(dry->dry_run);
  EXPECT_THAT(dry->ids, ElementsAre(ids_[0]));
  EXPECT_THAT(List({}), SizeIs(3));

  Result<PurgeReport> one = store().Purge(ById(ids_[1]), false);
  ASSERT_TRUE(one);
  EXPECT_THAT(one->ids, ElementsAre(ids_[1]));
  EXPECT_THAT(List({}), ElementsAre(ids_[0], ids_[2]));

  Result<PurgeReport> missing = store().Purge(ById(ids_[1]), false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  Result<PurgeReport> all = store().Purge({}, false);
  ASSERT_TRUE(all);
  EXPECT_THAT(all->ids, ElementsAre(ids_[0], ids_[2]));
  EXPECT_THAT(List({}), ElementsAre());
}

}  // namespace
}  // namespace fraiseql::testing
