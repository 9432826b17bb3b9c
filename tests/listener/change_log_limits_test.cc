// Change-log rows over the parser limits (issue 10, section 4), on the real server: the reader
// refuses them before parsing, naming the row's pk, the column and the byte offset; the listener
// dead-letters them like any unreadable row and delivers their neighbours. PostgreSQL itself stores
// jsonb only about 10,000 levels deep (its parser recurses under max_stack_depth), so the deepest
// rows here are 10,000 levels; deeper input is tested where it can arrive (tests/common,
// tests/cli).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/json_limits.h"
#include "listener/change_log_reader.h"
#include "listener/listener.h"
#include "listener/postgres_change_log.h"
#include "listener/postgres_hand_off.h"
#include "listener/postgres_lease.h"
#include "listener_observers.h"
#include "listener_test_util.h"
#include "matcher/matcher.h"

namespace fraiseql::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::chrono::milliseconds;

std::string NestedArrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// Inserts a row whose columns are set by SQL expressions (built on the server: a 64 MiB value
// need not travel twice).
int64_t InsertWith(PgConnection& conn, int n, std::string_view object_data_sql,
                   std::string_view object_type_sql = "'Order'", std::string_view before_sql = "NULL") {
  return std::stoll(Scalar(conn, "INSERT INTO core.tb_entity_change_log (object_type, modification_type, object_id, "
                                 "object_data, object_data_before) VALUES (" +
                                     std::string(object_type_sql) + ", 'INSERT', '" + EntityUuid(n) + "', " +
                                     std::string(object_data_sql) + ", " + std::string(before_sql) +
                                     ") RETURNING pk_entity_change_log"));
}

std::string Jsonb(const std::string& text) { return "'" + text + "'::jsonb"; }

TEST(ChangeLogLimits, TheReaderRefusesRowsOverTheLimitsNamingPkColumnAndOffset) {
  MigratedDatabase database{"limits"};
  PgConnection conn = database.Connect();
  const int64_t at_limit = InsertWith(conn, 1, Jsonb("{\"n\": " + NestedArrays(kDefaultJsonMaxDepth - 1) + "}"));
  const int64_t one_over = InsertWith(conn, 2, Jsonb("{\"n\": " + NestedArrays(kDefaultJsonMaxDepth) + "}"));
  const int64_t deepest = InsertWith(conn, 3, Jsonb(NestedArrays(10'000)));
  const int64_t deep_before = InsertWith(conn, 4, "'{}'", "'Order'", Jsonb(NestedArrays(kDefaultJsonMaxDepth + 1)));
  const int64_t long_type = InsertWith(conn, 5, "'{}'", "repeat('O', " + std::to_string(kMaxTextColumnBytes + 1) + ")");
  const int64_t good = InsertOrder(conn, 6);

  ChangeLogReader reader = ChangeLogReader::Create(conn, "core.tb_entity_change_log").value();
  std::vector<ChangeLogEntry> entries;
  ASSERT_TRUE(PollUntil([&] {
    entries = reader.ReadBatch(conn, {}, ReadLimits{100}).value();
    return entries.size() >= 6;
  }));
  ASSERT_EQ(entries.size(), 6u);

  ASSERT_TRUE(entries[0].row) << entries[0].row.error().message;
  EXPECT_EQ(entries[0].position.pk, at_limit);
  EXPECT_EQ(entries[0].row->object_data["n"].dump(), NestedArrays(kDefaultJsonMaxDepth - 1));

  // {"n": [[... : the object is level 1, the 128th [ is level 129, at byte 6 + 127 (jsonb writes
  // `{"n": ` with one blank).
  ASSERT_FALSE(entries[1].row);
  EXPECT_EQ(entries[1].row.error().message,
            "change-log row " + std::to_string(one_over) +
                ": object_data: JSON nests deeper than 128 levels of arrays and objects (at byte offset 133)");
  EXPECT_EQ(entries[1].raw["object_data"], "{\"n\": " + NestedArrays(kDefaultJsonMaxDepth) + "}");
  EXPECT_EQ(entries[1].raw["object_type"], "Order");

  ASSERT_FALSE(entries[2].row);
  EXPECT_THAT(entries[2].row.error().message,
              HasSubstr("change-log row " + std::to_string(deepest) + ": object_data: JSON nests deeper than 128"));
  EXPECT_EQ(entries[2].position.pk, deepest);

  ASSERT_FALSE(entries[3].row);
  EXPECT_THAT(entries[3].row.error().message,
              HasSubstr("change-log row " + std::to_string(deep_before) + ": object_data_before: JSON nests deeper"));

  ASSERT_FALSE(entries[4].row);
  EXPECT_EQ(entries[4].row.error().message, "change-log row " + std::to_string(long_type) + ": object_type is 65537 " +
                                                "bytes, over the limit of 65536 bytes");
  // The dead letter keeps the start of an oversized column, and says how long it was.
  const std::string kept = entries[4].raw["object_type"].get<std::string>();
  EXPECT_EQ(kept, std::string(1024, 'O') + "... (65537 bytes in all, over the limit: read the row by its pk)");

  ASSERT_TRUE(entries[5].row);
  EXPECT_EQ(entries[5].position.pk, good);
}

// One process's listener on the PostgreSQL backends, handing over to the job table.
class ListenerOnLimits : public ::testing::Test {
 protected:
  ListenerOnLimits() : config_(ListenerObserversConfig()), index_(config_.observers), conn_(database_.Connect()) {}

  std::unique_ptr<Listener> Start() {
    PostgresChangeLogOptions log_options;
    log_options.database_url = database_.url();
    log_options.listener_id = "main";
    change_log_ = PostgresChangeLog::Create(log_options, RealClock()).value();
    PostgresHandOffOptions hand_off_options;
    hand_off_options.database_url = database_.url();
    hand_off_options.listener_id = "main";
    hand_off_ = std::make_unique<PostgresHandOff>(hand_off_options, nullptr);
    ListenerOptions options;
    options.listener_id = "main";
    options.holder = "holder-a";
    options.poll_interval = milliseconds(200);
    options.lease_ttl = milliseconds(3000);
    options.retry_backoff_min = milliseconds(20);
    options.retry_backoff_max = milliseconds(200);
    std::unique_ptr<Listener> listener =
        Listener::Create(std::move(options), index_, *change_log_, leases_, *hand_off_, RealClock()).value();
    listener->Start();
    return listener;
  }

  std::vector<int64_t> JobPks() {
    PgResult result = MustExecute(conn_, "SELECT change_log_pk FROM observer_jobs ORDER BY change_log_pk");
    std::vector<int64_t> pks;
    for (size_t row = 0; row < result.rows(); ++row) pks.push_back(std::stoll(std::string(*result.Get(row, 0))));
    return pks;
  }

  MigratedDatabase database_{"limits"};
  Config config_;
  ObserverIndex index_;
  PgConnection conn_;
  PostgresLeaseStore leases_{database_.url()};
  std::unique_ptr<PostgresChangeLog> change_log_;
  std::unique_ptr<PostgresHandOff> hand_off_;
};

TEST_F(ListenerOnLimits, RowsOverTheLimitsAreDeadLetteredAndTheirNeighboursDelivered) {
  const int64_t first = InsertOrder(conn_, 1);
  const int64_t deep = InsertWith(conn_, 2, Jsonb(NestedArrays(10'000)));
  // One byte over 64 MiB of text: {"s": "xxx..."} is 9 bytes around the string.
  const int64_t huge = InsertWith(
      conn_, 3, "jsonb_build_object('s', repeat('x', " + std::to_string(kDefaultJsonMaxBytes - 9 + 1) + "))");
  const int64_t at_limit = InsertWith(conn_, 4, Jsonb("{\"n\": " + NestedArrays(kDefaultJsonMaxDepth - 1) + "}"));
  const int64_t last = InsertOrder(conn_, 5);

  std::unique_ptr<Listener> listener = Start();
  ASSERT_TRUE(PollUntil([&] { return listener->status().position.pk == last; }, std::chrono::seconds(60)));
  listener->Stop();
  EXPECT_THAT(JobPks(), ElementsAre(first, at_limit, last));

  PgResult dead = MustExecute(conn_,
                              "SELECT change_log_pk, reason, entity_type, length(row_data->>'object_data') "
                              "FROM observer_dead_letters ORDER BY change_log_pk");
  ASSERT_EQ(dead.rows(), 2u);
  EXPECT_EQ(dead.Get(0, 0), std::to_string(deep));
  EXPECT_EQ(std::string(*dead.Get(0, 1)),
            "change-log row " + std::to_string(deep) +
                ": object_data: JSON nests deeper than 128 levels of arrays and objects (at byte offset 128)");
  EXPECT_EQ(dead.Get(0, 2), "Order");
  EXPECT_EQ(dead.Get(0, 3), "20000");  // the text as it came, a string in the dead letter
  EXPECT_EQ(dead.Get(1, 0), std::to_string(huge));
  EXPECT_EQ(std::string(*dead.Get(1, 1)), "change-log row " + std::to_string(huge) + ": object_data is 67108865 " +
                                              "bytes, over the limit of 67108864 bytes");
  // Its start only: the dead letter stays small, and the row is still in the change log.
  EXPECT_LT(std::stoll(std::string(*dead.Get(1, 3))), 2048);
  EXPECT_EQ(listener->status().dead_letters, 2u);
}

}  // namespace
}  // namespace fraiseql::testing
