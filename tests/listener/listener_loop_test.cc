// The Listener loop on its memory backends and a FakeClock: what it commits, how it leads, waits,
// backs off and keeps its lease while the workers stall, with no database and no real waiting.
// Also the memory backends under the lease and hand-off contracts. (The same loop on PostgreSQL
// is in listener_test.cc.)
#include "listener/listener.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <set>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checkpoint/memory_checkpoint_store.h"
#include "common/log.h"
#include "common/mutex.h"
#include "config/config.h"
#include "dlq/memory_dead_letter_store.h"
#include "hand_off_contract.h"
#include "listener_observers.h"
#include "lease_contract.h"
#include "listener/memory_change_log.h"
#include "listener/memory_hand_off.h"
#include "listener/memory_lease.h"
#include "queue/memory_job_queue.h"
#include "testing/delivery_builder.h"
#include "testing/poll.h"

namespace fraiseql::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// ---- the memory backends under their contracts ----

class MemoryLeaseBackend final : public LeaseBackend {
 public:
  LeaseStore& leases() override { return leases_; }
  void Expire(std::string_view /*listener_id*/) override { clock_.Advance(2min); }

 private:
  FakeClock clock_;
  MemoryLeaseStore leases_{clock_};
};

FRAISEQL_CONTRACT_BACKEND(LeaseStoreContract, Memory, MemoryLeaseBackend);

class MemoryHandOffBackend final : public HandOffBackend {
 public:
  MemoryHandOffBackend() { dead_letters_.SetRedriveTarget(&queue_); }
  HandOff& hand_off() override { return hand_off_; }
  LeaseStore& leases() override { return leases_; }
  size_t Queued() override { return queue_.outstanding(); }
  std::vector<StoredDeadLetter> DeadLetters() override { return dead_letters_.List({}).value(); }
  std::vector<Delivery> Take(size_t max) override { return queue_.Claim(max, RealClock().SteadyNow(), {}); }

 private:
  MemoryLeaseStore leases_{RealClock()};
  MemoryCheckpointStore checkpoints_{RealClock()};
  MemoryDeadLetterStore dead_letters_{RealClock()};
  MemoryJobQueue queue_{RealClock(), dead_letters_};
  MemoryHandOff hand_off_{leases_, checkpoints_, queue_, dead_letters_, kHandOffRoom};
};

FRAISEQL_CONTRACT_BACKEND(HandOffContract, Memory, MemoryHandOffBackend);

// ---- the loop ----

ChangeLogRow OrderRow(int n, std::string verb = "INSERT", nlohmann::json data = nullptr) {
  ChangeLogRow row;
  row.id = NumberedUuid(100000 + n);
  row.object_type = "Order";
  row.modification_type = std::move(verb);
  row.created_at = "2026-11-29T12:00:00Z";
  row.object_id = NumberedUuid(n);
  row.object_data = data.is_null() ? nlohmann::json{{"n", n}} : std::move(data);
  return row;
}

// A HandOff that refuses, as PostgreSQL refuses a value its types or limits reject, every batch
// holding one of the rows `refused` (each at most `times` times), and records the size of every
// batch it is given: the fault the loop must isolate (a fake for injecting it; the rest is real).
class RefusingHandOff final : public HandOff {
 public:
  RefusingHandOff(HandOff& inner, std::set<int64_t> refused, Error refusal = Error::InvalidArgument(
                                                                 "SQLSTATE 22P02: invalid input syntax"),
                  int times = std::numeric_limits<int>::max())
      : inner_(inner), refused_(std::move(refused)), refusal_(std::move(refusal)), times_left_(times) {}
  Result<std::optional<Checkpoint>> LoadCheckpoint(std::string_view listener_id) override {
    return inner_.LoadCheckpoint(listener_id);
  }
  Result<HandOffOutcome> Commit(const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) override {
    commits_.fetch_add(1);
    for (const NewJob& job : batch.jobs) {
      if (refused_.contains(job.change_log_pk) && times_left_.load() > 0) {
        times_left_.fetch_sub(1);
        return refusal_;
      }
    }
    return inner_.Commit(lease, expected_epoch, batch);
  }
  bool WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) override {
    return inner_.WaitForRoom(deadline, std::move(stop));
  }
  int commits() const { return commits_.load(); }

 private:
  HandOff& inner_;
  const std::set<int64_t> refused_;
  const Error refusal_;
  std::atomic<int> times_left_;
  std::atomic<int> commits_{0};
};

// Records the rows of every batch the loop commits (on the loop's thread; read after it stops).
class RecordingHandOff final : public HandOff {
 public:
  explicit RecordingHandOff(HandOff& inner) : inner_(inner) {}
  Result<std::optional<Checkpoint>> LoadCheckpoint(std::string_view listener_id) override {
    return inner_.LoadCheckpoint(listener_id);
  }
  Result<HandOffOutcome> Commit(const Lease& lease, int64_t expected_epoch, const HandOffBatch& batch) override {
    Result<HandOffOutcome> outcome = inner_.Commit(lease, expected_epoch, batch);
    if (outcome && *outcome == HandOffOutcome::kCommitted && batch.next.event_count > 0) {
      MutexLock lock(&mu_);
      batch_rows_.push_back(batch.next.event_count);
    }
    return outcome;
  }
  bool WaitForRoom(std::chrono::steady_clock::time_point deadline, std::stop_token stop) override {
    return inner_.WaitForRoom(deadline, std::move(stop));
  }
  std::vector<uint32_t> batch_rows() const {
    MutexLock lock(&mu_);
    return batch_rows_;
  }

 private:
  HandOff& inner_;
  mutable Mutex mu_;
  std::vector<uint32_t> batch_rows_ GUARDED_BY(mu_);
};

class ListenerLoopTest : public ::testing::Test {
 protected:
  ListenerLoopTest() : config_(ListenerObserversConfig()), index_(config_.observers) {
    dead_letters_.SetRedriveTarget(&queue_);
  }

  ListenerOptions Options(std::string holder = "holder-a") const {
    ListenerOptions options;
    options.listener_id = "main";
    options.holder = std::move(holder);
    options.poll_interval = 1s;
    options.lease_ttl = 15s;  // renewed every 5 s
    options.retry_backoff_min = 100ms;
    options.retry_backoff_max = 1s;
    options.batch_size = 100;
    return options;
  }

  std::unique_ptr<Listener> Make(ListenerOptions options, HandOff* hand_off = nullptr) {
    Result<std::unique_ptr<Listener>> listener =
        Listener::Create(std::move(options), index_, change_log_, leases_, hand_off ? *hand_off : hand_off_, clock_);
    if (!listener) throw std::runtime_error(listener.error().message);
    return std::move(listener).value();
  }

  // Moves the clock on by `step` whenever the listener waits for time, until `condition` holds.
  bool RunUntil(const std::function<bool()>& condition, std::chrono::milliseconds step = 100ms) {
    return PollUntil([&] {
      if (condition()) return true;
      if (clock_.AwaitWaiters(1, 1ms)) clock_.Advance(step);
      return false;
    });
  }

  std::vector<int64_t> DeadLetterPks() {
    const std::vector<StoredDeadLetter> letters = dead_letters_.List({}).value();
    std::vector<int64_t> pks;
    for (const StoredDeadLetter& stored : letters) pks.push_back(*stored.letter.change_log_pk);
    return pks;
  }
  std::optional<Checkpoint> Stored() { return checkpoints_.Load("main").value(); }

  Config config_;
  ObserverIndex index_;
  FakeClock clock_;
  MemoryChangeLog change_log_{clock_};
  MemoryLeaseStore leases_{clock_};
  MemoryCheckpointStore checkpoints_{clock_};
  MemoryDeadLetterStore dead_letters_{clock_};
  MemoryJobQueue queue_{clock_, dead_letters_};
  MemoryHandOff hand_off_{leases_, checkpoints_, queue_, dead_letters_, 10000};
};

TEST_F(ListenerLoopTest, CommitsEveryRowsDeliveriesAndAdvancesTheCheckpoint) {
  const ChangeLogPosition a = change_log_.Append(OrderRow(1));
  const ChangeLogPosition b = change_log_.Append(OrderRow(2));
  std::unique_ptr<Listener> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position == b; }));
  EXPECT_EQ(queue_.outstanding(), 2u);
  std::vector<Delivery> deliveries = queue_.Claim(10, clock_.SteadyNow(), {});
  ASSERT_THAT(deliveries, SizeIs(2));
  EXPECT_EQ(deliveries[0].observer, "orders");
  EXPECT_EQ(deliveries[0].event->data, nlohmann::json({{"n", 1}}));
  std::optional<Checkpoint> stored = Stored();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->position, b);
  EXPECT_EQ(stored->total_events, 2);
  EXPECT_EQ(stored->lease_epoch, 1);
  EXPECT_EQ(stored->updated_by, "holder-a");
  const Listener::Status status = listener->status();
  EXPECT_TRUE(status.leading);
  EXPECT_EQ(status.batches_committed, 1u);
  EXPECT_EQ(status.rows_committed, 2u);
  EXPECT_NE(a, b);
  listener->Stop();
  EXPECT_FALSE(listener->status().leading);
  // Stop released the lease: anyone may take it at once.
  EXPECT_TRUE(leases_.TryAcquire("main", "holder-b", 15s).value());
}

TEST_F(ListenerLoopTest, PoisonRowsAreDeadLetteredWithReasonsAndNeighboursFlow) {
  change_log_.Append(OrderRow(1));
  ChangeLogRow null_id = OrderRow(2);
  null_id.object_id.reset();
  const int64_t null_pk = change_log_.Append(null_id).pk;
  const int64_t verb_pk = change_log_.Append(OrderRow(3, "MERGE")).pk;
  const int64_t unreadable_pk =
      change_log_.AppendUnreadable(Error::InvalidArgument("object_id '42' is not a UUID"), {{"object_type", "Order"}}).pk;
  // An UPDATE without a pre-image: "status_changes" cannot evaluate field_changed(status).
  const int64_t update_pk = change_log_.Append(OrderRow(5, "UPDATE", {{"n", 5}, {"status", "x"}})).pk;
  const ChangeLogPosition last = change_log_.Append(OrderRow(6));
  std::unique_ptr<Listener> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position == last; }));
  // "orders" still gets the UPDATE: only the failing (event, observer) pair is dead-lettered.
  EXPECT_EQ(queue_.outstanding(), 3u);
  EXPECT_THAT(DeadLetterPks(), ElementsAre(null_pk, verb_pk, unreadable_pk, update_pk));
  const std::vector<StoredDeadLetter> letters = dead_letters_.List({}).value();
  EXPECT_THAT(letters[0].letter.reason, HasSubstr("object_id is NULL"));
  EXPECT_TRUE(letters[0].letter.row_data);
  EXPECT_THAT(letters[1].letter.reason, HasSubstr("unknown modification_type 'MERGE'"));
  EXPECT_THAT(letters[2].letter.reason, HasSubstr("is not a UUID"));
  // Named by its pk even though the message holds the pk's digits ("'42'" holds 4).
  EXPECT_THAT(letters[2].letter.reason, ::testing::StartsWith("change-log row pk " + std::to_string(unreadable_pk)));
  EXPECT_EQ(letters[2].letter.entity_type, "Order");
  EXPECT_THAT(letters[3].letter.reason, HasSubstr("condition of observer 'status_changes' failed"));
  EXPECT_EQ(letters[3].letter.observer, "status_changes");
  EXPECT_EQ(listener->status().dead_letters, 4u);
}

TEST_F(ListenerLoopTest, BatchBoundariesAreRespected) {
  ChangeLogPosition last;
  for (int n = 1; n <= 5; ++n) last = change_log_.Append(OrderRow(n));
  ListenerOptions options = Options();
  options.batch_size = 2;
  std::unique_ptr<Listener> listener = Make(options);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position == last; }));
  EXPECT_EQ(listener->status().batches_committed, 3u);  // 2 + 2 + 1
  EXPECT_EQ(Stored()->event_count, 1u);
  EXPECT_EQ(Stored()->batch_size, 2u);
}

TEST_F(ListenerLoopTest, NewsWakesTheWaitingListenerWithoutTimePassing) {
  std::unique_ptr<Listener> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().reads >= 1; }));
  ASSERT_TRUE(clock_.AwaitWaiters(1));  // caught up, waiting for news or the poll interval
  const auto before = clock_.SteadyNow();
  const ChangeLogPosition row = change_log_.Append(OrderRow(1));
  ASSERT_TRUE(PollUntil([&] { return listener->status().position == row; }));
  EXPECT_EQ(clock_.SteadyNow(), before);
}

TEST_F(ListenerLoopTest, WithoutNewsItLooksAgainAtThePollIntervalOnTheClock) {
  std::unique_ptr<Listener> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().reads == 1; }));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(999ms);
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(listener->status().reads, 1u);
  clock_.Advance(1ms);
  ASSERT_TRUE(PollUntil([&] { return listener->status().reads == 2; }));
}

TEST_F(ListenerLoopTest, AnOutageBacksOffOnTheClockAndHealsWithoutLoss) {
  std::unique_ptr<Listener> listener = Make(Options());
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().reads == 1; }));
  change_log_.SetUnavailable(true);
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(1s);  // the poll interval: the next read fails
  ASSERT_TRUE(PollUntil([&] { return !listener->status().last_error.empty(); }));
  EXPECT_THAT(listener->status().last_error, HasSubstr("unavailable"));
  // Backing off: 100 ms, then 200, 400... Nothing is read while the clock stands still.
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  const size_t reads = change_log_.reads();
  clock_.Advance(99ms);
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(change_log_.reads(), reads);
  change_log_.SetUnavailable(false);
  const ChangeLogPosition row = change_log_.Append(OrderRow(1));
  ASSERT_TRUE(RunUntil([&] { return listener->status().position == row; }));
  EXPECT_TRUE(listener->status().last_error.empty());
  EXPECT_EQ(queue_.outstanding(), 1u);
}

// Issue 9 section 3: deliveries stall for longer than the lease ttl, and no standby takes over.
TEST_F(ListenerLoopTest, StalledWorkersNeverCostTheLease) {
  MemoryHandOff small_room(leases_, checkpoints_, queue_, dead_letters_, /*capacity=*/2);
  ChangeLogPosition last;
  for (int n = 1; n <= 6; ++n) last = change_log_.Append(OrderRow(n));
  ListenerOptions options = Options();
  options.batch_size = 2;
  std::unique_ptr<Listener> leader = Make(options, &small_room);
  std::unique_ptr<Listener> standby = Make(Options("holder-b"), &small_room);
  leader->Start();
  ASSERT_TRUE(PollUntil([&] { return leader->status().batches_committed == 1; }));
  standby->Start();
  // Nobody claims: the workers are stalled. Four lease ttls pass on the clock.
  const auto stalled_at = clock_.SteadyNow();
  ASSERT_TRUE(RunUntil([&] { return clock_.SteadyNow() - stalled_at >= 60s; }, 500ms));
  const Listener::Status status = leader->status();
  EXPECT_TRUE(status.leading);
  EXPECT_EQ(status.lease_epoch, 1);
  EXPECT_EQ(status.batches_committed, 1u);           // it read no further while the workers had no room
  EXPECT_GE(status.backpressure_waits, 10u);         // it woke at every renewal (every 5 s) to renew
  EXPECT_FALSE(standby->status().leading);
  EXPECT_GE(standby->status().lease_attempts, 10u);  // the standby kept trying, and kept failing
  EXPECT_EQ(leases_.Current("main").value()->holder, "holder-a");

  // The workers catch up: the leader goes on where it was, and nothing ran twice.
  std::atomic<size_t> taken{0};
  ASSERT_TRUE(RunUntil([&] {
    taken += queue_.Claim(10, clock_.SteadyNow(), {}).size();
    return leader->status().position == last && queue_.waiting() == 0;
  }));
  EXPECT_EQ(taken.load(), 6u);
  EXPECT_EQ(leader->status().lease_epoch, 1);
  EXPECT_FALSE(standby->status().leading);
}

TEST_F(ListenerLoopTest, AStandbyTakesOverWhenTheLeaderStopsAndAnOldLeaderIsFenced) {
  std::unique_ptr<Listener> a = Make(Options("holder-a"));
  std::unique_ptr<Listener> b = Make(Options("holder-b"));
  a->Start();
  ASSERT_TRUE(PollUntil([&] { return a->status().leading; }));
  b->Start();
  const ChangeLogPosition first = change_log_.Append(OrderRow(1));
  ASSERT_TRUE(PollUntil([&] { return a->status().position == first; }));
  EXPECT_FALSE(b->status().leading);
  EXPECT_EQ(b->status().reads, 0u);
  a->Stop();  // releases: b takes over at its next attempt (ttl / 3 on the clock), not after the ttl
  ASSERT_TRUE(RunUntil([&] { return b->status().leading; }));
  EXPECT_EQ(b->status().lease_epoch, 2);
  const ChangeLogPosition second = change_log_.Append(OrderRow(2));
  ASSERT_TRUE(RunUntil([&] { return b->status().position == second; }));
  EXPECT_EQ(Stored()->lease_epoch, 2);
  EXPECT_EQ(Stored()->updated_by, "holder-b");
  EXPECT_EQ(queue_.outstanding(), 2u);
}

TEST_F(ListenerLoopTest, ALeaderWhoseLeaseWasTakenStopsReadingAndCountsTheFence) {
  std::unique_ptr<Listener> listener = Make(Options());
  listener->Start();
  const ChangeLogPosition first = change_log_.Append(OrderRow(1));
  ASSERT_TRUE(PollUntil([&] { return listener->status().position == first; }));
  // Another process takes the lease while this one believes it leads (as after a long pause).
  const Lease mine = *leases_.Current("main").value();
  ASSERT_TRUE(leases_.Release(mine).value());
  ASSERT_TRUE(leases_.TryAcquire("main", "usurper", 10min).value());
  change_log_.Append(OrderRow(2));
  ASSERT_TRUE(PollUntil([&] { return listener->status().fenced >= 1; }));
  EXPECT_FALSE(listener->status().leading);
  EXPECT_EQ(queue_.outstanding(), 1u);
  EXPECT_EQ(Stored()->position, first);
}

TEST_F(ListenerLoopTest, ARefusedRowIsIsolatedAndDeadLetteredWhileItsNeighboursFlow) {
  log::ScopedCapture capture;
  const int64_t good1 = change_log_.Append(OrderRow(1)).pk;
  const int64_t bad = change_log_.Append(OrderRow(2)).pk;
  const ChangeLogPosition last = change_log_.Append(OrderRow(3));
  RefusingHandOff refusing(hand_off_, {bad});
  std::unique_ptr<Listener> listener = Make(Options(), &refusing);
  listener->Start();
  ASSERT_TRUE(RunUntil([&] { return listener->status().position == last; }));
  EXPECT_THAT(DeadLetterPks(), ElementsAre(bad));
  const DeadLetter letter = dead_letters_.List({}).value()[0].letter;
  EXPECT_THAT(letter.reason, HasSubstr("refused change-log row pk " + std::to_string(bad) + ": SQLSTATE 22P02"));
  EXPECT_EQ(letter.entity_type, "Order");
  std::vector<int64_t> queued;
  for (const Delivery& delivery : queue_.Claim(10, clock_.SteadyNow(), {})) {
    queued.push_back(delivery.event->data["n"].get<int64_t>());
  }
  EXPECT_THAT(queued, ElementsAre(1, 3));
  EXPECT_EQ(good1, 1);
  // The dead letter is in the log, with its row and reason.
  bool logged = false;
  for (const log::Line& line : capture.lines()) {
    logged |= line.text.find("change-log row dead-lettered") != std::string::npos &&
              line.text.find("change_log_pk=" + std::to_string(bad)) != std::string::npos &&
              line.text.find("SQLSTATE 22P02") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

TEST_F(ListenerLoopTest, ManyRefusedRowsAreFoundByHalvingAndEveryOtherRowFlowsInOrder) {
  ChangeLogPosition last;
  std::set<int64_t> bad;
  for (int n = 1; n <= 100; ++n) {
    last = change_log_.Append(OrderRow(n));
    if (n == 17 || n == 18 || n == 64 || n == 100) bad.insert(last.pk);
  }
  RefusingHandOff refusing(hand_off_, bad);
  std::unique_ptr<Listener> listener = Make(Options(), &refusing);
  listener->Start();
  ASSERT_TRUE(RunUntil([&] { return listener->status().position == last; }));
  EXPECT_THAT(DeadLetterPks(), ElementsAre(17, 18, 64, 100));
  std::vector<int64_t> queued;
  for (const Delivery& delivery : queue_.Claim(200, clock_.SteadyNow(), {})) {
    queued.push_back(delivery.event->data["n"].get<int64_t>());
  }
  ASSERT_EQ(queued.size(), 96u);
  EXPECT_TRUE(std::is_sorted(queued.begin(), queued.end()));
  EXPECT_GT(listener->status().batches_split, 0u);
  // Halving, not row by row (which takes over 100 commits here): 56 today, three of them the
  // tries of each refused row.
  EXPECT_LE(refusing.commits(), 60);
}

TEST_F(ListenerLoopTest, ARowRefusedOnlyOnceIsDeliveredNotDeadLettered) {
  const ChangeLogPosition last = change_log_.Append(OrderRow(1));
  RefusingHandOff refusing(hand_off_, {last.pk}, Error::InvalidArgument("SQLSTATE 57014: statement timeout"), 1);
  std::unique_ptr<Listener> listener = Make(Options(), &refusing);
  listener->Start();
  ASSERT_TRUE(RunUntil([&] { return listener->status().position == last; }));
  EXPECT_THAT(DeadLetterPks(), ElementsAre());
  EXPECT_EQ(queue_.outstanding(), 1u);
}

TEST_F(ListenerLoopTest, AFailureThatIsNotTheBatchsIsRetriedWholeAndNothingIsDeadLettered) {
  ChangeLogPosition last;
  for (int n = 1; n <= 4; ++n) last = change_log_.Append(OrderRow(n));
  // A missing privilege, say: kFailedPrecondition, until someone fixes the database.
  RefusingHandOff refusing(hand_off_, {last.pk}, Error::FailedPrecondition("SQLSTATE 42501: permission denied"), 5);
  std::unique_ptr<Listener> listener = Make(Options(), &refusing);
  listener->Start();
  ASSERT_TRUE(RunUntil([&] { return listener->status().position == last; }));
  EXPECT_THAT(DeadLetterPks(), ElementsAre());
  EXPECT_EQ(queue_.outstanding(), 4u);
  EXPECT_EQ(listener->status().batches_split, 0u);
  EXPECT_EQ(listener->status().batches_committed, 1u);  // the four rows, whole, once it healed
}

TEST_F(ListenerLoopTest, BatchesEndAtTheByteLimitAndALargerRowTravelsAlone) {
  ChangeLogPosition last;
  const std::string kilobyte(1000, 'x');
  size_t row_bytes = 0;
  for (int n = 1; n <= 6; ++n) {
    const ChangeLogRow row = OrderRow(n, "INSERT", {{"n", n}, {"blob", kilobyte}});
    last = change_log_.Append(row);
    row_bytes = ChangeLogRowToJson(row, last).dump().size();
  }
  last = change_log_.Append(OrderRow(7, "INSERT", {{"n", 7}, {"blob", std::string(10000, 'y')}}));
  last = change_log_.Append(OrderRow(8));
  RecordingHandOff recording(hand_off_);
  ListenerOptions options = Options();
  options.batch_max_bytes = 3 * row_bytes + row_bytes / 2;  // three of the 1 kB rows
  std::unique_ptr<Listener> listener = Make(options, &recording);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position == last; }));
  listener->Stop();
  EXPECT_THAT(recording.batch_rows(), ElementsAre(3, 3, 1, 1));
  EXPECT_EQ(queue_.outstanding(), 8u);
}

TEST_F(ListenerLoopTest, ABacklogOverTheAlertThresholdIsLoggedOnceEachWay) {
  log::ScopedCapture capture;
  for (int n = 1; n <= 5; ++n) change_log_.Append(OrderRow(n));
  ListenerOptions options = Options();
  options.batch_size = 1;
  options.backlog_alert_threshold = 3;
  options.stats_interval = 0ms;  // look at the backlog before every batch
  std::unique_ptr<Listener> listener = Make(options);
  listener->Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().rows_committed == 5; }));
  ASSERT_TRUE(RunUntil([&] { return listener->status().reads >= 7; }));
  listener->Stop();
  size_t above = 0, under = 0;
  for (const log::Line& line : capture.lines()) {
    if (line.text.find("above backlog_alert_threshold") != std::string::npos) {
      ++above;
      EXPECT_EQ(line.level, log::Level::kWarn);
    }
    if (line.text.find("back under backlog_alert_threshold") != std::string::npos) ++under;
  }
  EXPECT_EQ(above, 1u);
  EXPECT_EQ(under, 1u);
}

TEST(ListenerCreate, RejectsUnusableOptions) {
  const Config config = ListenerObserversConfig();
  const ObserverIndex index(config.observers);
  FakeClock clock;
  MemoryChangeLog change_log(clock);
  MemoryLeaseStore leases(clock);
  MemoryCheckpointStore checkpoints(clock);
  MemoryDeadLetterStore dead_letters(clock);
  MemoryJobQueue queue(clock, dead_letters);
  MemoryHandOff hand_off(leases, checkpoints, queue, dead_letters, 10);
  auto create = [&](ListenerOptions options) {
    return Listener::Create(std::move(options), index, change_log, leases, hand_off, clock);
  };
  ListenerOptions options;
  options.listener_id = "";
  EXPECT_EQ(create(options).error().code, ErrorCode::kInvalidArgument);
  options.listener_id = "x";
  options.poll_interval = 0ms;
  EXPECT_EQ(create(options).error().code, ErrorCode::kInvalidArgument);
  options.poll_interval = 10ms;
  options.batch_size = 10001;
  EXPECT_THAT(create(options).error().message, HasSubstr("1 to 10000"));
  options.batch_size = 100;
  Result<std::unique_ptr<Listener>> made = create(options);
  ASSERT_TRUE(made);
  EXPECT_FALSE((*made)->options().holder.empty());  // UniqueHolderName()
}

}  // namespace
}  // namespace fraiseql::testing
