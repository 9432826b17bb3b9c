// The HandOff contract (listener/hand_off.h), run by every backend.
#include "hand_off_contract.h"

#include <chrono>
#include <set>
#include <stop_token>
#include <thread>

#include <gmock/gmock.h>

#include "testing/delivery_builder.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::SizeIs;

constexpr std::chrono::milliseconds kLongTtl{60'000};

Lease MustLead(LeaseStore& leases, std::string_view holder = "holder-a") {
  Result<std::optional<Lease>> lease = leases.TryAcquire("main", holder, kLongTtl);
  if (!lease || !*lease) throw std::runtime_error("could not take the lease");
  return **lease;
}

Checkpoint At(const Lease& lease, ChangeLogPosition position, int64_t total) {
  Checkpoint checkpoint;
  checkpoint.listener_id = "main";
  checkpoint.position = position;
  checkpoint.lease_epoch = lease.epoch;
  checkpoint.batch_size = 100;
  checkpoint.event_count = 2;
  checkpoint.total_events = total;
  checkpoint.updated_by = lease.holder;
  return checkpoint;
}

// Rows `first`.. of the change log as jobs (one delivery each), plus one dead letter.
HandOffBatch Batch(const Lease& lease, int first, int count, ChangeLogPosition from, ChangeLogPosition to) {
  HandOffBatch batch;
  for (int n = first; n < first + count; ++n) batch.jobs.push_back({NewDelivery(NewEvent("Order", n), "obs"), n});
  DeadLetter failure;
  failure.listener_id = "main";
  failure.change_log_pk = first + count;
  failure.row_data = nlohmann::json{{"modification_type", "MERGE"}};
  failure.reason = "unknown modification_type 'MERGE'";
  batch.dead_letters.push_back(failure);
  batch.from = from;
  batch.next = At(lease, to, to.pk);
  return batch;
}

std::optional<Checkpoint> Stored(HandOff& hand_off) {
  Result<std::optional<Checkpoint>> stored = hand_off.LoadCheckpoint("main");
  EXPECT_TRUE(stored) << stored.error().message;
  return stored ? *stored : std::nullopt;
}

HandOffOutcome MustCommit(HandOff& hand_off, const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) {
  Result<HandOffOutcome> outcome = hand_off.Commit(lease, expected_epoch, batch);
  if (!outcome) throw std::runtime_error(outcome.error().message);
  return *outcome;
}

TEST_P(HandOffContract, ACommitQueuesTheJobsKeepsTheDeadLettersAndMovesTheCheckpoint) {
  EXPECT_FALSE(Stored(hand_off()));
  const Lease lease = MustLead(backend().leases());
  const HandOffBatch batch = Batch(lease, 1, 2, {}, {10, 3});
  EXPECT_EQ(MustCommit(hand_off(), lease, 0, batch), HandOffOutcome::kCommitted);
  EXPECT_EQ(backend().Queued(), 2u);
  const std::vector<StoredDeadLetter> letters = backend().DeadLetters();
  ASSERT_THAT(letters, SizeIs(1));
  EXPECT_EQ(letters[0].letter.reason, "unknown modification_type 'MERGE'");
  EXPECT_EQ(letters[0].letter.change_log_pk, 3);
  std::optional<Checkpoint> stored = Stored(hand_off());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->position, (ChangeLogPosition{10, 3}));
  EXPECT_EQ(stored->lease_epoch, lease.epoch);
  EXPECT_EQ(stored->total_events, 3);
  EXPECT_EQ(stored->updated_by, "holder-a");

  // The next batch follows from there; the workers get every delivery in change-log order.
  EXPECT_EQ(MustCommit(hand_off(), lease, lease.epoch, Batch(lease, 4, 1, {10, 3}, {11, 5})),
            HandOffOutcome::kCommitted);
  EXPECT_EQ(backend().Queued(), 3u);
  std::vector<Delivery> taken = backend().Take(10);
  ASSERT_THAT(taken, SizeIs(3));
  EXPECT_EQ(taken[0].id, batch.jobs[0].delivery.id);
  EXPECT_EQ(*taken[0].event, *batch.jobs[0].delivery.event);
}

TEST_P(HandOffContract, AReplayedBatchQueuesNothingTwice) {
  const Lease lease = MustLead(backend().leases());
  ASSERT_EQ(MustCommit(hand_off(), lease, 0, Batch(lease, 1, 2, {}, {10, 3})), HandOffOutcome::kCommitted);
  // An operator moved the checkpoint back: the same rows come again, with one more.
  HandOffBatch replay = Batch(lease, 1, 3, {10, 3}, {12, 4});
  replay.dead_letters.clear();
  ASSERT_EQ(MustCommit(hand_off(), lease, lease.epoch, replay), HandOffOutcome::kCommitted);
  EXPECT_EQ(backend().Queued(), 3u);
  // The workers get each delivery once: the replayed ones were queued already.
  std::vector<Delivery> taken = backend().Take(10);
  std::set<std::string> ids;
  for (const Delivery& delivery : taken) ids.insert(delivery.id);
  EXPECT_THAT(taken, SizeIs(3));
  EXPECT_EQ(ids.size(), taken.size());
}

TEST_P(HandOffContract, AMovedCheckpointChangesNothing) {
  const Lease lease = MustLead(backend().leases());
  ASSERT_EQ(MustCommit(hand_off(), lease, 0, Batch(lease, 1, 1, {}, {10, 2})), HandOffOutcome::kCommitted);
  // Read after a position the checkpoint no longer holds (an operator's move, another writer).
  EXPECT_EQ(MustCommit(hand_off(), lease, lease.epoch, Batch(lease, 5, 2, {9, 1}, {12, 7})),
            HandOffOutcome::kCheckpointMoved);
  // A first write where a checkpoint exists already.
  EXPECT_EQ(MustCommit(hand_off(), lease, 0, Batch(lease, 5, 2, {}, {12, 7})), HandOffOutcome::kCheckpointMoved);
  EXPECT_EQ(backend().Queued(), 1u);
  EXPECT_THAT(backend().DeadLetters(), SizeIs(1));
  EXPECT_EQ(Stored(hand_off())->position, (ChangeLogPosition{10, 2}));
}

TEST_P(HandOffContract, ALostLeaseChangesNothing) {
  const Lease old = MustLead(backend().leases(), "holder-a");
  ASSERT_EQ(MustCommit(hand_off(), old, 0, Batch(old, 1, 1, {}, {10, 2})), HandOffOutcome::kCommitted);
  // Another process took over (the old holder released, or was presumed dead).
  ASSERT_TRUE(backend().leases().Release(old));
  const Lease usurper = MustLead(backend().leases(), "holder-b");
  ASSERT_GT(usurper.epoch, old.epoch);
  EXPECT_EQ(MustCommit(hand_off(), old, old.epoch, Batch(old, 5, 2, {10, 2}, {12, 7})), HandOffOutcome::kLeaseLost);
  EXPECT_EQ(backend().Queued(), 1u);
  EXPECT_EQ(Stored(hand_off())->lease_epoch, old.epoch);
  // The new holder takes the checkpoint over under its epoch (a batch of nothing), and goes on.
  HandOffBatch takeover;
  takeover.from = {10, 2};
  takeover.next = At(usurper, {10, 2}, 2);
  EXPECT_EQ(MustCommit(hand_off(), usurper, old.epoch, takeover), HandOffOutcome::kCommitted);
  EXPECT_EQ(Stored(hand_off())->lease_epoch, usurper.epoch);
  EXPECT_EQ(MustCommit(hand_off(), usurper, usurper.epoch, Batch(usurper, 5, 2, {10, 2}, {12, 7})),
            HandOffOutcome::kCommitted);
  EXPECT_EQ(backend().Queued(), 3u);
}

TEST_P(HandOffContract, RefusedContentIsAnInvalidArgumentAndChangesNothing) {
  const Lease lease = MustLead(backend().leases());
  HandOffBatch batch = Batch(lease, 1, 2, {}, {10, 3});
  batch.dead_letters[0].delivery_id = "not-a-uuid";
  Result<HandOffOutcome> outcome = hand_off().Commit(lease, 0, batch);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(backend().Queued(), 0u);
  EXPECT_FALSE(Stored(hand_off()));
}

TEST_P(HandOffContract, WaitForRoomWaitsForTheWorkers) {
  const Lease lease = MustLead(backend().leases());
  EXPECT_TRUE(hand_off().WaitForRoom(std::chrono::steady_clock::now(), {}));
  HandOffBatch full = Batch(lease, 1, static_cast<int>(kHandOffRoom), {}, {10, 3});
  ASSERT_EQ(MustCommit(hand_off(), lease, 0, full), HandOffOutcome::kCommitted);
  EXPECT_FALSE(hand_off().WaitForRoom(std::chrono::steady_clock::now() + 20ms, {}));  // the deadline

  bool room = false;
  std::jthread listener([&] { room = hand_off().WaitForRoom(std::chrono::steady_clock::now() + 10min, {}); });
  EXPECT_THAT(backend().Take(1), SizeIs(1));  // a worker takes one: the wait ends long before its deadline
  listener.join();
  EXPECT_TRUE(room);

  ASSERT_EQ(MustCommit(hand_off(), lease, lease.epoch, Batch(lease, 7, 1, {10, 3}, {11, 4})),
            HandOffOutcome::kCommitted);
  std::stop_source stop;
  bool stopped_with_room = true;
  std::jthread stopped([&] {
    stopped_with_room = hand_off().WaitForRoom(std::chrono::steady_clock::now() + 10min, stop.get_token());
  });
  stop.request_stop();
  stopped.join();
  EXPECT_FALSE(stopped_with_room);
}

}  // namespace
}  // namespace fraiseql::testing
