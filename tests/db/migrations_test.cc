// The migration runner (db/migrations.h) and what the migrations install (the change-log
// contract, the capture trigger, its NOTIFY), against the real test cluster. Every test has a
// database of its own (ScratchDatabase), since migrations change the whole schema.
#include "db/migrations.h"

#include <poll.h>

#include <array>
#include <chrono>
#include <fstream>
#include <latch>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "db/sqlstate.h"
#include "testing/scratch_database.h"

namespace fraiseql {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ScratchDatabase;

constexpr std::string_view kUuidA = "6f1c2d3e-4a5b-4c6d-8e7f-001122334455";
constexpr std::string_view kUuidB = "6f1c2d3e-4a5b-4c6d-8e7f-001122334466";
constexpr std::string_view kTenant = "11111111-2222-4333-8444-555555555555";

std::vector<int> Versions(const std::vector<MigrationRef>& refs) {
  std::vector<int> versions;
  for (const MigrationRef& ref : refs) versions.push_back(ref.version);
  return versions;
}

std::vector<int> AllVersions() {
  std::vector<int> versions;
  for (const Migration& migration : EmbeddedMigrations()) versions.push_back(migration.version);
  return versions;
}

// Runs `sql` and returns the first column of the first row ("<null>" for NULL, "<no row>").
std::string Scalar(PgConnection& conn, std::string_view sql) {
  Result<PgResult> result = conn.Execute(sql);
  if (!result) {
    ADD_FAILURE() << sql << ": " << result.error().message;
    return "<error>";
  }
  if (result->rows() == 0) return "<no row>";
  return std::string(result->Get(0, 0).value_or("<null>"));
}

void Exec(PgConnection& conn, std::string_view sql) {
  Result<PgResult> result = conn.Execute(sql);
  ASSERT_TRUE(result) << sql << ": " << result.error().message;
}

MigrationReport MustApply(PgConnection& conn) {
  Result<MigrationReport> report = ApplyMigrations(conn, MigrationMode::kApply);
  if (!report) {
    ADD_FAILURE() << report.error().message;
    return {};
  }
  return std::move(report).value();
}

std::string Sha256Hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EXPECT_EQ(EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr), 1);
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

// --- embedding -----------------------------------------------------------------------------

TEST(EmbeddedMigrations, AreTheFilesOfMigrationsInVersionOrder) {
  const std::span<const Migration> migrations = EmbeddedMigrations();
  ASSERT_GE(migrations.size(), 4u);
  for (size_t i = 0; i < migrations.size(); ++i) {
    const Migration& migration = migrations[i];
    SCOPED_TRACE(std::string(migration.name));
    if (i > 0) {
      EXPECT_GT(migration.version, migrations[i - 1].version);
    }
    std::string prefix = std::to_string(migration.version) + "_";
    while (prefix.size() < 4) prefix.insert(0, "0");
    EXPECT_TRUE(migration.name.starts_with(prefix));
    // The raw string literal reproduces the file byte for byte (the files have LF line ends).
    std::ifstream file(std::string(FRAISEQL_SOURCE_DIR) + "/migrations/" + std::string(migration.name) + ".sql",
                       std::ios::binary);
    ASSERT_TRUE(file) << "no file for " << migration.name;
    std::stringstream text;
    text << file.rdbuf();
    EXPECT_EQ(migration.sql, text.str());
  }
  EXPECT_EQ(migrations.front().version, 1);
}

TEST(EmbeddedMigrations, ChecksumIsTheSha256OfTheSql) {
  for (const Migration& migration : EmbeddedMigrations()) {
    EXPECT_EQ(migration.checksum, Sha256Hex(migration.sql)) << migration.name;
  }
}

// --- the runner ----------------------------------------------------------------------------

TEST(Migrations, FreshDatabaseGetsEverything) {
  ScratchDatabase db("migfresh");
  PgConnection conn = db.Connect();
  const MigrationReport report = MustApply(conn);
  EXPECT_EQ(Versions(report.applied), AllVersions());
  EXPECT_THAT(report.already_applied, IsEmpty());
  EXPECT_THAT(report.pending, IsEmpty());
  EXPECT_THAT(report.unknown, IsEmpty());
  EXPECT_EQ(report.applied.front().name, "001_change_log_contract");

  for (const char* table : {"core.tb_entity_change_log", "observer_checkpoints", "observer_checkpoints_history",
                            "observer_leases", "observer_jobs", "observer_dead_letters"}) {
    EXPECT_EQ(Scalar(conn, "SELECT to_regclass('" + std::string(table) + "') IS NOT NULL"), "t") << table;
  }
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM pg_proc WHERE proname IN "
                         "('fn_observer_attach', 'fn_observer_detach', 'fn_entity_change_log_capture')"),
            "3");
  // Each recorded with the embedded checksum.
  for (const Migration& migration : EmbeddedMigrations()) {
    EXPECT_EQ(Scalar(conn, "SELECT name || ' ' || checksum FROM observer_schema_migrations WHERE version = " +
                               std::to_string(migration.version)),
              std::string(migration.name) + " " + std::string(migration.checksum));
  }
  Result<std::vector<int>> pending = PendingMigrations(conn);
  ASSERT_TRUE(pending) << pending.error().message;
  EXPECT_THAT(*pending, IsEmpty());
}

TEST(Migrations, SecondRunAppliesNothing) {
  ScratchDatabase db("migtwice");
  PgConnection conn = db.Connect();
  MustApply(conn);
  const std::string applied_at = Scalar(conn, "SELECT max(applied_at)::text FROM observer_schema_migrations");

  const MigrationReport again = MustApply(conn);
  EXPECT_THAT(again.applied, IsEmpty());
  EXPECT_EQ(Versions(again.already_applied), AllVersions());
  EXPECT_THAT(again.pending, IsEmpty());
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM observer_schema_migrations"), std::to_string(AllVersions().size()));
  EXPECT_EQ(Scalar(conn, "SELECT max(applied_at)::text FROM observer_schema_migrations"), applied_at);
}

TEST(Migrations, PendingMigrationsOfAnUnmigratedDatabaseAreAllAndCreateNothing) {
  ScratchDatabase db("migpending");
  PgConnection conn = db.Connect();
  Result<std::vector<int>> pending = PendingMigrations(conn);
  ASSERT_TRUE(pending) << pending.error().message;
  EXPECT_EQ(*pending, AllVersions());
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('observer_schema_migrations') IS NULL"), "t");
}

TEST(Migrations, DryRunChangesNothing) {
  ScratchDatabase db("migdry");
  PgConnection conn = db.Connect();
  // The first two applied for real, the rest left for the dry run to find.
  const std::span<const Migration> all = EmbeddedMigrations();
  ASSERT_TRUE(ApplyMigrations(conn, all.first(2), MigrationMode::kApply));
  const std::string tables_before = Scalar(conn, "SELECT count(*) FROM pg_class");

  Result<MigrationReport> report = ApplyMigrations(conn, MigrationMode::kDryRun);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->mode, MigrationMode::kDryRun);
  EXPECT_EQ(Versions(report->already_applied), (std::vector<int>{1, 2}));
  EXPECT_THAT(report->applied, IsEmpty());
  const std::vector<int> all_versions = AllVersions();
  EXPECT_EQ(Versions(report->pending), std::vector<int>(all_versions.begin() + 2, all_versions.end()));
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('observer_jobs') IS NULL"), "t");
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM observer_schema_migrations"), "2");
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM pg_class"), tables_before);
}

TEST(Migrations, DryRunOnAFreshDatabaseDoesNotEvenCreateTheMigrationsTable) {
  ScratchDatabase db("migdryfresh");
  PgConnection conn = db.Connect();
  Result<MigrationReport> report = ApplyMigrations(conn, MigrationMode::kDryRun);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(Versions(report->pending), AllVersions());
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('observer_schema_migrations') IS NULL"), "t");
  EXPECT_EQ(Scalar(conn, "SELECT to_regnamespace('core') IS NULL"), "t");
}

TEST(Migrations, PreExistingFraiseqlChangeLogGetsTheMissingColumnsAndKeepsItsRows) {
  ScratchDatabase db("migfraiseql");
  PgConnection conn = db.Connect();
  // A FraiseQL change log of an older contract: a few columns, and one row already in it.
  Exec(conn, "CREATE SCHEMA core");
  Exec(conn,
      "CREATE TABLE core.tb_entity_change_log ("
      " pk_entity_change_log BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      " object_type TEXT NOT NULL, modification_type TEXT NOT NULL,"
      " id UUID NOT NULL DEFAULT gen_random_uuid(), created_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
      " object_id UUID, object_data JSONB)");
  Exec(conn, "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, object_data) "
            "VALUES ('Order', 'INSERT', '" + std::string(kUuidA) + "', '{\"total\": 42}')");
  const std::string event_id = Scalar(conn, "SELECT id FROM core.tb_entity_change_log");

  MustApply(conn);

  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM core.tb_entity_change_log"), "1");
  EXPECT_EQ(Scalar(conn, "SELECT id::text || ' ' || object_type || ' ' || modification_type || ' ' || "
                         "object_id::text || ' ' || object_data::text FROM core.tb_entity_change_log"),
            event_id + " Order INSERT " + std::string(kUuidA) + " {\"total\": 42}");
  // The old row has a txid (the migration's) and a seq; every contract column is there.
  EXPECT_EQ(Scalar(conn, "SELECT txid IS NOT NULL AND txid > '0' AND seq IS NOT NULL FROM core.tb_entity_change_log"),
            "t");
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'core' "
                         "AND table_name = 'tb_entity_change_log' AND column_name IN ('tenant_id', "
                         "'object_data_before', 'updated_fields', 'cascade', 'trace_context', 'nats_event_id', "
                         "'acting_for', 'txid', 'seq')"),
            "9");
  // A row written later has a later txid: the reader reads the old one first.
  Exec(conn, "INSERT INTO core.tb_entity_change_log (object_type, modification_type) VALUES ('Order', 'CUSTOM')");
  EXPECT_EQ(Scalar(conn, "SELECT (SELECT txid FROM core.tb_entity_change_log WHERE modification_type = 'INSERT') < "
                         "(SELECT txid FROM core.tb_entity_change_log WHERE modification_type = 'CUSTOM')"),
            "t");
}

TEST(Migrations, TamperedChecksumIsReportedAndNothingIsApplied) {
  ScratchDatabase db("migtamper");
  PgConnection conn = db.Connect();
  const std::span<const Migration> all = EmbeddedMigrations();
  ASSERT_TRUE(ApplyMigrations(conn, all.first(2), MigrationMode::kApply));
  Exec(conn, "UPDATE observer_schema_migrations SET checksum = 'deadbeef' WHERE version = 2");

  Result<MigrationReport> report = ApplyMigrations(conn, MigrationMode::kApply);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(report.error().message, HasSubstr("migration 002_change_log_capture was applied with checksum deadbeef"));
  EXPECT_THAT(report.error().message, HasSubstr("edited"));
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('observer_jobs') IS NULL"), "t");  // 003, 004 not applied

  Result<MigrationReport> dry = ApplyMigrations(conn, MigrationMode::kDryRun);
  ASSERT_FALSE(dry);
  EXPECT_EQ(dry.error().code, ErrorCode::kFailedPrecondition);
  Result<std::vector<int>> pending = PendingMigrations(conn);
  ASSERT_FALSE(pending);
  EXPECT_THAT(pending.error().message, HasSubstr("002_change_log_capture"));
}

TEST(Migrations, EditedMigrationTextIsReported) {
  ScratchDatabase db("migedited");
  PgConnection conn = db.Connect();
  const std::array<Migration, 1> original = {{{1, "001_demo", "CREATE TABLE demo (a int);", "aaa"}}};
  const std::array<Migration, 2> edited = {{{1, "001_demo", "CREATE TABLE demo (a int, b int);", "bbb"},
                                            {2, "002_more", "CREATE TABLE more (a int);", "ccc"}}};
  ASSERT_TRUE(ApplyMigrations(conn, original, MigrationMode::kApply));
  Result<MigrationReport> report = ApplyMigrations(conn, edited, MigrationMode::kApply);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(report.error().message, HasSubstr("001_demo"));
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('more') IS NULL"), "t");
}

TEST(Migrations, FailingMigrationIsRolledBackAndLaterOnesWait) {
  ScratchDatabase db("migfail");
  PgConnection conn = db.Connect();
  const std::array<Migration, 3> broken = {{{1, "001_a", "CREATE TABLE a (x int);", "1"},
                                            {2, "002_b", "CREATE TABLE b (x int);\nCREAT TABLE oops;", "2"},
                                            {3, "003_c", "CREATE TABLE c (x int);", "3"}}};
  Result<MigrationReport> report = ApplyMigrations(conn, broken, MigrationMode::kApply);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(report.error().message, HasSubstr("migration 002_b failed and was rolled back: SQLSTATE 42601"));
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('a') IS NOT NULL"), "t");
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('b') IS NULL"), "t");  // its first statement undone too
  EXPECT_EQ(Scalar(conn, "SELECT to_regclass('c') IS NULL"), "t");
  EXPECT_EQ(Scalar(conn, "SELECT string_agg(version::text, ',') FROM observer_schema_migrations"), "1");
  // The connection is usable afterwards (the failed transaction was rolled back).
  EXPECT_EQ(Scalar(conn, "SELECT 1"), "1");

  const std::array<Migration, 3> fixed = {{broken[0],
                                           {2, "002_b", "CREATE TABLE b (x int);", "2"},
                                           broken[2]}};
  Result<MigrationReport> retry = ApplyMigrations(conn, fixed, MigrationMode::kApply);
  ASSERT_TRUE(retry) << retry.error().message;
  EXPECT_EQ(Versions(retry->applied), (std::vector<int>{2, 3}));
  EXPECT_EQ(Versions(retry->already_applied), (std::vector<int>{1}));
}

TEST(Migrations, VersionsOutOfOrderAreRejected) {
  ScratchDatabase db("migorder");
  PgConnection conn = db.Connect();
  const std::array<Migration, 2> unordered = {{{2, "002_b", "SELECT 1;", "2"}, {1, "001_a", "SELECT 1;", "1"}}};
  Result<MigrationReport> report = ApplyMigrations(conn, unordered, MigrationMode::kApply);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
}

TEST(Migrations, RecordedVersionUnknownToThisBinaryIsReported) {
  ScratchDatabase db("migunknown");
  PgConnection conn = db.Connect();
  MustApply(conn);
  Exec(conn, "INSERT INTO observer_schema_migrations (version, name, checksum) VALUES (999, '999_future', 'x')");
  const MigrationReport report = MustApply(conn);
  EXPECT_THAT(report.unknown, ElementsAre(MigrationRef{999, "999_future"}));
  EXPECT_THAT(report.applied, IsEmpty());
  Result<std::vector<int>> pending = PendingMigrations(conn);
  ASSERT_TRUE(pending) << pending.error().message;
  EXPECT_THAT(*pending, IsEmpty());
}

// Runs kMigrators ApplyMigrations at once on `db` and checks that all succeed and that each
// migration was applied by exactly one of them.
void RunConcurrentMigrators(const ScratchDatabase& db) {
  constexpr int kMigrators = 4;
  std::vector<PgConnection> connections;
  for (int i = 0; i < kMigrators; ++i) connections.push_back(db.Connect());
  std::vector<std::optional<Result<MigrationReport>>> reports(kMigrators);
  std::latch start(kMigrators);
  {
    std::vector<std::jthread> migrators;
    for (int i = 0; i < kMigrators; ++i) {
      migrators.emplace_back([&, i] {
        start.arrive_and_wait();  // all at once, to contend for the table and the lock
        reports[static_cast<size_t>(i)] = ApplyMigrations(connections[static_cast<size_t>(i)], MigrationMode::kApply);
      });
    }
  }
  std::multiset<int> applied;
  for (const auto& report : reports) {
    ASSERT_TRUE(report.has_value());
    ASSERT_TRUE(*report) << report->error().message;
    for (const MigrationRef& ref : (*report)->applied) applied.insert(ref.version);
    EXPECT_EQ((*report)->applied.size() + (*report)->already_applied.size(), AllVersions().size());
    EXPECT_THAT((*report)->pending, IsEmpty());
  }
  const std::vector<int> all = AllVersions();
  EXPECT_EQ(applied, std::multiset<int>(all.begin(), all.end()));  // each exactly once, in total
  PgConnection conn = db.Connect();
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM observer_schema_migrations"), std::to_string(all.size()));
}

TEST(Migrations, ConcurrentMigratorsAllSucceedAndApplyEachMigrationOnce) {
  ScratchDatabase db("migconcurrent");
  RunConcurrentMigrators(db);
}

TEST(Migrations, ConcurrentMigratorsAlsoSerializeUnderARepeatableReadDefault) {
  // With this default, a transaction's snapshot would be taken by the statement that waits for
  // the lock, hiding what the migrator it waited for committed; the runner asks for READ
  // COMMITTED itself.
  ScratchDatabase db("migconcurrentrr");
  db.Execute("ALTER DATABASE " + db.name() + " SET default_transaction_isolation = 'repeatable read'");
  RunConcurrentMigrators(db);
}

// --- what the migrations install: capture trigger, NOTIFY ----------------------------------

class ChangeLogCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    MustApply(conn_);
    Exec(conn_, "CREATE TABLE public.orders (id UUID PRIMARY KEY, tenant_id UUID, total INT)");
  }

  void Attach(bool pre_image) {
    const std::optional<std::string> params[] = {"public.orders", "Order", "id", pre_image ? "true" : "false"};
    Result<PgResult> attached =
        conn_.Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", params);
    ASSERT_TRUE(attached) << attached.error().message;
  }

  // modification_type, object_id, object_data->total, object_data_before->total, tenant_id,
  // extra_metadata->cdc_source of every change-log row, in order.
  std::vector<std::string> ChangeLog() {
    Result<PgResult> rows = conn_.Execute(
        "SELECT concat_ws(' ', modification_type, object_type, object_id, coalesce(object_data->>'total', '-'), "
        "coalesce(object_data_before->>'total', '-'), coalesce(tenant_id::text, '-'), "
        "extra_metadata->>'cdc_source', txid IS NOT NULL) "
        "FROM core.tb_entity_change_log ORDER BY pk_entity_change_log");
    std::vector<std::string> lines;
    if (!rows) {
      ADD_FAILURE() << rows.error().message;
      return lines;
    }
    for (size_t row = 0; row < rows->rows(); ++row) lines.emplace_back(rows->Get(row, 0).value_or(""));
    return lines;
  }

  void InsertUpdateDelete() {
    Exec(conn_, "INSERT INTO orders VALUES ('" + std::string(kUuidA) + "', '" + std::string(kTenant) + "', 1)");
    Exec(conn_, "UPDATE orders SET total = 2");
    Exec(conn_, "DELETE FROM orders");
  }

  ScratchDatabase db_{"migcapture"};
  PgConnection conn_ = db_.Connect();
};

TEST_F(ChangeLogCapture, InsertUpdateDeleteAreRecordedWithoutPreImage) {
  Attach(/*pre_image=*/false);
  InsertUpdateDelete();
  const std::string id(kUuidA);
  const std::string tenant(kTenant);
  EXPECT_THAT(ChangeLog(), ElementsAre("INSERT Order " + id + " 1 - " + tenant + " fallback_trigger t",
                                       "UPDATE Order " + id + " 2 - " + tenant + " fallback_trigger t",
                                       "DELETE Order " + id + " - - " + tenant + " fallback_trigger t"));
}

TEST_F(ChangeLogCapture, PreImageIsRecordedWhenAsked) {
  Attach(/*pre_image=*/true);
  InsertUpdateDelete();
  const std::string id(kUuidA);
  const std::string tenant(kTenant);
  EXPECT_THAT(ChangeLog(), ElementsAre("INSERT Order " + id + " 1 - " + tenant + " fallback_trigger t",
                                       "UPDATE Order " + id + " 2 1 " + tenant + " fallback_trigger t",
                                       "DELETE Order " + id + " - 2 " + tenant + " fallback_trigger t"));
}

TEST_F(ChangeLogCapture, OneStatementOfManyRowsRecordsEveryRowWithTheWritersTxid) {
  Attach(/*pre_image=*/false);
  Exec(conn_, "INSERT INTO orders VALUES ('" + std::string(kUuidA) + "', NULL, 1), ('" + std::string(kUuidB) +
                 "', NULL, 2)");
  EXPECT_EQ(Scalar(conn_, "SELECT count(*) FROM core.tb_entity_change_log"), "2");
  EXPECT_EQ(Scalar(conn_, "SELECT count(DISTINCT txid) FROM core.tb_entity_change_log"), "1");
}

TEST_F(ChangeLogCapture, RowsWithANonUuidPrimaryKeyAreNotCaptured) {
  Exec(conn_, "CREATE TABLE public.tags (id TEXT PRIMARY KEY, label TEXT)");
  const std::optional<std::string> params[] = {"public.tags", "Tag", "id", "false"};
  ASSERT_TRUE(conn_.Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", params));
  Exec(conn_, "INSERT INTO tags VALUES ('not-a-uuid', 'x'), ('" + std::string(kUuidA) + "', 'y')");
  EXPECT_EQ(Scalar(conn_, "SELECT string_agg(object_id::text, ',') FROM core.tb_entity_change_log"),
            std::string(kUuidA));
}

TEST_F(ChangeLogCapture, CdcMediatedWritesAreNotCapturedTwice) {
  Attach(/*pre_image=*/false);
  // FraiseQL's executor sets this (transaction-local) when it writes the change log itself.
  Exec(conn_, "BEGIN");
  Exec(conn_, "SET LOCAL fraiseql.cdc_mediated = 'on'");
  Exec(conn_, "INSERT INTO orders VALUES ('" + std::string(kUuidA) + "', NULL, 1)");
  Exec(conn_, "COMMIT");
  EXPECT_THAT(ChangeLog(), IsEmpty());
  Exec(conn_, "INSERT INTO orders VALUES ('" + std::string(kUuidB) + "', NULL, 1)");  // GUC gone again
  EXPECT_EQ(ChangeLog().size(), 1u);
}

TEST_F(ChangeLogCapture, TenantFallsBackToTheGucWhenTheRowHasNone) {
  Attach(/*pre_image=*/false);
  Exec(conn_, "BEGIN");
  Exec(conn_, "SET LOCAL fraiseql.tenant_id = '" + std::string(kTenant) + "'");
  Exec(conn_, "INSERT INTO orders VALUES ('" + std::string(kUuidA) + "', NULL, 1)");
  Exec(conn_, "COMMIT");
  EXPECT_EQ(Scalar(conn_, "SELECT tenant_id::text FROM core.tb_entity_change_log"), std::string(kTenant));
}

TEST_F(ChangeLogCapture, DetachRemovesTheTriggers) {
  Attach(/*pre_image=*/false);
  const std::optional<std::string> table = "public.orders";
  EXPECT_EQ(Scalar(conn_, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.orders'::regclass"), "3");
  Result<PgResult> detached = conn_.Execute("SELECT core.fn_observer_detach($1::regclass)", PgParams(&table, 1));
  ASSERT_TRUE(detached) << detached.error().message;
  EXPECT_EQ(detached->Get(0, 0), "t");
  EXPECT_EQ(Scalar(conn_, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.orders'::regclass"), "0");
  InsertUpdateDelete();
  EXPECT_THAT(ChangeLog(), IsEmpty());
  Result<PgResult> again = conn_.Execute("SELECT core.fn_observer_detach($1::regclass)", PgParams(&table, 1));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->Get(0, 0), "f");
}

TEST_F(ChangeLogCapture, AttachRefusesAnOlderContractThatWouldBreakWrites) {
  // acting_for BIGINT (FraiseQL before its migration 08 retyped it): the trigger's uuid would
  // fail every write to the application table, so attaching is refused instead.
  Exec(conn_, "ALTER TABLE core.tb_entity_change_log DROP COLUMN acting_for");
  Exec(conn_, "ALTER TABLE core.tb_entity_change_log ADD COLUMN acting_for BIGINT");
  const std::optional<std::string> params[] = {"public.orders", "Order", "id", "false"};
  Result<PgResult> attached = conn_.Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", params);
  ASSERT_FALSE(attached);
  EXPECT_THAT(attached.error().message, HasSubstr("acting_for is bigint"));
  EXPECT_EQ(Scalar(conn_, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.orders'::regclass"), "0");
}

TEST_F(ChangeLogCapture, AttachToAMissingTableOrColumnFailsClearly) {
  const std::optional<std::string> missing_table[] = {"public.nosuch", "Order", "id", "false"};
  Result<PgResult> no_table =
      conn_.Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", missing_table);
  ASSERT_FALSE(no_table);
  EXPECT_EQ(SqlStateOf(no_table.error()), "42P01");
  EXPECT_THAT(no_table.error().message, HasSubstr("public.nosuch"));

  const std::optional<std::string> missing_column[] = {"public.orders", "Order", "uid", "false"};
  Result<PgResult> no_column =
      conn_.Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", missing_column);
  ASSERT_FALSE(no_column);
  EXPECT_EQ(SqlStateOf(no_column.error()), "42703");
  EXPECT_THAT(no_column.error().message, HasSubstr("has no column uid"));
}

// --- the capture trigger as 006 rewrote it for speed writes what 002 wrote ------------------

std::string_view MigrationSql(std::string_view name) {
  for (const Migration& migration : EmbeddedMigrations()) {
    if (migration.name == name) return migration.sql;
  }
  ADD_FAILURE() << "no embedded migration " << name;
  return "";
}

// Keys and tenants of every shape 002's pattern decides on: a uuid changed at each position to
// each of these characters, one inserted at each position, and other near misses. The LIKE
// wildcards and multibyte characters are there because 006 tests the shape with LIKE.
constexpr std::string_view kUuidCandidatesSql = R"sql(
  WITH base AS (SELECT '6f1c2d3e-4a5b-4c6d-8e7f-00112233AAff'::text AS u),
       chars AS (SELECT unnest(ARRAY['0', '9', 'a', 'f', 'A', 'F', 'g', 'G', '-', '_', '%', ' ', E'\n',
                                     '{', '}', 'é', 'Ａ', '٣', '']) AS c)
  SELECT overlay(u PLACING c FROM p FOR 1) FROM base, chars, generate_series(1, 36) p
  UNION SELECT substr(u, 1, p - 1) || c || substr(u, p) FROM base, chars, generate_series(1, 37) p
  UNION SELECT u || E'\n' FROM base UNION SELECT '{' || u || '}' FROM base
  UNION SELECT replace(u, '-', '') FROM base UNION SELECT repeat('-', 36)
  UNION SELECT '________-____-____-____-____________' UNION SELECT '%%%%%%%%-%%%%-%%%%-%%%%-%%%%%%%%%%%%'
  UNION SELECT '')sql";

constexpr std::string_view kUuidPattern002 =
    "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'";

TEST_F(ChangeLogCapture, KeysAndTenantsAreTakenExactlyWhen002sUuidPatternMatches) {
  Exec(conn_, "CREATE TABLE public.keyed (id TEXT PRIMARY KEY, tenant_id TEXT)");
  const std::optional<std::string> params[] = {"public.keyed", "Keyed", "id", "true"};
  ASSERT_TRUE(conn_.Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", params));
  // Each candidate once as the key, and once as the tenant of a row with a valid key.
  Exec(conn_, "INSERT INTO keyed SELECT c, NULL FROM (" + std::string(kUuidCandidatesSql) + ") s(c)");
  Exec(conn_, "INSERT INTO keyed SELECT gen_random_uuid()::text, c FROM (" + std::string(kUuidCandidatesSql) +
                  ") s(c)");
  Exec(conn_, "UPDATE keyed SET tenant_id = tenant_id");
  Exec(conn_, "DELETE FROM keyed");
  const std::string p(kUuidPattern002);
  for (const std::string op : {"INSERT", "UPDATE", "DELETE"}) {
    SCOPED_TRACE(op);
    const std::string log = "(SELECT * FROM core.tb_entity_change_log WHERE modification_type = '" + op + "')";
    const std::string row = op == "DELETE" ? "l.object_data_before" : "l.object_data";
    // Every key the pattern accepts is recorded once, none other.
    EXPECT_EQ(Scalar(conn_, "SELECT count(*) FROM " + log + " l WHERE NOT " + row + "->>'id' ~ " + p), "0");
    EXPECT_EQ(Scalar(conn_, "SELECT count(*) - count(DISTINCT " + row + "->>'id') FROM " + log + " l"), "0");
    EXPECT_EQ(Scalar(conn_, "SELECT count(*) FROM " + log + " l"),
              Scalar(conn_, "SELECT count(*) + (SELECT count(*) FROM (" + std::string(kUuidCandidatesSql) +
                                ") s(c) WHERE c ~ " + p + ") FROM (" + std::string(kUuidCandidatesSql) + ") s(c)"));
    // The row's tenant is taken when the pattern accepts it (it is never NULL here: no setting).
    EXPECT_EQ(Scalar(conn_, "SELECT count(*) FROM " + log + " l WHERE tenant_id IS DISTINCT FROM CASE WHEN " + row +
                                "->>'tenant_id' ~ " + p + " THEN (" + row + "->>'tenant_id')::uuid END"),
              "0");
  }
  // The candidates hold both kinds, many of each.
  EXPECT_EQ(Scalar(conn_, "SELECT count(*) FILTER (WHERE c ~ " + p + ") > 20 AND count(*) FILTER (WHERE NOT c ~ " +
                              p + ") > 500 FROM (" + std::string(kUuidCandidatesSql) + ") s(c)"),
            "t");
}

// Inserts, updates (one of them of the key) and deletes rows of text keys and tenants valid,
// in upper case and not uuids at all, with and without the fraiseql.* settings.
constexpr std::string_view kCaptureScenarioSql = R"sql(
  INSERT INTO items VALUES
    ('6f1c2d3e-4a5b-4c6d-8e7f-001122334455', '11111111-2222-4333-8444-555555555555', 1, '{"a": [1, 2]}'),
    ('6F1C2D3E-4A5B-4C6D-8E7F-0011223344AA', 'not-a-tenant', 2, NULL),
    ('{6f1c2d3e-4a5b-4c6d-8e7f-001122334466}', NULL, 3, '[]'),
    ('6f1c2d3e4a5b4c6d8e7f001122334477', NULL, 4, NULL),
    ('not-a-uuid', NULL, 5, NULL),
    ('6f1c2d3e-4a5b-4c6d-8e7f-00112233448-', NULL, 6, NULL),
    ('6f1c2d3e-4a5b-4c6d-8e7f-001122334499', '11111111-2222-4333-8444-55555555555G', 7, '"s"');
  BEGIN;
  SET LOCAL fraiseql.tenant_id = '99999999-2222-4333-8444-555555555555';
  SET LOCAL fraiseql.actor_type = 'user';
  SET LOCAL fraiseql.acting_for = 'not-a-uuid';
  SET LOCAL fraiseql.schema_version = 'v7';
  INSERT INTO items VALUES ('6f1c2d3e-4a5b-4c6d-8e7f-0011223344bb', NULL, 8, NULL),
                           ('7f1c2d3e-4a5b-4c6d-8e7f-0011223344bb', '11111111-2222-4333-8444-555555555555', 9, NULL);
  UPDATE items SET total = total + 10 WHERE total % 2 = 0;
  COMMIT;
  BEGIN;
  SET LOCAL fraiseql.acting_for = 'aaaaaaaa-2222-4333-8444-555555555555';
  UPDATE items SET id = upper(id) WHERE total = 1;
  DELETE FROM items WHERE total > 5;
  COMMIT;
  BEGIN;
  SET LOCAL fraiseql.cdc_mediated = 'on';
  DELETE FROM items;
  COMMIT;)sql";

TEST_F(ChangeLogCapture, WritesTheRowsMigration002Wrote) {
  Exec(conn_, "CREATE TABLE public.items (id TEXT PRIMARY KEY, tenant_id TEXT, total INT, note JSONB)");
  // Every column but those that differ on every run (keys, sequence, clocks, transaction ids).
  const std::string rows =
      "SELECT count(*) || E'\\n' || string_agg(r, E'\\n' ORDER BY r) FROM (SELECT (to_jsonb(l) - "
      "ARRAY['pk_entity_change_log', 'id', 'created_at', 'commit_time', 'seq', 'txid'])::text AS r "
      "FROM core.tb_entity_change_log l) s";
  for (const std::string pre_image : {"false", "true"}) {
    SCOPED_TRACE("pre-image " + pre_image);
    const std::optional<std::string> params[] = {"public.items", "Item", "id", pre_image};
    ASSERT_TRUE(conn_.Execute("SELECT core.fn_observer_attach($1::regclass, $2, $3, $4::boolean)", params));
    ASSERT_TRUE(conn_.ExecuteScript(MigrationSql("006_capture_trigger_speed")));
    Exec(conn_, "TRUNCATE items, core.tb_entity_change_log");
    Result<void> ran = conn_.ExecuteScript(kCaptureScenarioSql);
    ASSERT_TRUE(ran) << ran.error().message;
    const std::string now = Scalar(conn_, rows);

    ASSERT_TRUE(conn_.ExecuteScript(MigrationSql("002_change_log_capture")));
    Exec(conn_, "TRUNCATE items, core.tb_entity_change_log");
    ran = conn_.ExecuteScript(kCaptureScenarioSql);
    ASSERT_TRUE(ran) << ran.error().message;
    const std::string as_002 = Scalar(conn_, rows);

    // 3 + 2 inserted, 2 + 1 updated, 4 deleted have a uuid key (the last delete is mediated).
    EXPECT_TRUE(now.starts_with("12\n")) << now;
    EXPECT_EQ(now, as_002);
  }
}

// Waits for a notification on `conn` until `deadline`, consuming input as it arrives.
std::optional<std::string> WaitForNotification(PgConnection& conn, std::chrono::steady_clock::time_point deadline) {
  PGconn* native = conn.native();
  while (true) {
    if (PQconsumeInput(native) == 0) {
      ADD_FAILURE() << "PQconsumeInput: " << PQerrorMessage(native);
      return std::nullopt;
    }
    if (PGnotify* notify = PQnotifies(native)) {
      std::string channel = notify->relname;
      PQfreemem(notify);
      return channel;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) return std::nullopt;
    pollfd fd{PQsocket(native), POLLIN, 0};
    poll(&fd, 1, static_cast<int>(left.count()));
  }
}

TEST_F(ChangeLogCapture, CommittedInsertNotifiesListeners) {
  PgConnection listener = db_.Connect();
  Exec(listener, "LISTEN fraiseql_observer_change_log");
  Attach(/*pre_image=*/false);
  Exec(conn_, "BEGIN");
  Exec(conn_, "INSERT INTO orders VALUES ('" + std::string(kUuidA) + "', NULL, 1)");
  // Not before the commit: NOTIFY is delivered at commit. (Checked without waiting: whatever
  // has arrived by now is all there could be, since the writer has not committed.)
  ASSERT_EQ(PQconsumeInput(listener.native()), 1);
  EXPECT_EQ(PQnotifies(listener.native()), nullptr);
  Exec(conn_, "COMMIT");
  EXPECT_EQ(WaitForNotification(listener, std::chrono::steady_clock::now() + std::chrono::seconds(10)),
            "fraiseql_observer_change_log");
}

}  // namespace
}  // namespace fraiseql
