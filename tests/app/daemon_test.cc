// The daemon end to end, as a user runs it: the real fraiseql-observer binary (`run`) against a
// real PostgreSQL and real HTTP receivers, killed, restarted and stopped. Guarantees 1-7 of
// ARCHITECTURE.md at the level of the whole process.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "db/connection.h"
#include "db/migrations.h"
#include "testing/child_process.h"
#include "testing/hostile_http.h"
#include "testing/http_get.h"
#include "testing/http_receiver.h"
#include "testing/private_cluster.h"
#include "testing/poll.h"
#include "testing/scratch_database.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::ChildProcess;
using testing::HttpReceiver;
using testing::ScriptedReply;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + name;
}

PgConnection MustConnect(const std::string& url) {
  Result<PgConnection> conn = PgConnection::Connect(Secret(url), 10s);
  EXPECT_TRUE(conn.has_value()) << conn.error().message;
  return std::move(conn).value();
}

void MustExecute(PgConnection& conn, const std::string& sql) {
  Result<PgResult> result = conn.Execute(sql);
  ASSERT_TRUE(result.has_value()) << sql << ": " << result.error().message;
}

int64_t CountRows(const std::string& url, const std::string& sql) {
  PgConnection conn = MustConnect(url);
  Result<PgResult> result = conn.Execute(sql);
  EXPECT_TRUE(result.has_value()) << sql << ": " << result.error().message;
  if (!result || result->rows() == 0) return -1;
  return std::stoll(std::string(result->Get(0, 0).value_or("-1")));
}

// Every row of `sql`, a line each with its columns separated by " | ": for failure messages.
std::string Rows(const std::string& url, const std::string& sql) {
  PgConnection conn = MustConnect(url);
  Result<PgResult> result = conn.Execute(sql);
  if (!result) return sql + ": " + result.error().message + "\n";
  std::string text;
  for (size_t row = 0; row < result->rows(); ++row) {
    for (size_t column = 0; column < result->columns(); ++column) {
      text += (column > 0 ? " | " : "") + std::string(result->Get(row, column).value_or("NULL"));
    }
    text += "\n";
  }
  return text;
}

void Migrate(const std::string& url) {
  PgConnection conn = MustConnect(url);
  Result<MigrationReport> report = ApplyMigrations(conn, MigrationMode::kApply);
  ASSERT_TRUE(report.has_value()) << report.error().message;
}

// `count` INSERTs of Orders numbered from `first`, committed in one statement.
void InsertOrders(const std::string& url, int first, int count, const std::string& status = "new") {
  PgConnection conn = MustConnect(url);
  MustExecute(conn,
              "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) "
              "SELECT 'Order', 'INSERT', gen_random_uuid(), jsonb_build_object('n', g, 'status', '" + status +
                  "') FROM generate_series(" + std::to_string(first) + ", " + std::to_string(first + count - 1) +
                  ") g");
}

struct DaemonConfig {
  DaemonConfig(std::string url, std::string id, std::vector<std::string> webhooks)
      : database_url(std::move(url)), listener_id(std::move(id)), webhook_urls(std::move(webhooks)) {}

  std::string database_url;
  std::string listener_id;
  std::vector<std::string> webhook_urls;
  std::string retry = "max_attempts = 3\ninitial_delay_ms = 20\nmax_delay_ms = 100";
  std::string condition;
  std::string performance;  // more [performance] keys, one per line
};

std::string WriteConfig(const DaemonConfig& config, const std::string& name = "config.toml") {
  std::string text = R"(
[database]
url = ")" + config.database_url + R"("
listener_id = ")" + config.listener_id + R"("
batch_size = 500
poll_interval_ms = 200

[job_queue]
lock_timeout_ms = 2000
poll_interval_ms = 100

[performance]
shutdown_timeout = "10s"
)" + config.performance + R"(

[metrics]
listen = "127.0.0.1:0"

[security]
allow_private_targets = ["127.0.0.0/8"]

[[observers]]
name = "orders"
entity = "Order"
event_type = "*"
)";
  if (!config.condition.empty()) text += "condition = \"" + config.condition + "\"\n";
  text += "\n[observers.retry]\n" + config.retry + "\n";
  for (const std::string& url : config.webhook_urls) {
    text += "\n[[observers.actions]]\ntype = \"webhook\"\nurl = \"" + url + "\"\n";
  }
  const std::string path = TempPath(name);
  std::ofstream(path) << text;
  return path;
}

std::unique_ptr<ChildProcess> StartDaemon(const std::string& config_path, const std::string& log_name = "daemon.log") {
  return std::make_unique<ChildProcess>(testing::ObserverBinary(), std::vector<std::string>{"run", "--config", config_path},
                                        std::map<std::string, std::string>{}, TempPath(log_name));
}

// Distinct webhook-ids the receiver saw, and how many requests in all.
struct Seen {
  std::set<std::string> ids;
  size_t requests = 0;
};

Seen SeenBy(const HttpReceiver& receiver) {
  Seen seen;
  for (const testing::ReceivedRequest& request : receiver.requests()) {
    ++seen.requests;
    if (auto id = request.Header("webhook-id")) seen.ids.insert(*id);
  }
  return seen;
}

// The admin endpoint's address, from the daemon's "fraiseql-observer running ... metrics=HOST:PORT"
// line; empty until that line is written.
std::string MetricsAddress(const ChildProcess& daemon) {
  const std::string output = daemon.output();
  const size_t running = output.find("fraiseql-observer running");
  if (running == std::string::npos) return "";
  const size_t at = output.find("metrics=", running);
  if (at == std::string::npos) return "";
  const size_t end = output.find_first_of(" \n", at);
  return output.substr(at + 8, end == std::string::npos ? std::string::npos : end - at - 8);
}

// The value of the sample line starting with `series` ("name" or "name{labels}"), or nullopt.
std::optional<double> Sample(const std::string& metrics, const std::string& series) {
  size_t at = 0;
  while ((at = metrics.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') return std::stod(metrics.substr(at + series.size() + 1));
    at += series.size();
  }
  return std::nullopt;
}

// The value of `series` on the daemon's /metrics (nullopt before it serves them).
std::optional<double> MetricOf(const ChildProcess& daemon, const std::string& series) {
  const std::string address = MetricsAddress(daemon);
  if (address.empty()) return std::nullopt;
  return Sample(testing::HttpGet("http://" + address + "/metrics").body, series);
}

// The webhook-ids the receiver saw more than once, with each arrival's n and attempt header.
std::string Repeats(const HttpReceiver& receiver) {
  std::map<std::string, std::vector<std::string>> seen;
  for (const testing::ReceivedRequest& request : receiver.requests()) {
    seen[std::string(request.Header("webhook-id").value_or("-"))].push_back(
        nlohmann::json::parse(request.body)["data"].dump());
  }
  std::string text;
  for (const auto& [id, bodies] : seen) {
    if (bodies.size() < 2) continue;
    text += id + ":";
    for (const std::string& body : bodies) text += " " + body;
    text += "\n";
  }
  return text;
}

TEST(DaemonTest, DeliversCommittedRowsAndStopsGracefully) {
  testing::ScratchDatabase database("daemon");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(url, "test", {receiver.url("/orders")}));
  auto daemon = StartDaemon(config);
  InsertOrders(url, 1, 200);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 200; }, 60s)) << daemon->output();
  // Each delivery arrived once and carries the event it was made for.
  std::set<int> numbers;
  for (const testing::ReceivedRequest& request : receiver.requests()) {
    numbers.insert(nlohmann::json::parse(request.body)["data"]["n"].get<int>());
  }
  EXPECT_EQ(numbers.size(), 200u);
  EXPECT_EQ(receiver.request_count(), 200u) << Repeats(receiver) << daemon->output();

  // What an operator watches: /metrics with the pipeline's families, /health and /ready.
  std::string address;
  ASSERT_TRUE(testing::PollUntil([&] { return !(address = MetricsAddress(*daemon)).empty(); }, 10s)) << daemon->output();
  EXPECT_EQ(testing::HttpGet("http://" + address + "/health").status, 200);
  EXPECT_EQ(testing::HttpGet("http://" + address + "/ready").status, 200);
  std::string metrics;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        metrics = testing::HttpGet("http://" + address + "/metrics").body;
        return Sample(metrics, "fraiseql_observer_events_processed_total").value_or(0) >= 200;
      },
      10s))
      << metrics;
  for (const char* family :
       {"fraiseql_observer_backlog_size", "fraiseql_observer_job_queue_depth", "fraiseql_observer_dlq_items",
        "fraiseql_observer_listener_lag_seconds", "fraiseql_observer_listener_batch_size_count",
        "fraiseql_observer_listener_fetch_seconds_count"}) {
    EXPECT_NE(metrics.find(std::string("\n") + family), std::string::npos) << family << " missing:\n" << metrics;
  }
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(30s), std::optional<int>(0)) << daemon->output();
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_jobs"), 0);
  EXPECT_THAT(daemon->output(), HasSubstr("fraiseql-observer stopped"));
}

// SIGHUP (logrotate, a closed terminal) and SIGPIPE must not kill the daemon: it logs that
// reload is not supported and keeps delivering. SIGQUIT stops it as SIGTERM does: the lease
// released and no claim left behind.
TEST(DaemonTest, SighupAndSigpipeKeepItRunningAndSigquitStopsItGracefully) {
  testing::ScratchDatabase database("daemonsignals");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(url, "test", {receiver.url("/orders")}));
  auto daemon = StartDaemon(config);
  InsertOrders(url, 1, 10);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 10; }, 60s)) << daemon->output();

  daemon->Signal(SIGHUP);
  ASSERT_TRUE(testing::PollUntil(
      [&] { return daemon->output().find("configuration reload is not supported") != std::string::npos; }, 10s))
      << daemon->output();
  daemon->Signal(SIGPIPE);
  daemon->Signal(SIGHUP);
  InsertOrders(url, 11, 10);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 20; }, 60s)) << daemon->output();
  EXPECT_FALSE(daemon->Wait(0s)) << "the daemon ended: " << daemon->output();

  daemon->Signal(SIGQUIT);
  EXPECT_EQ(daemon->Wait(30s), std::optional<int>(0)) << daemon->output();
  EXPECT_THAT(daemon->output(), HasSubstr("signal=SIGQUIT"));
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_jobs WHERE locked_by IS NOT NULL AND locked_until > now()"),
            0);
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_leases WHERE expires_at > now()"), 0);
}

TEST(DaemonTest, RefusesToStartOnAnUnmigratedDatabase) {
  testing::ScratchDatabase database("daemonunmigrated");
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(database.url().Reveal(), "test", {receiver.url()}));
  auto daemon = StartDaemon(config);
  EXPECT_EQ(daemon->Wait(30s), std::optional<int>(1));
  EXPECT_THAT(daemon->output(), HasSubstr("run 'fraiseql-observer migrate' first"));
}

// Each webhook-id the receiver saw names one event (a repeat is the same delivery), and every
// event numbered 1..count arrived.
void ExpectEveryEventOnceById(const HttpReceiver& receiver, int count) {
  std::map<std::string, int> event_of;
  for (const testing::ReceivedRequest& request : receiver.requests()) {
    const int n = nlohmann::json::parse(request.body)["data"]["n"].get<int>();
    auto [entry, inserted] = event_of.emplace(*request.Header("webhook-id"), n);
    if (!inserted) {
      EXPECT_EQ(entry->second, n);
    }
  }
  EXPECT_EQ(event_of.size(), static_cast<size_t>(count));
}

// Guarantees 1 and 2: SIGKILL at three random moments loses nothing; repeats keep their key.
TEST(DaemonTest, SurvivesSigkillAtThreeRandomMoments) {
  constexpr int kEvents = 20000;
  testing::ScratchDatabase database("daemonkill");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(url, "test", {receiver.url("/orders")}));
  InsertOrders(url, 1, kEvents);

  std::mt19937 random(20261201);  // seeded: a failure can be replayed
  std::uniform_int_distribution<int> moment(kEvents / 10, kEvents * 9 / 10);
  std::vector<int> kill_at = {moment(random), moment(random), moment(random)};
  std::sort(kill_at.begin(), kill_at.end());
  for (size_t round = 0; round < kill_at.size(); ++round) {
    auto daemon = StartDaemon(config, "daemon-" + std::to_string(round) + ".log");
    const size_t target = static_cast<size_t>(kill_at[round]);
    ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() >= target; }, 120s)) << daemon->output();
    daemon->Signal(SIGKILL);
    EXPECT_EQ(daemon->Wait(30s), std::optional<int>(128 + SIGKILL));
  }
  auto last = StartDaemon(config, "daemon-last.log");
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == static_cast<size_t>(kEvents); }, 180s))
      << SeenBy(receiver).ids.size() << " of " << kEvents << "\n" << last->output();
  last->Signal(SIGTERM);
  EXPECT_EQ(last->Wait(30s), std::optional<int>(0)) << last->output();

  // A repeat is always the same delivery: its webhook-id names the same event every time.
  ExpectEveryEventOnceById(receiver, kEvents);
  // Repeats are bounded by what can be in flight at a kill: the attempts running
  // (max_in_flight 256) plus completions not yet written (one flush batch, 1000).
  const size_t repeats = SeenBy(receiver).requests - kEvents;
  EXPECT_LE(repeats, 3u * (256 + 1000)) << repeats << " repeats";
  RecordProperty("repeats", static_cast<int>(repeats));
  std::printf("deliveries repeated after 3 SIGKILLs: %zu of %d events\n", repeats, kEvents);
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_jobs"), 0);
}

TEST(DaemonTest, ReconnectsAfterPostgresRestartsWithoutLoss) {
  testing::PrivateCluster cluster;
  Migrate(cluster.url());
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(cluster.url(), "test", {receiver.url()}));
  auto daemon = StartDaemon(config);
  InsertOrders(cluster.url(), 1, 500);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() >= 100; }, 60s)) << daemon->output();
  ASSERT_TRUE(cluster.Restart());
  InsertOrders(cluster.url(), 501, 500);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 1000; }, 120s))
      << SeenBy(receiver).ids.size() << "\n" << daemon->output();
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(30s), std::optional<int>(0)) << daemon->output();
}

// Guarantee 6: SIGTERM with deliveries in flight loses none and leaves none locked.
TEST(DaemonTest, GracefulShutdownWithDeliveriesInFlight) {
  testing::ScratchDatabase database("daemonterm");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  ScriptedReply slow = ScriptedReply::Status(200);
  slow.delay = 300ms;
  receiver.SetDefault(slow);
  DaemonConfig slow_target(url, "test", {receiver.url()});
  slow_target.performance = "max_in_flight_per_target = 4";
  const std::string config = WriteConfig(slow_target);
  InsertOrders(url, 1, 60);
  auto daemon = StartDaemon(config);
  ASSERT_TRUE(testing::PollUntil([&] { return receiver.request_count() >= 4; }, 60s)) << daemon->output();
  daemon->Signal(SIGTERM);
  ASSERT_EQ(daemon->Wait(30s), std::optional<int>(0)) << daemon->output();
  // Nothing is left claimed by the stopped process, and nothing is lost: every event was
  // delivered or is still queued.
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_jobs WHERE locked_by IS NOT NULL AND locked_until > now()"), 0);
  const int64_t queued = CountRows(url, "SELECT count(*) FROM observer_jobs");
  const size_t delivered = SeenBy(receiver).ids.size();
  EXPECT_GE(static_cast<size_t>(queued) + delivered, 60u);
  EXPECT_GT(queued, 0);  // it really stopped with work left
  // The next run delivers the rest.
  receiver.SetDefault(ScriptedReply::Status(200));
  auto next = StartDaemon(config, "daemon-next.log");
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 60; }, 60s)) << next->output();
  next->Signal(SIGTERM);
  EXPECT_EQ(next->Wait(30s), std::optional<int>(0));
}

// The holder of listener id "shared"'s lease ("" when there is none).
std::string LeaseHolder(const std::string& url) {
  PgConnection conn = MustConnect(url);
  Result<PgResult> result = conn.Execute("SELECT holder FROM observer_leases WHERE listener_id = 'shared'");
  EXPECT_TRUE(result.has_value()) << result.error().message;
  return result && result->rows() > 0 ? std::string(result->Get(0, 0).value_or("")) : "";
}

// Two daemons on listener id "shared": the leader holds the lease and has delivered Orders 1 to
// `count`; the standby has found the lease taken and waits.
struct LeaderAndStandby {
  std::unique_ptr<ChildProcess> leader;
  std::unique_ptr<ChildProcess> standby;
  std::string leader_holder;
};

void StartLeaderAndStandby(const std::string& url, const std::string& config, const HttpReceiver& receiver, int count,
                           LeaderAndStandby& pair) {
  pair.leader = StartDaemon(config, "first.log");
  ASSERT_TRUE(testing::PollUntil([&] { return CountRows(url, "SELECT count(*) FROM observer_leases") == 1; }, 30s))
      << pair.leader->output();
  pair.leader_holder = LeaseHolder(url);
  pair.standby = StartDaemon(config, "second.log");
  InsertOrders(url, 1, count);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == static_cast<size_t>(count); }, 60s))
      << pair.leader->output();
  ASSERT_TRUE(testing::PollUntil(
      [&] { return pair.standby->output().find("another process holds the lease") != std::string::npos; }, 30s))
      << pair.standby->output();
  EXPECT_EQ(LeaseHolder(url), pair.leader_holder);
}

// Guarantee 4 at process level: one reader per listener id; the standby takes over.
TEST(DaemonTest, SecondDaemonWithTheSameListenerIdTakesOverWhenTheFirstStops) {
  testing::ScratchDatabase database("daemonfailover");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(url, "shared", {receiver.url()}));
  LeaderAndStandby pair;
  ASSERT_NO_FATAL_FAILURE(StartLeaderAndStandby(url, config, receiver, 100, pair));
  ChildProcess* const first = pair.leader.get();
  ChildProcess* const second = pair.standby.get();
  const std::string& first_holder = pair.leader_holder;

  first->Signal(SIGTERM);
  ASSERT_EQ(first->Wait(30s), std::optional<int>(0)) << first->output();
  InsertOrders(url, 101, 100);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 200; }, 60s)) << second->output();
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_leases WHERE holder <> '" + first_holder + "' AND epoch >= 2"), 1);
  EXPECT_EQ(SeenBy(receiver).requests, 200u) << Repeats(receiver) << first->output() << second->output();  // no event was read by both
  second->Signal(SIGTERM);
  EXPECT_EQ(second->Wait(30s), std::optional<int>(0)) << second->output();
}

// Fast failover: the leader's advisory lock dies with its connection, so the standby leads
// without waiting for the lease (15 s) to expire. The figure printed is the time from the SIGKILL
// to the first delivery of an event committed after it.
TEST(DaemonTest, AStandbyLeadsAsSoonAsTheLeadersConnectionIsGone) {
  testing::ScratchDatabase database("daemonkillover");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(url, "shared", {receiver.url()}));
  LeaderAndStandby pair;
  ASSERT_NO_FATAL_FAILURE(StartLeaderAndStandby(url, config, receiver, 100, pair));
  ChildProcess* const first = pair.leader.get();
  ChildProcess* const second = pair.standby.get();

  // Who leads, as an operator sees it.
  ASSERT_TRUE(testing::PollUntil([&] { return MetricOf(*first, "fraiseql_observer_listener_leading") == 1.0; }, 30s));
  ASSERT_TRUE(testing::PollUntil([&] { return MetricOf(*second, "fraiseql_observer_listener_leading") == 0.0; }, 30s));
  EXPECT_EQ(MetricOf(*second, "fraiseql_observer_listener_lease_acquisitions_total"), 0.0);

  first->Signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(first->Wait(30s), std::optional<int>(128 + SIGKILL));
  InsertOrders(url, 101, 100);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() > 100; }, 60s)) << second->output();
  const auto first_delivery_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count();
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 200; }, 60s)) << second->output();
  // How it got the lease: the mechanism, not a time (the lease alone would have taken 15 s).
  EXPECT_THAT(second->output(), HasSubstr("connection is gone (its advisory lock was free)"));
  EXPECT_NE(LeaseHolder(url), pair.leader_holder);
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_checkpoints_history WHERE reason LIKE 'failover: epoch 1 -> 2%'"),
            1)
      << Rows(url, "SELECT reason FROM observer_checkpoints_history");
  ExpectEveryEventOnceById(receiver, 200);
  EXPECT_EQ(MetricOf(*second, "fraiseql_observer_listener_leading"), 1.0);
  EXPECT_EQ(MetricOf(*second, "fraiseql_observer_listener_lease_acquisitions_total"), 1.0);
  RecordProperty("first_delivery_after_sigkill_ms", static_cast<int>(first_delivery_ms));
  std::printf("first delivery by the standby %lld ms after the leader's SIGKILL\n",
              static_cast<long long>(first_delivery_ms));
  second->Signal(SIGTERM);
  EXPECT_EQ(second->Wait(30s), std::optional<int>(0)) << second->output();
}

// The timing model's other half (docs/scaling.md): a leader frozen (SIGSTOP) for longer than its
// lease keeps its connection, so the standby waits for the expiry (15 s), then leads; the old
// leader, resumed, finds its lease taken and stops reading, and hands the advisory lock on, so
// the new leader's own death is noticed at once again.
TEST(DaemonTest, AFrozenLeaderIsReplacedAtExpiryAndStandsDownWhenItResumes) {
  testing::ScratchDatabase database("daemonfrozen");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  const std::string config = WriteConfig(DaemonConfig(url, "shared", {receiver.url()}));
  LeaderAndStandby pair;
  ASSERT_NO_FATAL_FAILURE(StartLeaderAndStandby(url, config, receiver, 50, pair));
  ChildProcess* const first = pair.leader.get();
  ChildProcess* const second = pair.standby.get();
  const std::string& first_holder = pair.leader_holder;

  first->Signal(SIGSTOP);
  InsertOrders(url, 51, 50);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 100; }, 90s)) << second->output();
  EXPECT_THAT(second->output(), HasSubstr("expired or was released"));
  const std::string second_holder = LeaseHolder(url);
  EXPECT_NE(second_holder, first_holder);

  first->Signal(SIGCONT);
  // Its renewal or its next commit's fence check finds the lease taken.
  ASSERT_TRUE(testing::PollUntil([&] { return first->output().find("listener stops leading") != std::string::npos; },
                                 60s))
      << first->output();
  InsertOrders(url, 101, 50);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 150; }, 60s)) << second->output();
  // The new leader takes the lock the old one gave back at its next renewal (every 5 s)...
  ASSERT_TRUE(testing::PollUntil(
      [&] { return CountRows(url, "SELECT count(*) FROM observer_leases WHERE session_lock") == 1; }, 60s))
      << Rows(url, "SELECT * FROM observer_leases");
  // ...so when it dies, the old leader takes over without waiting for the expiry.
  second->Signal(SIGKILL);
  ASSERT_EQ(second->Wait(30s), std::optional<int>(128 + SIGKILL));
  InsertOrders(url, 151, 50);
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 200; }, 60s)) << first->output();
  EXPECT_THAT(first->output(), HasSubstr("connection is gone (its advisory lock was free)"));
  EXPECT_EQ(LeaseHolder(url), first_holder);
  ExpectEveryEventOnceById(receiver, 200);
  first->Signal(SIGTERM);
  EXPECT_EQ(first->Wait(30s), std::optional<int>(0)) << first->output();
}

std::string DeadLetterColumn(const std::string& url, const std::string& column) {
  PgConnection conn = MustConnect(url);
  Result<PgResult> result = conn.Execute("SELECT " + column + " FROM observer_dead_letters");
  EXPECT_TRUE(result.has_value()) << result.error().message;
  if (!result || result->rows() != 1) return "";
  return std::string(result->Get(0, 0).value_or(""));
}

// Runs `fraiseql-observer <args>` to completion; its exit code and output.
std::pair<std::optional<int>, std::string> RunObserver(const std::vector<std::string>& args, const std::string& url) {
  ChildProcess cli(testing::ObserverBinary(), args, {{"DATABASE_URL", url}}, TempPath("cli.log"));
  std::optional<int> code = cli.Wait(60s);
  return {code, cli.output()};
}

// Exhausted retries become a dead letter with every attempt; `dlq retry` re-runs that action
// only (not the event's other actions); `dlq purge --dry-run` changes nothing.
TEST(DaemonTest, ExhaustedRetriesAreDeadLetteredAndDlqRetryRerunsOnlyThatAction) {
  testing::ScratchDatabase database("daemondlq");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver good;
  HttpReceiver failing;
  failing.SetDefault(ScriptedReply::Status(503));
  DaemonConfig two_actions(url, "test", {good.url("/good"), failing.url("/failing")});
  two_actions.retry = "max_attempts = 3\ninitial_delay_ms = 20\nmax_delay_ms = 50";
  const std::string config = WriteConfig(two_actions);
  auto daemon = StartDaemon(config);
  InsertOrders(url, 1, 1);
  ASSERT_TRUE(testing::PollUntil([&] { return CountRows(url, "SELECT count(*) FROM observer_dead_letters") == 1; }, 60s))
      << daemon->output();
  ASSERT_TRUE(good.WaitForRequests(1, 10s));
  EXPECT_EQ(good.request_count(), 1u);
  EXPECT_EQ(failing.request_count(), 3u);
  const nlohmann::json attempts = nlohmann::json::parse(DeadLetterColumn(url, "attempts::text"));
  ASSERT_EQ(attempts.size(), 3u) << attempts.dump();
  for (const nlohmann::json& attempt : attempts) {
    EXPECT_EQ(attempt.value("status", 0), 503) << attempt.dump();
    EXPECT_TRUE(attempt.contains("duration_ms")) << attempt.dump();
  }
  const std::string id = DeadLetterColumn(url, "id::text");

  auto [purge_code, purge_output] = RunObserver({"dlq", "purge", "--all", "--dry-run"}, url);
  EXPECT_EQ(purge_code, std::optional<int>(0)) << purge_output;
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_dead_letters"), 1);

  failing.SetDefault(ScriptedReply::Status(200));
  auto [retry_code, retry_output] = RunObserver({"dlq", "retry", id}, url);
  ASSERT_EQ(retry_code, std::optional<int>(0)) << retry_output;
  ASSERT_TRUE(failing.WaitForRequests(4, 60s)) << daemon->output();
  ASSERT_TRUE(testing::PollUntil([&] { return CountRows(url, "SELECT count(*) FROM observer_jobs") == 0; }, 60s));
  EXPECT_EQ(good.request_count(), 1u);  // the action that had succeeded did not run again
  EXPECT_EQ(failing.request_count(), 4u);
  EXPECT_EQ(CountRows(url, "SELECT count(*) FROM observer_dead_letters"), 0);
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(30s), std::optional<int>(0)) << daemon->output();
}

// Guarantee 7: poison rows are dead-lettered with their reasons; their neighbours flow on.
TEST(DaemonTest, PoisonRowsAreDeadLetteredWhileNeighboursAreDelivered) {
  testing::ScratchDatabase database("daemonpoison");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  // Row 3's tag is a string: ordering it against a number is an evaluation error.
  DaemonConfig erroring(url, "test", {receiver.url()});
  erroring.retry = "max_attempts = 1";
  erroring.condition = "data.n != 3 || data.tag > 5";
  const std::string config_with_error = WriteConfig(erroring, "config-error.toml");
  auto daemon = StartDaemon(config_with_error);
  PgConnection conn = MustConnect(url);
  MustExecute(conn, R"(
INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) VALUES
  ('Order', 'INSERT', gen_random_uuid(), '{"n": 1}'),
  ('Order', 'INSERT', NULL, '{"n": 2}'),
  ('Order', 'INSERT', gen_random_uuid(), '{"n": 3, "tag": "x"}'),
  ('Order', 'MERGE', gen_random_uuid(), '{"n": 4}'),
  ('Order', 'INSERT', gen_random_uuid(), '{"n": 5}'))");
  ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == 2; }, 60s)) << daemon->output();
  ASSERT_TRUE(testing::PollUntil([&] { return CountRows(url, "SELECT count(*) FROM observer_dead_letters") == 3; }, 60s))
      << Rows(url, "SELECT change_log_pk, reason FROM observer_dead_letters") << daemon->output();
  Result<PgResult> reasons = conn.Execute("SELECT reason FROM observer_dead_letters ORDER BY change_log_pk");
  ASSERT_TRUE(reasons.has_value());
  ASSERT_EQ(reasons->rows(), 3u);
  EXPECT_THAT(std::string(*reasons->Get(0, 0)), HasSubstr("object_id"));
  EXPECT_THAT(std::string(*reasons->Get(1, 0)), HasSubstr("cannot evaluate data.tag > 5"));
  EXPECT_THAT(std::string(*reasons->Get(2, 0)), HasSubstr("MERGE"));
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(30s), std::optional<int>(0));
}


// Issue 10, section 2, at the level of the process: hostile clients on the admin port (slow
// heads, slow bodies, chunked floods, 200 idle connections; no token needed for any of it) while
// rows keep arriving. Every probe of /ready is answered and every row is delivered. The rest of
// the attacks, with short deadlines, are in tests/http/http_server_abuse_test.cc.
TEST(DaemonTest, AdminServerUnderAttackAnswersProbesWhileDeliveriesContinue) {
  testing::ScratchDatabase database("daemonabuse");
  const std::string url = database.url().Reveal();
  Migrate(url);
  HttpReceiver receiver;
  auto daemon = StartDaemon(WriteConfig(DaemonConfig(url, "test", {receiver.url("/orders")})));
  std::string address;
  ASSERT_TRUE(testing::PollUntil([&] { return !(address = MetricsAddress(*daemon)).empty(); }, 30s)) << daemon->output();
  ASSERT_TRUE(testing::PollUntil([&] { return testing::HttpGet("http://" + address + "/ready").status == 200; }, 30s))
      << daemon->output();
  const auto port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));

  testing::Repeat probe(200ms, testing::Expect200("http://" + address + "/ready"));
  testing::Attack slow_heads(4, [port](std::stop_token stop, size_t client) {
    testing::RawConnection connection(port, "127.0.0." + std::to_string(2 + client));
    return connection.TrickleUntilClosed("GET /metrics HTTP/1.1\r\nHost: a\r\nX-Slow: " + std::string(100000, 's'), 100ms,
                                         stop, 60s);
  });
  testing::Attack slow_bodies(4, [port](std::stop_token stop, size_t client) {
    testing::RawConnection connection(port, "127.0.0." + std::to_string(6 + client));
    if (!connection.Send("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 60000\r\n\r\n")) return connection.closed();
    return connection.TrickleUntilClosed(std::string(60000, 'b'), 100ms, stop, 60s);
  });
  // Each flood from an address of its own: a refused flood's connection lives on until its
  // client stops sending, and the next one from the same address would meet the per-address cap.
  std::atomic<size_t> floods_sent{0};
  testing::Attack floods(2, [port, &floods_sent](std::stop_token, size_t) {
    const size_t n = floods_sent++;
    testing::RawConnection connection(port, "127.0." + std::to_string(2 + n / 250) + "." + std::to_string(1 + n % 250));
    testing::SendChunkedUntilAnswered(connection, "/health", 16 << 10, 64 << 20);
    EXPECT_EQ(connection.status(), 413);
    return connection.closed();
  });
  std::vector<testing::RawConnection> idle;
  for (size_t i = 0; i < 200; ++i) idle.emplace_back(port, "127.0.1." + std::to_string(1 + i / 16));

  for (int batch = 0; batch < 5; ++batch) {
    InsertOrders(url, 1 + batch * 20, 20);
    const size_t expected = static_cast<size_t>(batch + 1) * 20;
    ASSERT_TRUE(testing::PollUntil([&] { return SeenBy(receiver).ids.size() == expected; }, 60s)) << daemon->output();
  }
  // Every slow client and idle connection meets the deadline (10 s), trickling or not.
  EXPECT_TRUE(testing::PollUntil(
      [&] { return slow_heads.rounds_closed_by_server() >= 4 && slow_bodies.rounds_closed_by_server() >= 4; }, 60s));
  for (testing::RawConnection& connection : idle) EXPECT_TRUE(connection.WaitClosed(60s));
  const size_t probes = probe.attempts();
  EXPECT_TRUE(testing::PollUntil([&] { return probe.attempts() >= probes + 5; }));
  for (testing::Attack* attack : {&slow_heads, &slow_bodies, &floods}) {
    attack->Stop();
    EXPECT_EQ(attack->rounds_outlasted(), 0u);
  }
  EXPECT_THAT(probe.Stop(), ::testing::IsEmpty()) << "of " << probe.attempts() << " probes";
  EXPECT_EQ(receiver.request_count(), 100u) << Repeats(receiver);
  daemon->Signal(SIGTERM);
  EXPECT_EQ(daemon->Wait(30s), std::optional<int>(0)) << daemon->output();
}

}  // namespace
}  // namespace fraiseql
