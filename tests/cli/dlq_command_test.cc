// `fraiseql-observer dlq ...` run in-process against a scratch database (label pg).
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli_test_util.h"
#include "dlq/postgres_dead_letter_store.h"
#include "testing/delivery_builder.h"
#include "testing/migrated_database.h"

namespace fraiseql {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::CliRun;
using testing::MigratedDatabase;
using testing::NewAttempt;
using testing::NewDelivery;
using testing::NewEvent;
using testing::RunCli;

// Dead letters 1 (observer o1, Order, retryable), 2 (o2, User, a day old), 3 (a pipeline failure).
class DlqCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<DeadLetter> records;
    for (const Delivery* delivery : {&order_, &user_}) {
      DeadLetter record;
      record.delivery_id = delivery->id;
      record.listener_id = "default";
      record.event = EventToJson(*delivery->event);
      record.observer = delivery->observer;
      record.action_index = delivery->action_index;
      record.action_type = "webhook";
      record.entity_type = delivery->event->entity_type;
      record.attempts = {NewAttempt(503, "HTTP 503 Service Unavailable", 1), NewAttempt(404, "HTTP 404 Not Found", 2)};
      record.reason = "HTTP 404 Not Found";
      records.push_back(record);
    }
    DeadLetter failure;
    failure.listener_id = "default";
    failure.change_log_pk = 99;
    failure.row_data = nlohmann::json{{"pk_entity_change_log", 99}};
    failure.reason = "row 99: unknown modification_type 'MERGE'";
    records.push_back(failure);
    PgConnection conn = db_.Connect();
    Result<void> inserted = PostgresDeadLetterStore(&conn).Add(records);
    ASSERT_TRUE(inserted) << inserted.error().message;
    db_.Execute("UPDATE observer_dead_letters SET created_at = now() - interval '1 day' WHERE id = 2");
  }

  CliRun Dlq(std::vector<std::string> args) {
    args.insert(args.begin(), "dlq");
    args.push_back("--database-url");
    args.push_back(db_.url().Reveal());
    return RunCli(args);
  }

  int64_t DeadLetters() const { return db_.Count("SELECT count(*) FROM observer_dead_letters"); }
  int64_t Jobs() const { return db_.Count("SELECT count(*) FROM observer_jobs"); }

  MigratedDatabase db_{"dlqcli"};
  Delivery order_ = NewDelivery(NewEvent("Order", 1), "o1", 1);
  Delivery user_ = NewDelivery(NewEvent("User", 2), "o2", 0);
};

TEST_F(DlqCommandTest, ListShowsATableAndFilters) {
  CliRun run = Dlq({"list"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("ID"), HasSubstr("OBSERVER"), HasSubstr("o1"), HasSubstr("o2"),
                             HasSubstr("1 (webhook)"), HasSubstr("HTTP 404 Not Found"),
                             HasSubstr("unknown modification_type"), HasSubstr("3 dead letters")));

  run = Dlq({"list", "--observer", "o2"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("o2"), Not(HasSubstr("o1")), HasSubstr("1 dead letter\n")));

  run = Dlq({"list", "--entity", "Order"});
  EXPECT_THAT(run.out, AllOf(HasSubstr("o1"), HasSubstr("1 dead letter\n")));

  run = Dlq({"list", "--since", "2h"});
  EXPECT_THAT(run.out, AllOf(HasSubstr("o1"), Not(HasSubstr("o2")), HasSubstr("2 dead letters")));

  run = Dlq({"list", "--since", "2020-01-01T00:00:00Z", "--limit", "2"});
  EXPECT_THAT(run.out, HasSubstr("2 dead letters (the --limit"));

  run = Dlq({"list", "--observer", "nobody"});
  EXPECT_EQ(run.out, "no dead letters\n");
}

TEST_F(DlqCommandTest, ListAsJson) {
  CliRun run = Dlq({"list", "--format", "json"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  const nlohmann::json list = nlohmann::json::parse(run.out);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["id"], 1);
  EXPECT_EQ(list[0]["delivery_id"], order_.id);
  EXPECT_EQ(list[0]["observer"], "o1");
  EXPECT_EQ(list[0]["action_index"], 1);
  EXPECT_EQ(list[0]["attempts"].size(), 2u);
  EXPECT_EQ(list[0]["attempts"][1]["status"], 404);
  // Its last attempt was a 404: permanent, so not "retryable", though `dlq retry` can re-drive it.
  EXPECT_EQ(list[0]["failure"], "permanent");
  EXPECT_EQ(list[0]["retryable"], false);
  EXPECT_EQ(list[0]["redrivable"], true);
  EXPECT_TRUE(list[2]["delivery_id"].is_null());
  EXPECT_EQ(list[2]["failure"], "pipeline");
  EXPECT_EQ(list[2]["retryable"], false);
  EXPECT_EQ(list[2]["redrivable"], false);
}

// The RETRYABLE cell of each row of a `dlq list` table, by id.
std::map<std::string, std::string> RetryableColumn(const std::string& table) {
  std::istringstream lines(table);
  std::string header;
  std::getline(lines, header);
  const size_t column = header.find("RETRYABLE");
  std::map<std::string, std::string> cells;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() <= column || line.find_first_not_of("0123456789") == 0) continue;
    cells[line.substr(0, line.find(' '))] = line.substr(column, line.find(' ', column) - column);
  }
  return cells;
}

// The case: a dead letter whose reason says permanent was listed as RETRYABLE "yes".
TEST_F(DlqCommandTest, RetryableColumnSaysWhetherTheFailureWasTransient) {
  DeadLetter exhausted;
  const Delivery busy = NewDelivery(NewEvent("Order", 4), "o4", 0);
  exhausted.delivery_id = busy.id;
  exhausted.event = EventToJson(*busy.event);
  exhausted.observer = busy.observer;
  exhausted.action_index = busy.action_index;
  exhausted.attempts = {NewAttempt(503, "HTTP 503 (retryable)", 1), NewAttempt(503, "HTTP 503 (retryable)", 2)};
  exhausted.reason = "gave up after 2 attempts: HTTP 503 Service Unavailable (retryable)";
  PgConnection conn = db_.Connect();
  ASSERT_TRUE(PostgresDeadLetterStore(&conn).Add(std::vector<DeadLetter>{exhausted}));

  CliRun run = Dlq({"list"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  const std::map<std::string, std::string> expected = {{"1", "no"}, {"2", "no"}, {"3", "no"}, {"4", "yes"}};
  EXPECT_EQ(RetryableColumn(run.out), expected) << run.out;

  run = Dlq({"show", "1"});
  EXPECT_THAT(run.out, HasSubstr("failure:     permanent: the last attempt's failure will repeat"));
  run = Dlq({"show", "3"});
  EXPECT_THAT(run.out, HasSubstr("failure:     pipeline"));
  run = Dlq({"show", "4"});
  EXPECT_THAT(run.out, HasSubstr("failure:     exhausted: every attempt failed with a transient error"));
  run = Dlq({"show", "4", "--format", "json"});
  const nlohmann::json shown = nlohmann::json::parse(run.out);
  EXPECT_EQ(shown["failure"], "exhausted");
  EXPECT_EQ(shown["retryable"], true);
}

// Rows written before URLs were redacted at the source, or by any writer that forgot: every
// view of the dead-letter queue redacts what it shows.
TEST_F(DlqCommandTest, UrlsInReasonsAndAttemptsAreShownRedacted) {
  db_.Execute(
      "UPDATE observer_dead_letters SET reason = 'gave up: https://ops:hunter2@h.example/x?token=abc123 refused',"
      " attempts = jsonb_build_array(jsonb_build_object('started_at', '2026-01-01T00:00:00Z', 'outcome', 'retryable',"
      " 'error', 'Failed to connect to http://ops:hunter2@h.example:81/?sig=abc123 (refused)')) WHERE id = 2");
  const std::vector<std::vector<std::string>> views = {
      {"list"}, {"list", "--format", "json"}, {"show", "2"}, {"show", "2", "--format", "json"}};
  for (const std::vector<std::string>& args : views) {
    const CliRun run = Dlq(args);
    ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
    EXPECT_THAT(run.out, AllOf(Not(HasSubstr("hunter2")), Not(HasSubstr("abc123")), HasSubstr("<redacted>@h.example")))
        << args[0] << " " << args.size();
  }

  // What the engine writes now is redacted before it is stored.
  DeadLetter letter;
  const Delivery hook = NewDelivery(NewEvent("Order", 5), "o5", 0);
  letter.delivery_id = hook.id;
  letter.reason = "gave up: https://ops:hunter2@h.example/x?token=abc123 refused";
  PgConnection conn = db_.Connect();
  ASSERT_TRUE(PostgresDeadLetterStore(&conn).Add(std::vector<DeadLetter>{letter}));
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_dead_letters WHERE delivery_id = $1::uuid AND reason = $2",
                      {hook.id, "gave up: https://<redacted>@h.example/x?token=<redacted> refused"}),
            1);
}

TEST_F(DlqCommandTest, ShowPrintsEveryAttemptAndTheEvent) {
  CliRun run = Dlq({"show", "1"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("dead letter 1"), HasSubstr(order_.id), HasSubstr("o1, action 1 (webhook)"),
                             HasSubstr("1. 2026-01-01T00:00:01.000000Z  retryable  status 503  12.345 ms"),
                             HasSubstr("2. 2026-01-01T00:00:02.000000Z  permanent  status 404"),
                             HasSubstr("reason:      HTTP 404 Not Found"), HasSubstr(order_.event->id)));

  run = Dlq({"show", "3"});
  EXPECT_THAT(run.out, AllOf(HasSubstr("none: a pipeline failure"), HasSubstr("row data:"), HasSubstr("row 99")));

  run = Dlq({"show", "2", "--format", "json"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["observer"], "o2");

  run = Dlq({"show", "42"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("there is no dead letter 42"));

  run = Dlq({"show", "x1"});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
}

TEST_F(DlqCommandTest, RetryReEnqueuesOneDelivery) {
  CliRun run = Dlq({"retry", "1"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("re-enqueued delivery " + order_.id + " (observer o1, action 1)"),
                             HasSubstr("retried 1 dead letter\n")));
  EXPECT_EQ(Jobs(), 1);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM observer_jobs WHERE delivery_id = $1 AND action_index = 1 AND attempt = 0",
                      {order_.id}),
            1);
  EXPECT_EQ(DeadLetters(), 2);
}

TEST_F(DlqCommandTest, RetryOfAPipelineFailureIsRefused) {
  CliRun run = Dlq({"retry", "3"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.out, HasSubstr("cannot be retried: it records a pipeline failure"));
  EXPECT_THAT(run.err, HasSubstr("dead letter 3 cannot be retried"));
  EXPECT_EQ(DeadLetters(), 3);
  EXPECT_EQ(Jobs(), 0);
}

TEST_F(DlqCommandTest, RetryAllDryRunThenForReal) {
  CliRun run = Dlq({"retry", "--all", "--dry-run"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, AllOf(HasSubstr("would re-enqueue delivery " + order_.id),
                             HasSubstr("dry run: would retry 2 dead letters; 1 cannot be retried; nothing was changed")));
  EXPECT_EQ(DeadLetters(), 3);
  EXPECT_EQ(Jobs(), 0);

  run = Dlq({"retry", "--all", "--entity", "User", "--format", "json"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["enqueued"], 1);
  EXPECT_EQ(report["items"][0]["delivery_id"], user_.id);
  EXPECT_EQ(Jobs(), 1);
  EXPECT_EQ(DeadLetters(), 2);
}

TEST_F(DlqCommandTest, PurgeDryRunChangesNothingAndPurgeDeletes) {
  CliRun run = Dlq({"purge", "--all", "--observer", "o1", "--dry-run"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_EQ(run.out, "dry run: would purge 1 dead letter (1); nothing was changed\n");
  EXPECT_EQ(DeadLetters(), 3);

  run = Dlq({"purge", "2"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_EQ(run.out, "purged 1 dead letter (2)\n");
  EXPECT_EQ(DeadLetters(), 2);

  run = Dlq({"purge", "--all", "--format", "json"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["count"], 2);
  EXPECT_EQ(DeadLetters(), 0);
}

TEST_F(DlqCommandTest, UsageErrors) {
  EXPECT_EQ(Dlq({"retry"}).exit_code, cli::kExitUsage);
  EXPECT_EQ(Dlq({"retry", "1", "--all"}).exit_code, cli::kExitUsage);
  EXPECT_EQ(Dlq({"purge", "1", "--observer", "o1"}).exit_code, cli::kExitUsage);
  CliRun run = Dlq({"list", "--since", "yesterday"});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--since: 'yesterday'"));
  EXPECT_EQ(DeadLetters(), 3);
}

TEST(DlqCommandDatabaseTest, WithoutADatabaseItSaysHowToGiveOne) {
  unsetenv("DATABASE_URL");
  CliRun run = RunCli({"dlq", "list"});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("no database URL: pass --database-url URL or set DATABASE_URL"));

  // With a config that names no database, the config is one more way to give one.
  const std::string config = testing::WriteTempFile("no-url.toml", "[database]\nlistener_id = \"x\"\n");
  run = RunCli({"dlq", "list", "--config", config, "--database-url", ""});
  EXPECT_EQ(run.exit_code, cli::kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("no database URL: pass --database-url URL, set [database] url (or url_env) in "
                                 "the config, or set DATABASE_URL"));
}

TEST(DlqCommandDatabaseTest, TheUrlComesFromDatabaseUrlOrTheConfigAndItsPasswordIsNeverPrinted) {
  MigratedDatabase db("dlqcli");
  setenv("DATABASE_URL", db.url().Reveal().c_str(), 1);
  CliRun run = RunCli({"dlq", "list"});
  unsetenv("DATABASE_URL");
  EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_EQ(run.out, "no dead letters\n");

  const std::string config = testing::WriteTempFile(
      "observer.toml", "[database]\nurl = \"" + db.url().Reveal() + "\"\n");
  run = RunCli({"dlq", "list", "--config", config});
  EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;

  const std::string port = std::to_string(testing::UnusedLoopbackPort());
  run = RunCli({"dlq", "list", "--database-url", "postgresql://admin:s3cretpw@127.0.0.1:" + port + "/x"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, AllOf(HasSubstr("127.0.0.1:" + port), Not(HasSubstr("s3cretpw"))));
  EXPECT_THAT(run.out, Not(HasSubstr("s3cretpw")));
}

}  // namespace
}  // namespace fraiseql
