#include "event/entity_event.h"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kRowId = "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17";
constexpr const char* kObjectId = "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26";

ChangeLogRow Row(std::string verb) {
  ChangeLogRow row;
  row.pk = 42;
  row.id = kRowId;
  row.object_type = "Order";
  row.modification_type = std::move(verb);
  row.created_at = "2026-11-29T12:00:00.5Z";
  row.object_id = kObjectId;
  row.object_data = json{{"status", "paid"}, {"total", 100}};
  return row;
}

Timestamp At(int64_t micros_since_epoch) {
  return Timestamp{std::chrono::microseconds(micros_since_epoch)};
}

class FromChangeLogRowTest : public ::testing::Test {
 protected:
  Result<EntityEvent> Convert(const ChangeLogRow& row) { return FromChangeLogRow(row, clock_); }

  FakeClock clock_{std::chrono::system_clock::time_point{std::chrono::seconds(1'800'000'000)}};
};

TEST(EventKindTest, NamesAndParsing) {
  EXPECT_EQ(EventKindName(EventKind::kInsert), "INSERT");
  EXPECT_EQ(EventKindName(EventKind::kUpdate), "UPDATE");
  EXPECT_EQ(EventKindName(EventKind::kDelete), "DELETE");
  EXPECT_EQ(EventKindName(EventKind::kCustom), "CUSTOM");
  EXPECT_EQ(ParseEventKind("insert"), EventKind::kInsert);
  EXPECT_EQ(ParseEventKind("Update"), EventKind::kUpdate);
  EXPECT_EQ(ParseEventKind("DELETE"), EventKind::kDelete);
  EXPECT_EQ(ParseEventKind("cUsToM"), EventKind::kCustom);
  EXPECT_EQ(ParseEventKind("NOOP"), std::nullopt);  // NOOP/READ map only from change-log rows
  EXPECT_EQ(ParseEventKind(""), std::nullopt);
}

TEST_F(FromChangeLogRowTest, VerbsMapCaseInsensitively) {
  const std::pair<const char*, EventKind> kCases[] = {
      {"INSERT", EventKind::kInsert}, {"insert", EventKind::kInsert},
      {"UPDATE", EventKind::kUpdate}, {"Update", EventKind::kUpdate},
      {"DELETE", EventKind::kDelete}, {"delete", EventKind::kDelete},
      {"CUSTOM", EventKind::kCustom}, {"custom", EventKind::kCustom},
      {"NOOP", EventKind::kCustom},   {"noop", EventKind::kCustom},
      {"READ", EventKind::kCustom},   {"Read", EventKind::kCustom},
  };
  for (const auto& [verb, kind] : kCases) {
    Result<EntityEvent> event = Convert(Row(verb));
    ASSERT_TRUE(event) << verb << ": " << event.error().message;
    EXPECT_EQ(event->event_type, kind) << verb;
  }
}

TEST_F(FromChangeLogRowTest, UnknownVerbNamesTheVerbAndTheRow) {
  Result<EntityEvent> event = Convert(Row("UPSERT"));
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(event.error().message,
            "change-log row 42 (id 7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17): unknown "
            "modification_type 'UPSERT' (expected INSERT, UPDATE, DELETE, CUSTOM, NOOP or READ)");
}

TEST_F(FromChangeLogRowTest, EmptyVerbIsAnError) {
  ChangeLogRow row = Row("");
  row.id = "";
  Result<EntityEvent> event = Convert(row);
  ASSERT_FALSE(event);
  EXPECT_THAT(event.error().message, HasSubstr("change-log row 42: unknown modification_type ''"));
}

TEST_F(FromChangeLogRowTest, CopiesIdentityFields) {
  Result<EntityEvent> event = Convert(Row("INSERT"));
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->id, kRowId);
  EXPECT_EQ(event->entity_type, "Order");
  EXPECT_EQ(event->entity_id, kObjectId);
  EXPECT_EQ(event->data, (json{{"status", "paid"}, {"total", 100}}));
  EXPECT_TRUE(event->changes.is_null());
  EXPECT_FALSE(event->has_before_image());
  EXPECT_EQ(event->timestamp, At(1'795'953'600'500'000));
}

TEST_F(FromChangeLogRowTest, NullObjectIdIsAnError) {
  ChangeLogRow row = Row("INSERT");
  row.object_id.reset();
  Result<EntityEvent> event = Convert(row);
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(event.error().message,
            "change-log row 42 (id 7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17): object_id is NULL");
}

TEST_F(FromChangeLogRowTest, NonUuidObjectIdIsAnError) {
  ChangeLogRow row = Row("UPDATE");
  row.object_id = "12345";
  Result<EntityEvent> event = Convert(row);
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().message,
            "change-log row 42 (id 7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17): object_id '12345' is "
            "not a UUID");
}

TEST_F(FromChangeLogRowTest, NonUuidIdIsAnError) {
  ChangeLogRow row = Row("INSERT");
  row.pk = 9;
  row.id = "not-a-uuid";
  Result<EntityEvent> event = Convert(row);
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(event.error().message,
            "change-log row 9 (id not-a-uuid): id 'not-a-uuid' is not a UUID");
}

TEST_F(FromChangeLogRowTest, UuidsAreNormalisedToLowerCase) {
  ChangeLogRow row = Row("INSERT");
  row.id = "7F3C1A52-9B0E-4D2A-8F61-0C5E2B9A4D17";
  row.object_id = "2B1E9C4F-6A3D-4E8B-9C7A-1F0D5E3B8A26";
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->id, kRowId);
  EXPECT_EQ(event->entity_id, kObjectId);
}

TEST_F(FromChangeLogRowTest, InsertWithNullDataKeepsNull) {
  ChangeLogRow row = Row("INSERT");
  row.object_data = nullptr;
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->data.is_null());
}

TEST_F(FromChangeLogRowTest, DeleteDataIsTheBeforeImage) {
  ChangeLogRow row = Row("DELETE");
  row.object_data = nullptr;
  row.object_data_before = json{{"status", "cancelled"}};
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event_type, EventKind::kDelete);
  EXPECT_EQ(event->data, (json{{"status", "cancelled"}}));
  EXPECT_TRUE(event->changes.is_null());
}

TEST_F(FromChangeLogRowTest, DeleteWithoutBeforeImageHasEmptyObject) {
  ChangeLogRow row = Row("DELETE");  // object_data set, but DELETE never reads it
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->data, json::object());
  EXPECT_TRUE(event->changes.is_null());
}

TEST_F(FromChangeLogRowTest, UpdateDiffsChangedAddedAndRemovedFields) {
  ChangeLogRow row = Row("UPDATE");
  row.object_data_before = json{{"status", "pending"}, {"total", 100}, {"note", "rush"}};
  row.object_data = json{{"status", "paid"}, {"total", 100}, {"paid_at", "2026-11-29"}};
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->data, row.object_data);
  EXPECT_TRUE(event->has_before_image());
  EXPECT_EQ(event->changes, (json{
                                {"status", {{"old", "pending"}, {"new", "paid"}}},
                                {"paid_at", {{"old", nullptr}, {"new", "2026-11-29"}}},
                                {"note", {{"old", "rush"}, {"new", nullptr}}},
                            }));
}

TEST_F(FromChangeLogRowTest, UpdateWithNothingChangedHasEmptyDiff) {
  ChangeLogRow row = Row("UPDATE");
  row.object_data_before = row.object_data;
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->changes, json::object());
  EXPECT_TRUE(event->has_before_image());  // {} means tracked, nothing changed
}

TEST_F(FromChangeLogRowTest, UpdateWithoutBeforeImageHasNullChanges) {
  Result<EntityEvent> event = Convert(Row("UPDATE"));
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->changes.is_null());
  EXPECT_FALSE(event->has_before_image());
}

TEST_F(FromChangeLogRowTest, UpdateWithNonObjectImagesHasNullChanges) {
  ChangeLogRow row = Row("UPDATE");
  row.object_data_before = json::array({1, 2});
  Result<EntityEvent> before_array = Convert(row);
  ASSERT_TRUE(before_array);
  EXPECT_TRUE(before_array->changes.is_null());

  row.object_data_before = json{{"status", "pending"}};
  row.object_data = "paid";
  Result<EntityEvent> after_string = Convert(row);
  ASSERT_TRUE(after_string);
  EXPECT_TRUE(after_string->changes.is_null());
  EXPECT_EQ(after_string->data, json("paid"));
}

TEST_F(FromChangeLogRowTest, OnlyUpdateComputesChanges) {
  for (const char* verb : {"INSERT", "CUSTOM", "NOOP"}) {
    ChangeLogRow row = Row(verb);
    row.object_data_before = json{{"status", "pending"}};
    Result<EntityEvent> event = Convert(row);
    ASSERT_TRUE(event);
    EXPECT_TRUE(event->changes.is_null()) << verb;
  }
}

TEST_F(FromChangeLogRowTest, MapsUserTenantAndCdcSource) {
  ChangeLogRow row = Row("INSERT");
  row.fk_contact = 9'007'199'254'740'993;  // above 2^53: must not pass through a double
  row.fk_customer_org = 77;                // not placed on the event
  row.tenant_id = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  row.extra_metadata = json{{"cdc_source", "fallback_trigger"}, {"other", 1}};
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->user_id, "9007199254740993");
  EXPECT_EQ(event->tenant_id, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(event->cdc_source, "fallback_trigger");
}

TEST_F(FromChangeLogRowTest, NegativeContactIdIsRenderedAsDecimal) {
  ChangeLogRow row = Row("INSERT");
  row.fk_contact = -5;
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->user_id, "-5");
}

TEST_F(FromChangeLogRowTest, AbsentOptionalColumnsStayAbsent) {
  ChangeLogRow row = Row("INSERT");
  row.extra_metadata = json{{"cdc_source", 5}};  // not a string: ignored
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->user_id, std::nullopt);
  EXPECT_EQ(event->tenant_id, std::nullopt);
  EXPECT_EQ(event->cdc_source, std::nullopt);
  EXPECT_EQ(event->duration_ms, std::nullopt);
  EXPECT_EQ(event->seq, std::nullopt);
  EXPECT_EQ(event->actor_type, std::nullopt);
  EXPECT_EQ(event->acting_for, std::nullopt);
  EXPECT_EQ(event->schema_version, std::nullopt);
}

TEST_F(FromChangeLogRowTest, CopiesSpineColumns) {
  ChangeLogRow row = Row("INSERT");
  row.duration_ms = 17;
  row.seq = 9'000'000'000;
  row.actor_type = "ai_agent";
  row.acting_for = "c9bf9e57-1685-4c89-bafb-ff5af830be8a";
  row.schema_version = "2026.11";
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->duration_ms, 17);
  EXPECT_EQ(event->seq, 9'000'000'000);
  EXPECT_EQ(event->actor_type, "ai_agent");
  EXPECT_EQ(event->acting_for, "c9bf9e57-1685-4c89-bafb-ff5af830be8a");
  EXPECT_EQ(event->schema_version, "2026.11");
}

TEST_F(FromChangeLogRowTest, NullCreatedAtTakesClockNow) {
  ChangeLogRow row = Row("INSERT");
  row.created_at.reset();
  clock_.Advance(std::chrono::microseconds(1234));
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->timestamp, At(1'800'000'000'001'234));
}

TEST_F(FromChangeLogRowTest, PostgresCreatedAtIsParsed) {
  ChangeLogRow row = Row("INSERT");
  row.created_at = "2026-11-29 14:00:00.123456+02";
  Result<EntityEvent> event = Convert(row);
  ASSERT_TRUE(event);
  EXPECT_EQ(FormatTimestamp(event->timestamp), "2026-11-29T12:00:00.123456Z");
}

TEST_F(FromChangeLogRowTest, BadCreatedAtIsAnError) {
  ChangeLogRow row = Row("INSERT");
  row.created_at = "yesterday";
  Result<EntityEvent> event = Convert(row);
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().message,
            "change-log row 42 (id 7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17): created_at: 'yesterday' "
            "is not an RFC 3339 or PostgreSQL timestamp");
}

TEST_F(FromChangeLogRowTest, AnInfiniteCreatedAtIsAnErrorNotNow) {
  for (const char* infinite : {"infinity", "-infinity"}) {
    ChangeLogRow row = Row("INSERT");
    row.created_at = infinite;
    Result<EntityEvent> event = Convert(row);
    ASSERT_FALSE(event) << infinite;
    EXPECT_EQ(event.error().message, std::string("change-log row 42 (id 7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17): "
                                                 "created_at is '") + infinite + "', not a point in time");
  }
}

TEST_F(FromChangeLogRowTest, AnEmptyObjectTypeIsAnErrorNotADropNoObserverCouldMatch) {
  ChangeLogRow row = Row("INSERT");
  row.object_type = "";
  Result<EntityEvent> event = Convert(row);
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().message,
            "change-log row 42 (id 7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17): object_type is empty or NULL");
}

TEST(ShallowDiffTest, IsShallow) {
  const json before = {{"address", {{"city", "Lyon"}, {"zip", "69001"}}}, {"tags", {1, 2}}};
  const json after = {{"address", {{"city", "Lyon"}, {"zip", "69002"}}}, {"tags", {1, 2}}};
  EXPECT_EQ(ShallowDiff(before, after),
            (json{{"address", {{"old", before["address"]}, {"new", after["address"]}}}}));
}

TEST(ShallowDiffTest, NullValuesDifferFromAbsentKeysOnlyInTheOtherSide) {
  EXPECT_EQ(ShallowDiff(json{{"a", nullptr}}, json{{"a", nullptr}}), json::object());
  EXPECT_EQ(ShallowDiff(json{{"a", nullptr}}, json{{"a", 1}}),
            (json{{"a", {{"old", nullptr}, {"new", 1}}}}));
  EXPECT_EQ(ShallowDiff(json::object(), json::object()), json::object());
}

TEST(ShallowDiffTest, TypeChangesAreChanges) {
  EXPECT_EQ(ShallowDiff(json{{"n", "1"}}, json{{"n", 1}}),
            (json{{"n", {{"old", "1"}, {"new", 1}}}}));
}

TEST(NormalizeUuidTest, AcceptsCanonicalFormsOnly) {
  EXPECT_EQ(NormalizeUuid("7F3C1A52-9b0e-4D2A-8F61-0C5E2B9A4D17"),
            "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17");
  EXPECT_EQ(NormalizeUuid("00000000-0000-0000-0000-000000000000"),
            "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(NormalizeUuid(""), std::nullopt);
  EXPECT_EQ(NormalizeUuid("7f3c1a529b0e4d2a8f610c5e2b9a4d17"), std::nullopt);      // no dashes
  EXPECT_EQ(NormalizeUuid("{7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17}"), std::nullopt);  // braces
  EXPECT_EQ(NormalizeUuid("7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d1g"), std::nullopt);  // 'g'
  EXPECT_EQ(NormalizeUuid("7f3c1a52-9b0e-4d2a-8f610-c5e2b9a4d17"), std::nullopt);  // dash moved
  EXPECT_EQ(NormalizeUuid("7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17 "), std::nullopt);
}

}  // namespace
}  // namespace fraiseql
