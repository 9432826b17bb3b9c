#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "event/entity_event.h"

namespace fraiseql {
namespace {

using nlohmann::json;

EntityEvent MinimalEvent() {
  EntityEvent event;
  event.id = "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17";
  event.event_type = EventKind::kInsert;
  event.entity_type = "Order";
  event.entity_id = "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26";
  event.data = json{{"status", "new"}};
  event.timestamp = Timestamp{std::chrono::microseconds(1'795'953'600'123'456)};
  return event;
}

EntityEvent FullEvent() {
  EntityEvent event = MinimalEvent();
  event.event_type = EventKind::kUpdate;
  event.data = json::parse(R"({"status": "paid", "big": 18446744073709551615,
                               "neg": -9223372036854775808, "id": 9007199254740993,
                               "price": 12.5, "items": [{"sku": "A1"}], "none": null})");
  event.changes = json{{"status", {{"old", "new"}, {"new", "paid"}}}};
  event.user_id = "1001";
  event.tenant_id = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  event.duration_ms = 42;
  event.seq = std::numeric_limits<int64_t>::max();
  event.actor_type = "human_user";
  event.acting_for = "c9bf9e57-1685-4c89-bafb-ff5af830be8a";
  event.schema_version = "3";
  event.cdc_source = "fallback_trigger";
  return event;
}

// Through text, as events travel.
Result<EntityEvent> RoundTrip(const EntityEvent& event) {
  return EventFromJson(json::parse(EventToJson(event).dump()));
}

TEST(EventToJsonTest, WritesEveryField) {
  const json out = EventToJson(MinimalEvent());
  EXPECT_EQ(out, json::parse(R"({
    "id": "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17", "event_type": "INSERT",
    "entity_type": "Order", "entity_id": "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26",
    "data": {"status": "new"}, "changes": null, "user_id": null, "tenant_id": null,
    "timestamp": "2026-11-29T12:00:00.123456Z", "duration_ms": null, "seq": null,
    "actor_type": null, "acting_for": null, "schema_version": null, "cdc_source": null})"));
}

TEST(EventJsonTest, RoundTripWithOptionalsAbsent) {
  const EntityEvent event = MinimalEvent();
  Result<EntityEvent> back = RoundTrip(event);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, event);
}

TEST(EventJsonTest, RoundTripWithEverythingPresent) {
  const EntityEvent event = FullEvent();
  Result<EntityEvent> back = RoundTrip(event);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, event);
  EXPECT_EQ(back->data["big"].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(back->data["neg"].get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(back->data["id"].dump(), "9007199254740993");
  EXPECT_EQ(back->seq, std::numeric_limits<int64_t>::max());
}

TEST(EventJsonTest, RoundTripKeepsEmptyChangesAndNullData) {
  EntityEvent event = MinimalEvent();
  event.event_type = EventKind::kDelete;
  event.data = nullptr;
  event.changes = json::object();
  Result<EntityEvent> back = RoundTrip(event);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, event);
  EXPECT_TRUE(back->has_before_image());
}

// What AppendEventJson must equal: the tree's own dump, invalid UTF-8 replaced.
std::string DumpOf(const json& tree) { return tree.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string AppendedText(const EntityEvent& event, EventJsonForm form) {
  std::string out = "prefix:";
  AppendEventJson(out, event, form);
  return out;
}

TEST(EventJsonTest, ReadingFromAnRvalueGivesTheSameEvent) {
  const EntityEvent event = FullEvent();
  json moved_from = EventToJson(event);
  Result<EntityEvent> back = EventFromJson(std::move(moved_from));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, event);
}

TEST(AppendEventJsonTest, WritesTheBytesOfTheTreesDump) {
  for (const EntityEvent& event : {MinimalEvent(), FullEvent()}) {
    EXPECT_EQ(AppendedText(event, EventJsonForm::kFull), "prefix:" + DumpOf(EventToJson(event)));
    EXPECT_EQ(AppendedText(event, EventJsonForm::kEnvelope), "prefix:" + DumpOf(EventEnvelope(event)));
  }
}

TEST(AppendEventJsonTest, EscapesStringsAsDumpDoes) {
  EntityEvent event = FullEvent();
  event.entity_type = "Ord\"er\\\n\x01é";
  event.user_id = std::string("bad \xff utf-8 and a NUL \0 byte", 28);
  event.data = json{{"note", "line\nbreak \"quoted\" \xc3"}, {"ünïcode", "✓"}};
  EXPECT_EQ(AppendedText(event, EventJsonForm::kFull), "prefix:" + DumpOf(EventToJson(event)));
  EXPECT_EQ(AppendedText(event, EventJsonForm::kEnvelope), "prefix:" + DumpOf(EventEnvelope(event)));
}

TEST(AppendEventJsonTest, ReadsBackAsTheSameEvent) {
  const EntityEvent event = FullEvent();
  std::string text;
  AppendEventJson(text, event, EventJsonForm::kFull);
  Result<EntityEvent> back = EventFromJson(json::parse(text));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, event);
}

TEST(EventFromJsonTest, OptionalFieldsMayBeAbsent) {
  Result<EntityEvent> event = EventFromJson(json::parse(R"({
    "id": "7F3C1A52-9B0E-4D2A-8F61-0C5E2B9A4D17", "event_type": "custom",
    "entity_type": "Order", "entity_id": "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26",
    "timestamp": "2026-11-29 14:00:00+02"})"));
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->id, "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17");
  EXPECT_EQ(event->event_type, EventKind::kCustom);
  EXPECT_TRUE(event->data.is_null());
  EXPECT_TRUE(event->changes.is_null());
  EXPECT_EQ(event->user_id, std::nullopt);
  EXPECT_EQ(event->seq, std::nullopt);
  EXPECT_EQ(FormatTimestamp(event->timestamp), "2026-11-29T12:00:00.000000Z");
}

TEST(EventFromJsonTest, AcceptsNumbersForIdsAndStringsForIntegers) {
  json in = EventToJson(MinimalEvent());
  in["user_id"] = 1001;
  in["seq"] = "9000000000";
  in["duration_ms"] = 12u;
  Result<EntityEvent> event = EventFromJson(in);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->user_id, "1001");
  EXPECT_EQ(event->seq, 9'000'000'000);
  EXPECT_EQ(event->duration_ms, 12);
}

// The error for `in` with `field` set to `value` (or erased when value is discarded).
std::string ErrorWith(std::string_view field, json value) {
  json in = EventToJson(MinimalEvent());
  if (value.is_discarded()) {
    in.erase(std::string(field));
  } else {
    in[std::string(field)] = std::move(value);
  }
  Result<EntityEvent> event = EventFromJson(in);
  if (event) return "(parsed)";
  EXPECT_EQ(event.error().code, ErrorCode::kInvalidArgument);
  return event.error().message;
}

const json kErase = json(json::value_t::discarded);

TEST(EventFromJsonTest, ErrorsNameTheField) {
  EXPECT_EQ(ErrorWith("id", kErase), "event: field 'id' is missing");
  EXPECT_EQ(ErrorWith("id", nullptr), "event: field 'id' is missing");
  EXPECT_EQ(ErrorWith("id", 5), "event: field 'id' must be a string");
  EXPECT_EQ(ErrorWith("id", "abc"), "event: field 'id' is not a UUID: 'abc'");
  EXPECT_EQ(ErrorWith("event_type", "UPSERT"),
            "event: field 'event_type' must be INSERT, UPDATE, DELETE or CUSTOM, not 'UPSERT'");
  EXPECT_EQ(ErrorWith("entity_type", kErase), "event: field 'entity_type' is missing");
  EXPECT_EQ(ErrorWith("entity_id", "x"), "event: field 'entity_id' is not a UUID: 'x'");
  EXPECT_EQ(ErrorWith("changes", json::array()),
            "event: field 'changes' must be an object of field -> {old, new}, or null");
  EXPECT_EQ(ErrorWith("timestamp", kErase), "event: field 'timestamp' is missing");
  EXPECT_EQ(ErrorWith("timestamp", "soon"),
            "event: field 'timestamp' is invalid: 'soon' is not an RFC 3339 or PostgreSQL timestamp");
  EXPECT_EQ(ErrorWith("user_id", true), "event: field 'user_id' must be a string");
  EXPECT_EQ(ErrorWith("duration_ms", 1.5), "event: field 'duration_ms' must be an integer");
  EXPECT_EQ(ErrorWith("duration_ms", "12ms"), "event: field 'duration_ms' must be an integer");
  EXPECT_EQ(ErrorWith("duration_ms", int64_t{3'000'000'000}),
            "event: field 'duration_ms' is out of range");
  EXPECT_EQ(ErrorWith("duration_ms", "3000000000"),
            "event: field 'duration_ms' must be an integer");
  EXPECT_EQ(ErrorWith("seq", std::numeric_limits<uint64_t>::max()),
            "event: field 'seq' is out of range");
  EXPECT_EQ(ErrorWith("cdc_source", json::object()), "event: field 'cdc_source' must be a string");
}

TEST(EventFromJsonTest, RejectsNonObjects) {
  Result<EntityEvent> event = EventFromJson(json::array());
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().message, "event: expected a JSON object");
}

TEST(ChangeLogRowFromJsonTest, ReadsEveryColumn) {
  Result<ChangeLogRow> row = ChangeLogRowFromJson(json::parse(R"({
    "pk_entity_change_log": "123", "id": "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17",
    "object_type": "Order", "modification_type": "update",
    "created_at": "2026-11-29 12:00:00.123456+00",
    "tenant_id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "fk_customer_org": 5,
    "fk_contact": "9007199254740993", "object_id": "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26",
    "object_data": {"status": "paid"}, "object_data_before": {"status": "new"},
    "duration_ms": 7, "seq": 11, "actor_type": "system_job",
    "acting_for": null, "schema_version": "2",
    "extra_metadata": {"cdc_source": "fallback_trigger"}})"));
  ASSERT_TRUE(row) << row.error().message;
  EXPECT_EQ(row->pk, 123);
  EXPECT_EQ(row->id, "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17");
  EXPECT_EQ(row->object_type, "Order");
  EXPECT_EQ(row->modification_type, "update");
  EXPECT_EQ(row->created_at, "2026-11-29 12:00:00.123456+00");
  EXPECT_EQ(row->tenant_id, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(row->fk_customer_org, 5);
  EXPECT_EQ(row->fk_contact, 9'007'199'254'740'993);
  EXPECT_EQ(row->object_id, "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26");
  EXPECT_EQ(row->object_data, (json{{"status", "paid"}}));
  EXPECT_EQ(row->object_data_before, (json{{"status", "new"}}));
  EXPECT_EQ(row->duration_ms, 7);
  EXPECT_EQ(row->seq, 11);
  EXPECT_EQ(row->actor_type, "system_job");
  EXPECT_EQ(row->acting_for, std::nullopt);
  EXPECT_EQ(row->schema_version, "2");
  EXPECT_EQ(row->extra_metadata, (json{{"cdc_source", "fallback_trigger"}}));

  FakeClock clock;
  Result<EntityEvent> event = FromChangeLogRow(*row, clock);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->event_type, EventKind::kUpdate);
  EXPECT_EQ(event->changes, (json{{"status", {{"old", "new"}, {"new", "paid"}}}}));
  EXPECT_EQ(event->user_id, "9007199254740993");
  EXPECT_EQ(event->cdc_source, "fallback_trigger");
}

TEST(ChangeLogRowFromJsonTest, MinimalRowDefaults) {
  Result<ChangeLogRow> row = ChangeLogRowFromJson(json::parse(R"({
    "id": "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17", "object_type": "Order",
    "modification_type": "INSERT"})"));
  ASSERT_TRUE(row) << row.error().message;
  EXPECT_EQ(row->pk, 0);
  EXPECT_EQ(row->created_at, std::nullopt);
  EXPECT_EQ(row->object_id, std::nullopt);
  EXPECT_EQ(row->fk_contact, std::nullopt);
  EXPECT_TRUE(row->object_data.is_null());
  EXPECT_TRUE(row->object_data_before.is_null());
  EXPECT_TRUE(row->extra_metadata.is_null());
}

TEST(ChangeLogRowFromJsonTest, ErrorsNameTheColumn) {
  Result<ChangeLogRow> missing = ChangeLogRowFromJson(json{{"id", "x"}, {"object_type", "Order"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "change-log row: field 'modification_type' is missing");

  Result<ChangeLogRow> bad_contact = ChangeLogRowFromJson(
      json{{"id", "x"}, {"object_type", "Order"}, {"modification_type", "INSERT"},
           {"fk_contact", "abc"}});
  ASSERT_FALSE(bad_contact);
  EXPECT_EQ(bad_contact.error().message, "change-log row: field 'fk_contact' must be an integer");

  Result<ChangeLogRow> not_object = ChangeLogRowFromJson(json("row"));
  ASSERT_FALSE(not_object);
  EXPECT_EQ(not_object.error().message, "change-log row: expected a JSON object");
}

TEST(LooksLikeChangeLogRowTest, TellsRowsFromEvents) {
  EXPECT_TRUE(LooksLikeChangeLogRow(json{{"modification_type", "INSERT"}}));
  EXPECT_TRUE(LooksLikeChangeLogRow(json{{"object_type", "Order"}}));
  EXPECT_FALSE(LooksLikeChangeLogRow(EventToJson(MinimalEvent())));
  EXPECT_FALSE(LooksLikeChangeLogRow(json::array({"modification_type"})));
  EXPECT_FALSE(LooksLikeChangeLogRow(json("modification_type")));
}

}  // namespace
}  // namespace fraiseql
