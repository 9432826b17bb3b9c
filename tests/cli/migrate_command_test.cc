// `migrate`, `attach` and `detach` as a user runs them, against the real test cluster; each test
// has a database of its own (ScratchDatabase).
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "db/migrations.h"
#include "testing/scratch_database.h"

namespace fraiseql {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::RunCli;
using testing::ScratchDatabase;

constexpr std::string_view kUuidA = "6f1c2d3e-4a5b-4c6d-8e7f-001122334455";

// Sets (or, with nullopt, removes) an environment variable for one test and restores it after.
// Tests set it before starting any thread: setenv races with getenv elsewhere.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;  // NOLINT(concurrency-mt-unsafe)
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string Scalar(const ScratchDatabase& db, std::string_view sql) {
  PgResult result = db.Execute(sql);
  if (result.rows() == 0) return "<no row>";
  return std::string(result.Get(0, 0).value_or("<null>"));
}

std::vector<std::string> Lines(const ScratchDatabase& db, std::string_view sql) {
  PgResult result = db.Execute(sql);
  std::vector<std::string> lines;
  for (size_t row = 0; row < result.rows(); ++row) lines.emplace_back(result.Get(row, 0).value_or("<null>"));
  return lines;
}

size_t MigrationCount() { return EmbeddedMigrations().size(); }

// --- migrate --------------------------------------------------------------------------------

TEST(MigrateCommand, AppliesEverythingThenNothing) {
  ScratchDatabase db("climig");
  testing::CliRun first = RunCli({"migrate", "--database-url", db.url().Reveal()});
  EXPECT_EQ(first.exit_code, cli::kExitOk) << first.err;
  EXPECT_THAT(first.out, HasSubstr("applied 001_change_log_contract\napplied 002_change_log_capture\n"));
  EXPECT_THAT(first.out, HasSubstr("/" + db.name() + ": up to date: " + std::to_string(MigrationCount()) +
                                   " migrations applied now, 0 before\n"));
  EXPECT_THAT(first.err, IsEmpty());

  testing::CliRun second = RunCli({"migrate", "--database-url", db.url().Reveal()});
  EXPECT_EQ(second.exit_code, cli::kExitOk) << second.err;
  EXPECT_THAT(second.out, Not(HasSubstr("applied 0")));
  EXPECT_THAT(second.out, HasSubstr(": up to date: 0 migrations applied now, " + std::to_string(MigrationCount()) +
                                    " before\n"));
}

TEST(MigrateCommand, DryRunListsWhatWouldBeAppliedAndChangesNothing) {
  ScratchDatabase db("climigdry");
  testing::CliRun run = RunCli({"migrate", "--database-url", db.url().Reveal(), "--dry-run"});
  EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("would apply 001_change_log_contract\n"));
  EXPECT_THAT(run.out, HasSubstr(": dry run, nothing changed: " + std::to_string(MigrationCount()) +
                                 " pending, 0 already applied\n"));
  EXPECT_EQ(Scalar(db, "SELECT to_regclass('observer_schema_migrations') IS NULL"), "t");
  EXPECT_EQ(Scalar(db, "SELECT to_regnamespace('core') IS NULL"), "t");
}

TEST(MigrateCommand, JsonReport) {
  ScratchDatabase db("climigjson");
  testing::CliRun run = RunCli({"migrate", "--database-url", db.url().Reveal(), "--format", "json"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["dry_run"], false);
  EXPECT_THAT(report["database"].get<std::string>(), HasSubstr("/" + db.name()));
  ASSERT_EQ(report["applied"].size(), MigrationCount());
  EXPECT_EQ(report["applied"][0], (nlohmann::json{{"version", 1}, {"name", "001_change_log_contract"}}));
  EXPECT_EQ(report["already_applied"], nlohmann::json::array());
  EXPECT_EQ(report["pending"], nlohmann::json::array());
  EXPECT_EQ(report["unknown"], nlohmann::json::array());

  testing::CliRun dry = RunCli({"migrate", "--database-url", db.url().Reveal(), "--format", "json", "--dry-run"});
  ASSERT_EQ(dry.exit_code, cli::kExitOk) << dry.err;
  const nlohmann::json dry_report = nlohmann::json::parse(dry.out);
  EXPECT_EQ(dry_report["dry_run"], true);
  EXPECT_EQ(dry_report["already_applied"].size(), MigrationCount());
  EXPECT_EQ(dry_report["pending"], nlohmann::json::array());
}

TEST(MigrateCommand, DatabaseUrlComesFromTheEnvironmentWhenNotGiven) {
  ScratchDatabase db("climigenv");
  ScopedEnv env("DATABASE_URL", db.url().Reveal());
  testing::CliRun run = RunCli({"migrate"});
  EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("/" + db.name() + ": up to date"));
}

TEST(MigrateCommand, NoDatabaseIsAUsageError) {
  ScopedEnv env("DATABASE_URL", std::nullopt);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"migrate"}, {"attach", "--table", "t", "--entity", "T"}, {"detach", "--table", "t"}}) {
    testing::CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, cli::kExitUsage) << args[0];
    EXPECT_THAT(run.err, HasSubstr("pass --database-url URL or set DATABASE_URL")) << args[0];
  }
}

TEST(MigrateCommand, UnreachableDatabaseNeverShowsThePassword) {
  const std::string url = "postgresql://observer:s3cret-pw@127.0.0.1:" +
                          std::to_string(testing::UnusedLoopbackPort()) + "/nowhere";
  for (const char* format : {"text", "json"}) {
    testing::CliRun run = RunCli({"migrate", "--database-url", url, "--format", format});
    EXPECT_EQ(run.exit_code, cli::kExitInvalidInput) << format;
    EXPECT_THAT(run.out + run.err, HasSubstr("127.0.0.1")) << format;
    EXPECT_THAT(run.out + run.err, Not(HasSubstr("s3cret-pw"))) << format;
  }
  // Nor when the URL itself does not parse (libpq quotes pieces of it).
  ScopedEnv env("DATABASE_URL", "postgresql://observer:s3cret%zz@127.0.0.1:1/x");
  testing::CliRun run = RunCli({"migrate"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("s3cret")));
}

TEST(MigrateCommand, EditedMigrationIsAnErrorNamingIt) {
  ScratchDatabase db("climigtamper");
  ASSERT_EQ(RunCli({"migrate", "--database-url", db.url().Reveal()}).exit_code, cli::kExitOk);
  db.Execute("UPDATE observer_schema_migrations SET checksum = 'deadbeef' WHERE version = 2");
  testing::CliRun run = RunCli({"migrate", "--database-url", db.url().Reveal()});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("fraiseql-observer: error: migration 002_change_log_capture was applied with "
                                 "checksum deadbeef"));
  testing::CliRun json = RunCli({"migrate", "--database-url", db.url().Reveal(), "--format", "json"});
  EXPECT_EQ(json.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(nlohmann::json::parse(json.out)["error"].get<std::string>(), HasSubstr("002_change_log_capture"));
}

// --- attach / detach ------------------------------------------------------------------------

class AttachCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCli({"migrate", "--database-url", url()}).exit_code, cli::kExitOk);
    db_.Execute("CREATE TABLE public.orders (id UUID PRIMARY KEY, tenant_id UUID, total INT)");
  }

  std::string url() const { return db_.url().Reveal(); }

  void InsertUpdateDelete() {
    db_.Execute("INSERT INTO orders VALUES ('" + std::string(kUuidA) + "', NULL, 1)");
    db_.Execute("UPDATE orders SET total = 2");
    db_.Execute("DELETE FROM orders");
  }

  // "<modification_type> <object_type> <object_id> <after total> <before total>" per row.
  std::vector<std::string> ChangeLog() const {
    return Lines(db_, "SELECT concat_ws(' ', modification_type, object_type, object_id, "
                      "coalesce(object_data->>'total', '-'), coalesce(object_data_before->>'total', '-')) "
                      "FROM core.tb_entity_change_log ORDER BY pk_entity_change_log");
  }

  ScratchDatabase db_{"cliattach"};
};

TEST_F(AttachCommand, RecordsInsertUpdateDeleteWithoutPreImage) {
  testing::CliRun run = RunCli({"attach", "--database-url", url(), "--table", "public.orders", "--entity", "Order"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_EQ(run.out, "attached to public.orders: INSERT, UPDATE and DELETE are recorded in "
                     "core.tb_entity_change_log as Order (key column id, without pre-image)\n");
  EXPECT_THAT(run.err, IsEmpty());
  InsertUpdateDelete();
  const std::string id(kUuidA);
  EXPECT_THAT(ChangeLog(), ::testing::ElementsAre("INSERT Order " + id + " 1 -", "UPDATE Order " + id + " 2 -",
                                                  "DELETE Order " + id + " - -"));
}

TEST_F(AttachCommand, RecordsThePreImageWhenAsked) {
  testing::CliRun run = RunCli({"attach", "--database-url", url(), "--table", "orders", "--entity", "Order",
                                "--pk", "id", "--pre-image"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("with pre-image"));
  InsertUpdateDelete();
  const std::string id(kUuidA);
  EXPECT_THAT(ChangeLog(), ::testing::ElementsAre("INSERT Order " + id + " 1 -", "UPDATE Order " + id + " 2 1",
                                                  "DELETE Order " + id + " - 2"));
}

TEST_F(AttachCommand, AttachingAgainReplacesTheTriggers) {
  ASSERT_EQ(RunCli({"attach", "--database-url", url(), "--table", "orders", "--entity", "Order"}).exit_code, 0);
  testing::CliRun again =
      RunCli({"attach", "--database-url", url(), "--table", "orders", "--entity", "Purchase", "--pre-image"});
  ASSERT_EQ(again.exit_code, cli::kExitOk) << again.err;
  EXPECT_THAT(again.out, HasSubstr("(its previous capture triggers replaced)"));
  EXPECT_EQ(Scalar(db_, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass"), "3");
  InsertUpdateDelete();
  EXPECT_THAT(ChangeLog().front(), HasSubstr("INSERT Purchase"));
}

TEST_F(AttachCommand, QuotedTableNamesWork) {
  db_.Execute("CREATE TABLE public.\"Order Items\" (id UUID PRIMARY KEY)");
  testing::CliRun run =
      RunCli({"attach", "--database-url", url(), "--table", "public.\"Order Items\"", "--entity", "OrderItem"});
  ASSERT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("attached to public.\"Order Items\""));
  db_.Execute("INSERT INTO \"Order Items\" VALUES ('" + std::string(kUuidA) + "')");
  EXPECT_EQ(Scalar(db_, "SELECT object_type FROM core.tb_entity_change_log"), "OrderItem");
}

TEST_F(AttachCommand, MissingTableIsNamed) {
  testing::CliRun run = RunCli({"attach", "--database-url", url(), "--table", "public.nosuch", "--entity", "X"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("fraiseql-observer: error: table public.nosuch does not exist in "));
  testing::CliRun schema = RunCli({"attach", "--database-url", url(), "--table", "nowhere.orders", "--entity", "X"});
  EXPECT_EQ(schema.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(schema.err, HasSubstr("table nowhere.orders does not exist"));
}

TEST_F(AttachCommand, MissingColumnIsNamedWithTheColumnsThereAre) {
  testing::CliRun run =
      RunCli({"attach", "--database-url", url(), "--table", "orders", "--entity", "Order", "--pk", "uid"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("table public.orders has no column \"uid\" (its columns: id, tenant_id, total)"));
  EXPECT_EQ(Scalar(db_, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass"), "0");
}

TEST_F(AttachCommand, NonUuidKeyIsAttachedWithAWarning) {
  db_.Execute("CREATE TABLE public.tags (id BIGINT PRIMARY KEY)");
  testing::CliRun run = RunCli({"attach", "--database-url", url(), "--table", "tags", "--entity", "Tag"});
  EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_THAT(run.err, HasSubstr("warning: public.tags.id is bigint: only rows whose id holds a UUID are recorded"));
}

TEST_F(AttachCommand, ViewIsNotATable) {
  db_.Execute("CREATE VIEW public.v_orders AS SELECT * FROM orders");
  testing::CliRun run = RunCli({"attach", "--database-url", url(), "--table", "v_orders", "--entity", "Order"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("public.v_orders is a view: capture triggers go on the table"));
}

TEST_F(AttachCommand, InvalidTableNameIsReported) {
  testing::CliRun run = RunCli({"attach", "--database-url", url(), "--table", "a.b.c.d", "--entity", "X"});
  EXPECT_EQ(run.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(run.err, HasSubstr("invalid table name \"a.b.c.d\""));
}

TEST_F(AttachCommand, DetachSaysWhetherTriggersWereThere) {
  ASSERT_EQ(RunCli({"attach", "--database-url", url(), "--table", "orders", "--entity", "Order"}).exit_code, 0);
  testing::CliRun run = RunCli({"detach", "--database-url", url(), "--table", "orders"});
  EXPECT_EQ(run.exit_code, cli::kExitOk) << run.err;
  EXPECT_EQ(run.out, "detached from public.orders: its capture triggers are removed\n");
  EXPECT_EQ(Scalar(db_, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass"), "0");
  InsertUpdateDelete();
  EXPECT_THAT(ChangeLog(), IsEmpty());

  testing::CliRun again = RunCli({"detach", "--database-url", url(), "--table", "orders"});
  EXPECT_EQ(again.exit_code, cli::kExitOk) << again.err;
  EXPECT_EQ(again.out, "public.orders had no capture triggers: nothing to remove\n");

  testing::CliRun missing = RunCli({"detach", "--database-url", url(), "--table", "nosuch"});
  EXPECT_EQ(missing.exit_code, cli::kExitInvalidInput);
  EXPECT_THAT(missing.err, HasSubstr("table nosuch does not exist"));
}

TEST(AttachCommandUnmigrated, AskToRunMigrateFirst) {
  ScratchDatabase db("cliattachnomig");
  db.Execute("CREATE TABLE public.orders (id UUID PRIMARY KEY)");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"attach", "--database-url", db.url().Reveal(), "--table", "orders", "--entity", "Order"},
           {"detach", "--database-url", db.url().Reveal(), "--table", "orders"}}) {
    testing::CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, cli::kExitInvalidInput) << args[0];
    EXPECT_THAT(run.err, HasSubstr("is not migrated (pending: 001_change_log_contract, ")) << args[0];
    EXPECT_THAT(run.err, HasSubstr("run `fraiseql-observer migrate` first")) << args[0];
  }
}

// --- the command line itself ----------------------------------------------------------------

TEST(DatabaseCommandsCli, RequiredOptionsAreUsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"attach", "--database-url", "postgresql://x/y", "--entity", "Order"},
           {"attach", "--database-url", "postgresql://x/y", "--table", "orders"},
           {"detach", "--database-url", "postgresql://x/y"},
           {"migrate", "--format", "xml"}}) {
    testing::CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, cli::kExitUsage) << args[0] << " " << args.back();
  }
}

TEST(DatabaseCommandsCli, EverySubcommandHasHelp) {
  for (const char* subcommand : {"migrate", "attach", "detach"}) {
    testing::CliRun run = RunCli({subcommand, "--help"});
    EXPECT_EQ(run.exit_code, cli::kExitOk) << subcommand;
    EXPECT_THAT(run.out, HasSubstr("--database-url")) << subcommand;
    EXPECT_THAT(run.out, HasSubstr("DATABASE_URL")) << subcommand;
  }
  testing::CliRun run = RunCli({"--help"});
  EXPECT_THAT(run.out, HasSubstr("migrate"));
  EXPECT_THAT(run.out, HasSubstr("attach"));
  EXPECT_THAT(run.out, HasSubstr("detach"));
}

}  // namespace
}  // namespace fraiseql
