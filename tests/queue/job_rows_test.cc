// JobRowArrays: the JSON the listener sends for new job rows (the statement itself is exercised
// against PostgreSQL by postgres_job_queue_test).
#include "queue/job_rows.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using nlohmann::json;

NewJob OrderJob(int n) {
  auto event = std::make_shared<EntityEvent>();
  event->id = "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d" + std::to_string(10 + n);
  event->event_type = EventKind::kUpdate;
  event->entity_type = "Order";
  event->entity_id = "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26";
  event->data = json{{"id", n}, {"status", "paid"}};
  event->timestamp = Timestamp{std::chrono::microseconds(1'795'953'600'123'456)};
  Delivery delivery;
  delivery.id = MakeDeliveryId(event->id, "orders", 1);
  delivery.event = std::move(event);
  delivery.observer = "orders";
  delivery.action_index = 1;
  return {std::move(delivery), 100 + n};
}

json OnlyArray(const Result<std::vector<std::string>>& arrays) {
  EXPECT_TRUE(arrays) << arrays.error().message;
  EXPECT_EQ(arrays->size(), 1u);
  return json::parse(arrays->front());
}

TEST(JobRowArraysTest, AFirstHandOffCarriesTheWholeEventAndNoAttempts) {
  const NewJob job = OrderJob(1);
  const json rows = OnlyArray(JobRowArrays(std::vector<NewJob>{job}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (json{{"action_index", 1},
                           {"attempt", 0},
                           {"attempts", json::array()},
                           {"change_log_pk", 101},
                           {"delivery_id", job.delivery.id},
                           {"event", EventToJson(*job.delivery.event)},
                           {"observer", "orders"}}));
}

TEST(JobRowArraysTest, ARetryCarriesItsAttemptsLastErrorAndRunAt) {
  NewJob job = OrderJob(2);
  job.change_log_pk = 0;  // unknown: no column value
  const auto started = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'953'600));
  job.delivery.attempts.push_back({started, DeliveryOutcomeKind::kRetryable, 503, std::string("HTTP 503: \0 body", 16),
                                   std::chrono::milliseconds(12)});
  job.run_at = started + std::chrono::seconds(30);
  const json rows = OnlyArray(JobRowArrays(std::vector<NewJob>{job}));
  ASSERT_EQ(rows.size(), 1u);
  const json& row = rows[0];
  EXPECT_FALSE(row.contains("change_log_pk"));
  EXPECT_EQ(row["attempt"], 1);
  ASSERT_EQ(row["attempts"].size(), 1u);
  EXPECT_EQ(row["attempts"][0]["status"], 503);
  // jsonb refuses U+0000: the NUL byte of the error travels as U+FFFD.
  EXPECT_EQ(row["last_error"], "HTTP 503: \xef\xbf\xbd body");
  EXPECT_EQ(row["attempts"][0]["error"], "HTTP 503: \xef\xbf\xbd body");
  EXPECT_EQ(row["run_at"], "2026-11-29T12:00:30.000000Z");
}

TEST(JobRowArraysTest, ManyJobsShareOneArrayInOrder) {
  std::vector<NewJob> jobs;
  for (int n = 0; n < 50; ++n) jobs.push_back(OrderJob(n));
  const json rows = OnlyArray(JobRowArrays(jobs));
  ASSERT_EQ(rows.size(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(rows[i]["delivery_id"], jobs[i].delivery.id);
}

TEST(JobRowArraysTest, RefusesAJobWithoutAnEventOrWithABadId) {
  NewJob no_event = OrderJob(3);
  no_event.delivery.event = nullptr;
  Result<std::vector<std::string>> refused = JobRowArrays(std::vector<NewJob>{no_event});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("has no event"), std::string::npos);

  NewJob bad_id = OrderJob(4);
  bad_id.delivery.id = "job-4";
  refused = JobRowArrays(std::vector<NewJob>{bad_id});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("'job-4' is not a UUID"), std::string::npos);
}

TEST(JobRowArraysTest, NoJobsNoArrays) {
  Result<std::vector<std::string>> arrays = JobRowArrays({});
  ASSERT_TRUE(arrays);
  EXPECT_TRUE(arrays->empty());
}

}  // namespace
}  // namespace fraiseql
