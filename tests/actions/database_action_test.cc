// Database action against the real test cluster (scripts/services): each test creates its own
// table and functions (names from UniqueMarker, since tests run in parallel) and drops them after.
#include "actions/database_action.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db/connection.h"
#include "executor/worker_pool.h"
#include "testing/event_builder.h"
#include "testing/services.h"

namespace fraiseql {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Params = std::vector<std::optional<std::string>>;

class DatabaseActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = Secret(testing::PostgresUrl());
    auto connection = PgConnection::Connect(url_, 10s);
    ASSERT_TRUE(connection) << connection.error().message;
    admin_.emplace(std::move(*connection));
    name_ = testing::UniqueMarker("dbact");
    // The function records its argument and the backend that ran it (for the reconnect test).
    Exec("CREATE TABLE " + Table() + " (payload jsonb NOT NULL, backend int NOT NULL)");
    Exec("CREATE FUNCTION " + Function() + "(argument jsonb) RETURNS void LANGUAGE sql AS $$ INSERT INTO " + Table() +
         " VALUES (argument, pg_backend_pid()) $$");
  }

  void TearDown() override {
    if (!admin_) return;
    for (const std::string& statement : cleanup_) static_cast<void>(admin_->Execute(statement));
    static_cast<void>(admin_->Execute("DROP FUNCTION IF EXISTS " + Function() + "(jsonb)"));
    static_cast<void>(admin_->Execute("DROP TABLE IF EXISTS " + Table()));
  }

  std::string Table() const { return name_ + "_calls"; }
  std::string Function() const { return name_ + "_record"; }

  PgResult Exec(const std::string& sql, const Params& params = {}) {
    auto result = admin_->Execute(sql, params);
    // The test cannot go on without its fixture: GoogleTest reports the exception as a failure.
    if (!result) throw std::runtime_error(sql + ": " + result.error().message);
    return std::move(*result);
  }

  std::unique_ptr<Action> Make(const std::string& function_name, nlohmann::json params = nullptr,
                               std::chrono::milliseconds timeout = 10s, uint32_t pool_size = 4) {
    DatabaseAction spec;
    spec.function_name = function_name;
    spec.params = std::move(params);
    ActionConfig config;
    config.type = ActionType::kDatabase;
    config.timeout = timeout;
    config.spec = spec;
    ActionDependencies deps(RealClock());
    deps.blocking = &pool_;
    deps.database_url = url_;
    deps.database_pool_size = pool_size;
    auto action = MakeDatabaseAction(config, spec, deps);
    EXPECT_TRUE(action) << action.error().message;
    return action ? std::move(*action) : nullptr;
  }

  std::future<DeliveryOutcome> Start(Action& action, nlohmann::json data = {{"id", 42}}) {
    auto promise = std::make_shared<std::promise<DeliveryOutcome>>();
    std::future<DeliveryOutcome> future = promise->get_future();
    const ActionCall call{std::make_shared<const EntityEvent>(testing::MakeOrderUpdate(std::move(data), nullptr)),
                          "delivery-1", 1, 30000ms};
    action.Execute(call, [promise](DeliveryOutcome outcome) { promise->set_value(std::move(outcome)); });
    return future;
  }

  DeliveryOutcome Wait(std::future<DeliveryOutcome>& future) {
    if (future.wait_for(60s) != std::future_status::ready) {
      ADD_FAILURE() << "the database action did not call back";
      return PermanentOutcome("test", "no callback");
    }
    return future.get();
  }

  DeliveryOutcome Run(Action& action, nlohmann::json data = {{"id", 42}}) {
    auto future = Start(action, std::move(data));
    return Wait(future);
  }

  size_t CallCount() { return std::stoul(std::string(*Exec("SELECT count(*) FROM " + Table()).Get(0, 0))); }

  Secret url_;
  std::optional<PgConnection> admin_;
  std::string name_;
  std::vector<std::string> cleanup_;
  WorkerPool pool_{4};
};

TEST_F(DatabaseActionTest, CallsTheFunctionWithEventAndParams) {
  auto action = Make(Function(), {{"channel", "orders"}, {"priority", 2}});
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action, {{"id", 42}, {"status", "shipped"}});
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  EXPECT_EQ(outcome.error_type, "");

  PgResult rows = Exec(
      "SELECT payload->'event'->>'id', payload->'event'->>'entity_type', payload->'event'->>'event_type', "
      "payload->'event'->'data'->>'status', payload->'params'->>'channel', payload->'params'->'priority' "
      "FROM " +
      Table());
  ASSERT_EQ(rows.rows(), 1u);
  EXPECT_EQ(rows.Get(0, 0), testing::kOrderEventId);
  EXPECT_EQ(rows.Get(0, 1), "Order");
  EXPECT_EQ(rows.Get(0, 2), "UPDATE");
  EXPECT_EQ(rows.Get(0, 3), "shipped");
  EXPECT_EQ(rows.Get(0, 4), "orders");
  EXPECT_EQ(rows.Get(0, 5), "2");
}

TEST_F(DatabaseActionTest, ArgumentIsTheEnvelopeAndParams) {
  const EntityEvent event = testing::MakeOrderUpdate({{"id", 1}}, nullptr);
  const nlohmann::json argument = DatabaseActionArgument(event, nullptr);
  EXPECT_EQ(argument["event"], EventEnvelope(event));
  EXPECT_TRUE(argument.contains("params"));
  EXPECT_TRUE(argument["params"].is_null());
}

TEST_F(DatabaseActionTest, SchemaQualifiedNameAndNullParams) {
  auto action = Make("public." + Function());
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  PgResult rows = Exec("SELECT jsonb_typeof(payload->'params') FROM " + Table());
  ASSERT_EQ(rows.rows(), 1u);
  EXPECT_EQ(rows.Get(0, 0), "null");
}

TEST_F(DatabaseActionTest, DestinationHasNoCredentials) {
  auto action = Make(Function());
  ASSERT_NE(action, nullptr);
  std::string url = url_.Reveal();
  const std::string prefix = "postgresql://postgres@";
  ASSERT_THAT(url, StartsWith(prefix));
  EXPECT_EQ(action->destination(), "postgresql://" + url.substr(prefix.size()));
}

TEST_F(DatabaseActionTest, UndefinedFunctionIsPermanentWithSqlState) {
  auto action = Make(name_ + "_missing");
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent) << outcome.message;
  EXPECT_EQ(outcome.error_type, "sql_42");
  EXPECT_THAT(outcome.message, HasSubstr("SQLSTATE 42883"));
  EXPECT_THAT(outcome.message, HasSubstr(name_ + "_missing"));
}

TEST_F(DatabaseActionTest, SerializationFailureIsRetryable) {
  const std::string function = name_ + "_conflict";
  Exec("CREATE FUNCTION " + function +
       "(argument jsonb) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
       "RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$");
  cleanup_.push_back("DROP FUNCTION IF EXISTS " + function + "(jsonb)");
  auto action = Make(function);
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable) << outcome.message;
  EXPECT_EQ(outcome.error_type, "sql_40");
  EXPECT_THAT(outcome.message, HasSubstr("SQLSTATE 40001: conflict"));
}

TEST_F(DatabaseActionTest, RaisedExceptionIsPermanent) {
  const std::string function = name_ + "_reject";
  Exec("CREATE FUNCTION " + function +
       "(argument jsonb) RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'bad order'; END $$");
  cleanup_.push_back("DROP FUNCTION IF EXISTS " + function + "(jsonb)");
  auto action = Make(function);
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kPermanent) << outcome.message;
  EXPECT_EQ(outcome.error_type, "sql_P0");
  EXPECT_THAT(outcome.message, HasSubstr("SQLSTATE P0001: bad order"));
}

TEST_F(DatabaseActionTest, StatementTimeoutIsRetryable) {
  const std::string function = name_ + "_slow";
  Exec("CREATE FUNCTION " + function + "(argument jsonb) RETURNS void LANGUAGE sql AS $$ SELECT pg_sleep(60) $$");
  cleanup_.push_back("DROP FUNCTION IF EXISTS " + function + "(jsonb)");
  auto action = Make(function, nullptr, 100ms);
  ASSERT_NE(action, nullptr);
  const DeliveryOutcome outcome = Run(*action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable) << outcome.message;
  EXPECT_EQ(outcome.error_type, "sql_57");
  EXPECT_THAT(outcome.message, HasSubstr("SQLSTATE 57014"));
}

TEST_F(DatabaseActionTest, ReconnectsAfterTheServerDroppedAnIdleConnection) {
  auto action = Make(Function());
  ASSERT_NE(action, nullptr);
  ASSERT_EQ(Run(*action, {{"id", 1}}).kind, DeliveryOutcomeKind::kSuccess);
  const std::string backend(*Exec("SELECT backend FROM " + Table()).Get(0, 0));
  PgResult terminated = Exec("SELECT pg_terminate_backend($1::int, 10000)", Params{backend});
  ASSERT_EQ(terminated.Get(0, 0), "t");

  const DeliveryOutcome outcome = Run(*action, {{"id", 2}});
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  PgResult rows = Exec("SELECT count(DISTINCT backend) FROM " + Table());
  EXPECT_EQ(rows.Get(0, 0), "2");
}

TEST_F(DatabaseActionTest, ServerDownIsRetryable) {
  const std::string url =
      "postgresql://postgres:pw-Xq91@127.0.0.1:" + std::to_string(testing::UnusedLoopbackPort()) + "/fraiseql_test";
  DatabaseAction spec;
  spec.function_name = Function();
  ActionConfig config;
  config.type = ActionType::kDatabase;
  config.spec = spec;
  ActionDependencies deps(RealClock());
  deps.blocking = &pool_;
  deps.database_url = Secret(url);
  auto action = MakeDatabaseAction(config, spec, deps);
  ASSERT_TRUE(action) << action.error().message;
  const DeliveryOutcome outcome = Run(**action);
  EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kRetryable) << outcome.message;
  EXPECT_EQ(outcome.error_type, "sql_08");
  EXPECT_THAT(outcome.message, Not(HasSubstr("pw-Xq91")));
}

TEST_F(DatabaseActionTest, ConcurrentCallsShareAFewConnections) {
  auto action = Make(Function());
  ASSERT_NE(action, nullptr);
  std::vector<std::future<DeliveryOutcome>> futures;
  for (int i = 0; i < 16; ++i) futures.push_back(Start(*action, {{"id", i}}));
  for (auto& future : futures) {
    const DeliveryOutcome outcome = Wait(future);
    EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  }
  EXPECT_EQ(CallCount(), 16u);
  // At most one connection per worker thread of the pool.
  PgResult backends = Exec("SELECT count(DISTINCT backend) FROM " + Table());
  EXPECT_LE(std::stoul(std::string(*backends.Get(0, 0))), 4u);
}

TEST_F(DatabaseActionTest, NeverOpensMoreConnectionsThanThePoolSize) {
  // Slow enough that the four workers' calls overlap: without the cap each would open its own.
  const std::string function = name_ + "_slow_record";
  Exec("CREATE FUNCTION " + function + "(argument jsonb) RETURNS void LANGUAGE sql AS $$ SELECT pg_sleep(0.05); "
       "INSERT INTO " + Table() + " VALUES (argument, pg_backend_pid()) $$");
  cleanup_.push_back("DROP FUNCTION IF EXISTS " + function + "(jsonb)");
  auto action = Make(function, nullptr, 10s, /*pool_size=*/2);
  ASSERT_NE(action, nullptr);
  std::vector<std::future<DeliveryOutcome>> futures;
  for (int i = 0; i < 12; ++i) futures.push_back(Start(*action, {{"id", i}}));
  for (auto& future : futures) {
    const DeliveryOutcome outcome = Wait(future);
    EXPECT_EQ(outcome.kind, DeliveryOutcomeKind::kSuccess) << outcome.message;
  }
  EXPECT_EQ(CallCount(), 12u);
  PgResult backends = Exec("SELECT count(DISTINCT backend) FROM " + Table());
  EXPECT_LE(std::stoul(std::string(*backends.Get(0, 0))), 2u);
}

TEST_F(DatabaseActionTest, CallThatFindsEveryConnectionBusyForItsTimeoutIsRetryable) {
  // Holds its connection past the statement timeout: it catches the cancellation and sleeps on,
  // so the other call waits for the pool's only connection longer than the action's timeout.
  const std::string function = name_ + "_hog";
  Exec("CREATE FUNCTION " + function +
       "(argument jsonb) RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); "
       "EXCEPTION WHEN query_canceled THEN PERFORM pg_sleep(0.7); END $$");
  cleanup_.push_back("DROP FUNCTION IF EXISTS " + function + "(jsonb)");
  auto action = Make(function, nullptr, 200ms, /*pool_size=*/1);
  ASSERT_NE(action, nullptr);
  auto first = Start(*action, {{"id", 1}});
  auto second = Start(*action, {{"id", 2}});
  std::vector<DeliveryOutcome> outcomes = {Wait(first), Wait(second)};
  const auto busy = std::find_if(outcomes.begin(), outcomes.end(),
                                 [](const DeliveryOutcome& o) { return o.kind == DeliveryOutcomeKind::kRetryable; });
  ASSERT_NE(busy, outcomes.end());
  EXPECT_EQ(busy->error_type, "timeout");
  EXPECT_THAT(busy->message, HasSubstr("all 1 connections ([database] pool_size) stayed busy for 200 ms"));
  const auto other = busy == outcomes.begin() ? outcomes.begin() + 1 : outcomes.begin();
  EXPECT_EQ(other->kind, DeliveryOutcomeKind::kSuccess) << other->message;
}

TEST(MakeDatabaseActionTest, NeedsAUrlARunnerAndAValidName) {
  WorkerPool pool(1);
  DatabaseAction spec;
  spec.function_name = "app.on_order";
  ActionConfig config;
  config.type = ActionType::kDatabase;
  config.spec = spec;
  ActionDependencies deps(RealClock());
  deps.blocking = &pool;
  auto no_url = MakeDatabaseAction(config, spec, deps);
  ASSERT_FALSE(no_url);
  EXPECT_EQ(no_url.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(no_url.error().message, HasSubstr("database URL"));

  deps.database_url = Secret("postgresql://app:pw@db.example.com/orders");
  deps.blocking = nullptr;
  auto no_runner = MakeDatabaseAction(config, spec, deps);
  ASSERT_FALSE(no_runner);
  EXPECT_EQ(no_runner.error().code, ErrorCode::kInvalidArgument);

  deps.blocking = &pool;
  deps.database_pool_size = 0;
  auto no_connections = MakeDatabaseAction(config, spec, deps);
  ASSERT_FALSE(no_connections);
  EXPECT_EQ(no_connections.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(no_connections.error().message, HasSubstr("pool size"));

  deps.database_pool_size = 1;
  spec.function_name = "app.on_order(); DROP TABLE x; --";
  auto injected = MakeDatabaseAction(config, spec, deps);
  ASSERT_FALSE(injected);
  EXPECT_EQ(injected.error().code, ErrorCode::kInvalidArgument);

  spec.function_name = "app.on_order";
  auto made = MakeDatabaseAction(config, spec, deps);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ((*made)->destination(), "postgresql://db.example.com:5432/orders");
}

}  // namespace
}  // namespace fraiseql
