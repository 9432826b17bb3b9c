#include "db/connection.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/secret.h"
#include "db/sqlstate.h"
#include "testing/services.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Params = std::vector<std::optional<std::string>>;

constexpr std::chrono::milliseconds kConnectTimeout{10000};

// ---- SQLSTATE classification (pure) ----

TEST(ClassifySqlStateTest, ConnectionAndResourceTroubleIsRetryable) {
  for (const char* code : {"08000", "08003", "08006", "08001", "08P01", "57P01", "57P02", "57P03", "57P04", "57P05",
                           "53000", "53100", "53200", "53300", "57014", "55P03", "25006"}) {
    EXPECT_EQ(ClassifySqlState(code), ErrorCode::kUnavailable) << code;
  }
}

TEST(ClassifySqlStateTest, SerializationFailureAndDeadlockRetryTheTransaction) {
  EXPECT_EQ(ClassifySqlState("40001"), ErrorCode::kAborted);
  EXPECT_EQ(ClassifySqlState("40P01"), ErrorCode::kAborted);
}

TEST(ClassifySqlStateTest, BadStatementsAndDataAreInvalidArguments) {
  for (const char* code : {"42883", "42601", "42P01", "42501", "22P02", "22012", "23505", "23503", "P0001"}) {
    EXPECT_EQ(ClassifySqlState(code), ErrorCode::kInvalidArgument) << code;
  }
}

TEST(ClassifySqlStateTest, EverythingElseIsInternal) {
  for (const char* code : {"XX000", "58030", "40002", "57000", "0A000", "", "4200", "428830"}) {
    EXPECT_EQ(ClassifySqlState(code), ErrorCode::kInternal) << code;
  }
}

TEST(SqlStateOfTest, ReadsTheTypedDetailNeverTheMessage) {
  const Error error = SqlStateError("42883", "function f() does not exist");
  EXPECT_EQ(SqlStateOf(error), "42883");
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message, "SQLSTATE 42883: function f() does not exist");
  // Context on the way out keeps the detail (the message no longer starts with it).
  EXPECT_EQ(SqlStateOf(SqlStateError("22P02", "bad").Context("inserting jobs")), "22P02");
  EXPECT_EQ(SqlStateOf(Error::InvalidArgument("SQLSTATE 42883: only text")), "");
  EXPECT_EQ(SqlStateOf(Error::Unavailable("the connection to x is lost")), "");
  EXPECT_EQ(SqlStateOf(Error::Internal("x").WithDetail("email", "no_recipients")), "");
  EXPECT_EQ(SqlStateClass("42883"), "42");
  EXPECT_EQ(SqlStateClass("428"), "");
}

TEST(PostgresDestinationTest, DropsUserAndPassword) {
  auto destination = PostgresDestination(Secret("postgresql://app:hunter2@db.example.com:6543/orders?sslmode=require"));
  ASSERT_TRUE(destination) << destination.error().message;
  EXPECT_EQ(*destination, "postgresql://db.example.com:6543/orders");
}

TEST(PostgresDestinationTest, FillsDefaults) {
  auto destination = PostgresDestination(Secret("postgresql://app@db.example.com"));
  ASSERT_TRUE(destination) << destination.error().message;
  EXPECT_EQ(*destination, "postgresql://db.example.com:5432/app");
  auto conninfo = PostgresDestination(Secret("host=10.0.0.5 dbname=orders password=hunter2"));
  ASSERT_TRUE(conninfo) << conninfo.error().message;
  EXPECT_EQ(*conninfo, "postgresql://10.0.0.5:5432/orders");
}

TEST(PostgresDestinationTest, UnparsableUrlIsInvalidAndNotEchoed) {
  auto destination = PostgresDestination(Secret("postgresql://app:hunter2@db.example.com/orders?nosuchoption=1"));
  ASSERT_FALSE(destination);
  EXPECT_EQ(destination.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(destination.error().message, HasSubstr("does not parse"));
  EXPECT_THAT(destination.error().message, Not(HasSubstr("hunter2")));
}

// ---- against the test cluster (scripts/services) ----

class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = Secret(testing::PostgresUrl());
    auto connection = PgConnection::Connect(url_, kConnectTimeout);
    ASSERT_TRUE(connection) << connection.error().message;
    connection_.emplace(std::move(*connection));
  }

  Secret url_;
  std::optional<PgConnection> connection_;
};

TEST_F(PgConnectionTest, ParameterisedRoundTrip) {
  const Params params{"41", "héllo 'quoted'", R"({"a": [1, 2]})"};
  auto result =
      connection_->Execute("SELECT $1::int + 1 AS answer, $2::text AS greeting, ($3::jsonb)->'a' AS a", params);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->rows(), 1u);
  ASSERT_EQ(result->columns(), 3u);
  EXPECT_EQ(result->column_name(1), "greeting");
  EXPECT_EQ(result->column_index("a"), 2u);
  EXPECT_EQ(result->column_index("nope"), std::nullopt);
  EXPECT_EQ(result->Get(0, 0), "42");
  EXPECT_EQ(result->Get(0, 1), "héllo 'quoted'");
  EXPECT_EQ(result->Get(0, 2), "[1, 2]");
  EXPECT_EQ(result->affected_rows(), 1u);
}

TEST_F(PgConnectionTest, NulloptIsSqlNull) {
  const Params params{std::nullopt, "x"};
  auto result = connection_->Execute("SELECT $1::text AS a, $1::text IS NULL AS a_is_null, $2::text AS b", params);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->is_null(0, 0));
  EXPECT_EQ(result->Get(0, 0), std::nullopt);
  EXPECT_EQ(result->Get(0, 1), "t");
  EXPECT_FALSE(result->is_null(0, 2));
}

TEST_F(PgConnectionTest, EmptyStringIsNotNull) {
  const Params params{""};
  auto result = connection_->Execute("SELECT $1::text", params);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->is_null(0, 0));
  EXPECT_EQ(result->Get(0, 0), "");
}

TEST_F(PgConnectionTest, CommandsReportAffectedRows) {
  const std::string table = testing::UniqueMarker("db_rows_");
  ASSERT_TRUE(connection_->Execute("CREATE TEMPORARY TABLE " + table + " (n int)"));
  auto inserted = connection_->Execute("INSERT INTO " + table + " SELECT generate_series(1, 3)");
  ASSERT_TRUE(inserted) << inserted.error().message;
  EXPECT_EQ(inserted->affected_rows(), 3u);
  EXPECT_EQ(inserted->rows(), 0u);
}

TEST_F(PgConnectionTest, SyntaxErrorIs42601InvalidArgument) {
  auto result = connection_->Execute("SELEC 1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SqlStateOf(result.error()), "42601");
  EXPECT_THAT(result.error().message, StartsWith("SQLSTATE 42601: syntax error"));
  // A failed statement leaves the connection usable.
  EXPECT_TRUE(connection_->healthy());
  auto next = connection_->Execute("SELECT 1");
  ASSERT_TRUE(next) << next.error().message;
}

TEST_F(PgConnectionTest, UndefinedFunctionIs42883WithHint) {
  const Params params{"1"};
  auto result = connection_->Execute("SELECT fraiseql_no_such_function($1::int)", params);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SqlStateOf(result.error()), "42883");
  EXPECT_THAT(result.error().message, HasSubstr("fraiseql_no_such_function(integer) does not exist"));
  EXPECT_THAT(result.error().message, HasSubstr("(hint: "));
}

TEST_F(PgConnectionTest, SerializationFailureIsAborted) {
  auto result = connection_->Execute(
      "DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = 'serialization_failure'; END $$");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kAborted);
  EXPECT_EQ(result.error().message, "SQLSTATE 40001: could not serialize");
}

TEST_F(PgConnectionTest, StatementTimeoutIsUnavailable) {
  ASSERT_TRUE(connection_->Execute("SET statement_timeout = '20ms'"));
  auto result = connection_->Execute("SELECT pg_sleep(30)");
  ASSERT_FALSE(result);
  EXPECT_EQ(SqlStateOf(result.error()), "57014");
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
}

TEST_F(PgConnectionTest, APreparedStatementRunsAgainAndIsPreparedAgainWhenTheServerForgotIt) {
  const Params params{"41"};
  for (int round = 0; round < 2; ++round) {
    auto result = connection_->ExecutePrepared("plus_one", "SELECT $1::int + 1", params);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->Get(0, 0), "42");
  }
  ASSERT_TRUE(connection_->Execute("DEALLOCATE ALL"));  // as DISCARD ALL or a pooler would
  auto again = connection_->ExecutePrepared("plus_one", "SELECT $1::int + 1", params);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->Get(0, 0), "42");
  auto bad = connection_->ExecutePrepared("broken", "SELECT FROM WHERE", {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(SqlStateOf(bad.error()), "42601");
}

TEST_F(PgConnectionTest, AScriptRunsEveryStatementAndStopsAtTheFirstError) {
  ASSERT_TRUE(connection_->ExecuteScript("CREATE TEMP TABLE script_t (n int); INSERT INTO script_t VALUES (1), (2);"));
  auto count = connection_->Execute("SELECT count(*) FROM script_t");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->Get(0, 0), "2");
  Result<void> failed = connection_->ExecuteScript("INSERT INTO script_t VALUES (3); SELECT 1/0; INSERT INTO script_t VALUES (4);");
  ASSERT_FALSE(failed);
  EXPECT_EQ(SqlStateOf(failed.error()), "22012");
  count = connection_->Execute("SELECT count(*) FROM script_t");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->Get(0, 0), "2");  // one implicit transaction: the whole script rolled back
}

TEST_F(PgConnectionTest, MultipleStatementsAreRefused) {
  auto result = connection_->Execute("SELECT 1; SELECT 2");
  ASSERT_FALSE(result);
  EXPECT_EQ(SqlStateOf(result.error()), "42601");
}

TEST_F(PgConnectionTest, TerminatedBackendIsUnavailableAndUnhealthy) {
  auto pid = connection_->Execute("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid) << pid.error().message;
  auto killer = PgConnection::Connect(url_, kConnectTimeout);
  ASSERT_TRUE(killer) << killer.error().message;
  const Params params{std::string(*pid->Get(0, 0))};
  auto terminated = killer->Execute("SELECT pg_terminate_backend($1::int, 10000)", params);
  ASSERT_TRUE(terminated) << terminated.error().message;
  ASSERT_EQ(terminated->Get(0, 0), "t");

  auto result = connection_->Execute("SELECT 1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable) << result.error().message;
  EXPECT_FALSE(connection_->healthy());
  // Stays broken, without touching libpq again.
  auto again = connection_->Execute("SELECT 1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(again.error().message, HasSubstr("is lost"));
}

TEST(PgConnectTest, ClosedPortIsUnavailableAndNamesTheServer) {
  const uint16_t port = testing::UnusedLoopbackPort();
  const std::string url = "postgresql://app:s3cr3t-pw@127.0.0.1:" + std::to_string(port) + "/orders";
  auto connection = PgConnection::Connect(Secret(url), kConnectTimeout);
  ASSERT_FALSE(connection);
  EXPECT_EQ(connection.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(connection.error().message, HasSubstr("cannot connect to 127.0.0.1:" + std::to_string(port) + "/orders"));
  EXPECT_THAT(connection.error().message, Not(HasSubstr("s3cr3t-pw")));
  EXPECT_THAT(connection.error().message, Not(HasSubstr("app:")));
  EXPECT_EQ(connection.error().message.find('\n'), std::string::npos) << "one line for logs and the DLQ";
}

TEST(PgConnectTest, PasswordNeverInMessageForUnknownRole) {
  // The cluster trusts loopback, so a role that does not exist is the authentication failure.
  std::string url = testing::PostgresUrl();
  const std::string prefix = "postgresql://postgres@";
  ASSERT_THAT(url, StartsWith(prefix));
  url = "postgresql://fraiseql_no_such_role:pw-Zq81%21x@" + url.substr(prefix.size());
  auto connection = PgConnection::Connect(Secret(url), kConnectTimeout);
  ASSERT_FALSE(connection);
  EXPECT_EQ(connection.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(connection.error().message, HasSubstr("fraiseql_no_such_role"));
  EXPECT_THAT(connection.error().message, Not(HasSubstr("pw-Zq81")));
}

TEST(PgConnectTest, PasswordNeverInMessageForUnparsableUrl) {
  for (const char* url :
       {"postgresql://app:pw-Zq81%zz@127.0.0.1/orders", "postgresql://app@127.0.0.1/orders?password=pw-Zq81&bogus=1",
        "host=127.0.0.1 password='pw-Zq81' bogus=1"}) {
    auto connection = PgConnection::Connect(Secret(url), kConnectTimeout);
    ASSERT_FALSE(connection) << url;
    EXPECT_EQ(connection.error().code, ErrorCode::kInvalidArgument) << url;
    EXPECT_THAT(connection.error().message, Not(HasSubstr("pw-Zq81"))) << connection.error().message;
  }
}

}  // namespace
}  // namespace fraiseql
