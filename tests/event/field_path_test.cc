#include "event/field_path.h"

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fraiseql {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

FieldPath Parse(std::string_view text) {
  Result<FieldPath> path = FieldPath::Parse(text);
  EXPECT_TRUE(path) << text << ": " << path.error().message;
  return path ? *path : FieldPath();
}

std::string ParseError(std::string_view text) {
  Result<FieldPath> path = FieldPath::Parse(text);
  if (path) return "(parsed)";
  EXPECT_EQ(path.error().code, ErrorCode::kInvalidArgument);
  return path.error().message;
}

EntityEvent SampleEvent() {
  EntityEvent event;
  event.id = "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17";
  event.event_type = EventKind::kUpdate;
  event.entity_type = "Order";
  event.entity_id = "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26";
  event.data = json::parse(R"({
    "status": "paid", "total": 100, "note": null,
    "customer": {"email": "ada@example.com", "address": {"city": "Lyon"}},
    "items": [{"sku": "A1"}, {"sku": "B2"}], "0": "zero-key", "dash-ed": true})");
  event.changes = json{{"status", {{"old", "new"}, {"new", "paid"}}}};
  event.timestamp = Timestamp{std::chrono::microseconds(1'795'953'600'000'000)};
  return event;
}

TEST(FieldPathParseTest, BarePathReadsData) {
  const FieldPath path = Parse("customer.email");
  EXPECT_EQ(path.root(), FieldPath::Root::kData);
  EXPECT_THAT(path.segments(), ElementsAre("customer", "email"));
  EXPECT_EQ(path.text(), "customer.email");
  EXPECT_THAT(Parse("status").segments(), ElementsAre("status"));
  EXPECT_THAT(Parse("items.0.sku").segments(), ElementsAre("items", "0", "sku"));
  EXPECT_THAT(Parse("_x.dash-ed").segments(), ElementsAre("_x", "dash-ed"));
}

TEST(FieldPathParseTest, DataPrefix) {
  const FieldPath path = Parse("data.customer.email");
  EXPECT_EQ(path.root(), FieldPath::Root::kData);
  EXPECT_THAT(path.segments(), ElementsAre("customer", "email"));
  // A lone root word is a key inside data.
  EXPECT_EQ(Parse("data").root(), FieldPath::Root::kData);
  EXPECT_THAT(Parse("data").segments(), ElementsAre("data"));
  EXPECT_THAT(Parse("event").segments(), ElementsAre("event"));
  EXPECT_THAT(Parse("changes").segments(), ElementsAre("changes"));
}

TEST(FieldPathParseTest, ChangesPrefix) {
  const FieldPath path = Parse("changes.status.old");
  EXPECT_EQ(path.root(), FieldPath::Root::kChanges);
  EXPECT_THAT(path.segments(), ElementsAre("status", "old"));
}

TEST(FieldPathParseTest, EventDataAndEventChangesEqualTheirShortForms) {
  const FieldPath data = Parse("event.data.customer.email");
  EXPECT_EQ(data.root(), FieldPath::Root::kData);
  EXPECT_THAT(data.segments(), ElementsAre("customer", "email"));
  const FieldPath changes = Parse("event.changes.status.new");
  EXPECT_EQ(changes.root(), FieldPath::Root::kChanges);
  EXPECT_THAT(changes.segments(), ElementsAre("status", "new"));
  EXPECT_TRUE(Parse("event.data").segments().empty());
  EXPECT_TRUE(Parse("event.changes").segments().empty());
}

TEST(FieldPathParseTest, EveryEventField) {
  for (const char* field : {"id", "event_type", "entity_type", "entity_id", "tenant_id",
                            "user_id", "timestamp", "duration_ms", "seq", "actor_type",
                            "acting_for", "schema_version", "cdc_source"}) {
    Result<FieldPath> path = FieldPath::Parse(std::string("event.") + field);
    ASSERT_TRUE(path) << field << ": " << path.error().message;
    EXPECT_EQ(path->root(), FieldPath::Root::kEvent) << field;
    EXPECT_TRUE(path->segments().empty()) << field;
  }
}

TEST(FieldPathParseTest, UnknownEventField) {
  EXPECT_EQ(ParseError("event.colour"),
            "unknown event field 'colour' in 'event.colour' (event fields: id, event_type, "
            "entity_type, entity_id, tenant_id, user_id, timestamp, data, changes, duration_ms, "
            "seq, actor_type, acting_for, schema_version, cdc_source)");
  EXPECT_THAT(ParseError("event.0"), HasSubstr("unknown event field '0'"));
}

TEST(FieldPathParseTest, EventFieldsHaveNoSubfields) {
  EXPECT_EQ(ParseError("event.id.x"), "invalid field path 'event.id.x': event.id has no fields");
  EXPECT_EQ(ParseError("event.timestamp.year"),
            "invalid field path 'event.timestamp.year': event.timestamp has no fields");
}

TEST(FieldPathParseTest, BadSegments) {
  EXPECT_EQ(ParseError(""), "empty field path");
  EXPECT_EQ(ParseError("a..b"),
            "invalid field path 'a..b': segment '' must be a name ([A-Za-z_][A-Za-z0-9_-]*) or "
            "an array index");
  EXPECT_THAT(ParseError(".a"), HasSubstr("segment ''"));
  EXPECT_THAT(ParseError("a."), HasSubstr("segment ''"));
  EXPECT_THAT(ParseError("data.1st"), HasSubstr("segment '1st'"));
  EXPECT_THAT(ParseError("data.-x"), HasSubstr("segment '-x'"));
  EXPECT_THAT(ParseError("data.a b"), HasSubstr("segment 'a b'"));
  EXPECT_THAT(ParseError("data.$x"), HasSubstr("segment '$x'"));
  EXPECT_THAT(ParseError("changes.status[0]"), HasSubstr("segment 'status[0]'"));
}

TEST(FieldPathResolveTest, NestedObjects) {
  const EntityEvent event = SampleEvent();
  const ValueRef email = Parse("customer.email").Resolve(event);
  ASSERT_EQ(email.kind(), ValueRef::Kind::kJson);
  EXPECT_EQ(email.json(), "ada@example.com");
  EXPECT_EQ(Parse("data.customer.address.city").Resolve(event).ToJson(), "Lyon");
  EXPECT_EQ(Parse("event.data.total").Resolve(event).ToJson(), 100);
  EXPECT_EQ(Parse("event.data").Resolve(event).ToJson(), event.data);
  EXPECT_EQ(Parse("dash-ed").Resolve(event).ToJson(), true);
}

TEST(FieldPathResolveTest, ArrayIndexes) {
  const EntityEvent event = SampleEvent();
  EXPECT_EQ(Parse("items.0.sku").Resolve(event).ToJson(), "A1");
  EXPECT_EQ(Parse("data.items.1.sku").Resolve(event).ToJson(), "B2");
  EXPECT_TRUE(Parse("items.2.sku").Resolve(event).missing());
  EXPECT_TRUE(Parse("items.99999999999999999999999").Resolve(event).missing());
  EXPECT_TRUE(Parse("items.sku").Resolve(event).missing());
  // A digit segment on an object is a key.
  EXPECT_EQ(Parse("0").Resolve(event).ToJson(), "zero-key");
}

TEST(FieldPathResolveTest, MissingAndNullAreDistinct) {
  const EntityEvent event = SampleEvent();
  const ValueRef missing = Parse("nope").Resolve(event);
  EXPECT_TRUE(missing.missing());
  EXPECT_TRUE(missing.is_null());
  EXPECT_EQ(missing.ToJson(), nullptr);
  EXPECT_TRUE(Parse("status.deeper").Resolve(event).missing());  // through a string
  EXPECT_TRUE(Parse("customer.phone").Resolve(event).missing());

  const ValueRef null_present = Parse("note").Resolve(event);
  EXPECT_FALSE(null_present.missing());
  EXPECT_TRUE(null_present.is_null());
  EXPECT_EQ(null_present.kind(), ValueRef::Kind::kJson);
}

TEST(FieldPathResolveTest, Changes) {
  EntityEvent event = SampleEvent();
  EXPECT_EQ(Parse("changes.status.old").Resolve(event).ToJson(), "new");
  EXPECT_EQ(Parse("event.changes.status.new").Resolve(event).ToJson(), "paid");
  EXPECT_TRUE(Parse("changes.total").Resolve(event).missing());
  EXPECT_EQ(Parse("event.changes").Resolve(event).ToJson(), event.changes);

  event.changes = nullptr;  // no before-image
  const ValueRef whole = Parse("event.changes").Resolve(event);
  EXPECT_FALSE(whole.missing());
  EXPECT_TRUE(whole.is_null());
  EXPECT_TRUE(Parse("changes.status.old").Resolve(event).missing());
}

TEST(FieldPathResolveTest, TextEventFields) {
  const EntityEvent event = SampleEvent();
  const ValueRef id = Parse("event.id").Resolve(event);
  ASSERT_EQ(id.kind(), ValueRef::Kind::kText);
  EXPECT_EQ(id.text(), "7f3c1a52-9b0e-4d2a-8f61-0c5e2b9a4d17");
  EXPECT_EQ(Parse("event.event_type").Resolve(event).text(), "UPDATE");
  EXPECT_EQ(Parse("event.entity_type").Resolve(event).text(), "Order");
  EXPECT_EQ(Parse("event.entity_id").Resolve(event).text(), "2b1e9c4f-6a3d-4e8b-9c7a-1f0d5e3b8a26");
  EXPECT_EQ(Parse("event.entity_type").Resolve(event).ToJson(), "Order");
}

TEST(FieldPathResolveTest, AbsentOptionalEventFieldsAreNull) {
  const EntityEvent event = SampleEvent();
  for (const char* field : {"event.tenant_id", "event.user_id", "event.duration_ms", "event.seq",
                            "event.actor_type", "event.acting_for", "event.schema_version",
                            "event.cdc_source"}) {
    const ValueRef value = Parse(field).Resolve(event);
    EXPECT_FALSE(value.missing()) << field;
    EXPECT_TRUE(value.is_null()) << field;
    EXPECT_EQ(value.ToJson(), nullptr) << field;
  }
}

TEST(FieldPathResolveTest, PresentOptionalEventFields) {
  EntityEvent event = SampleEvent();
  event.tenant_id = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  event.user_id = "1001";
  event.actor_type = "service_account";
  event.acting_for = "c9bf9e57-1685-4c89-bafb-ff5af830be8a";
  event.schema_version = "4";
  event.cdc_source = "fallback_trigger";
  EXPECT_EQ(Parse("event.tenant_id").Resolve(event).text(), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(Parse("event.user_id").Resolve(event).text(), "1001");
  EXPECT_EQ(Parse("event.actor_type").Resolve(event).text(), "service_account");
  EXPECT_EQ(Parse("event.acting_for").Resolve(event).text(), "c9bf9e57-1685-4c89-bafb-ff5af830be8a");
  EXPECT_EQ(Parse("event.schema_version").Resolve(event).text(), "4");
  EXPECT_EQ(Parse("event.cdc_source").Resolve(event).text(), "fallback_trigger");
}

TEST(FieldPathResolveTest, IntegerEventFields) {
  EntityEvent event = SampleEvent();
  event.duration_ms = 250;
  event.seq = 9'000'000'000'000;
  const ValueRef duration = Parse("event.duration_ms").Resolve(event);
  ASSERT_EQ(duration.kind(), ValueRef::Kind::kInteger);
  EXPECT_EQ(duration.integer(), 250);
  const ValueRef seq = Parse("event.seq").Resolve(event);
  ASSERT_EQ(seq.kind(), ValueRef::Kind::kInteger);
  EXPECT_EQ(seq.integer(), 9'000'000'000'000);
  EXPECT_EQ(seq.ToJson(), 9'000'000'000'000);
}

TEST(FieldPathResolveTest, Timestamp) {
  const EntityEvent event = SampleEvent();
  const ValueRef timestamp = Parse("event.timestamp").Resolve(event);
  ASSERT_EQ(timestamp.kind(), ValueRef::Kind::kTimestamp);
  EXPECT_EQ(timestamp.timestamp(), event.timestamp);
  EXPECT_EQ(timestamp.ToJson(), "2026-11-29T12:00:00.000000Z");
}

TEST(FieldPathResolveTest, ResolvesAgainstAnyEvent) {
  const FieldPath path = Parse("status");
  EntityEvent other = SampleEvent();
  other.data = json{{"status", "shipped"}};
  EXPECT_EQ(path.Resolve(SampleEvent()).ToJson(), "paid");
  EXPECT_EQ(path.Resolve(other).ToJson(), "shipped");
  other.data = nullptr;
  EXPECT_TRUE(path.Resolve(other).missing());
}

TEST(WalkJsonTest, StartsAtTheGivenSegment) {
  const json doc = json::parse(R"({"a": {"b": [10, 20]}})");
  const std::vector<std::string> segments = {"ignored", "a", "b", "1"};
  EXPECT_EQ(WalkJson(doc, segments, 1).ToJson(), 20);
  EXPECT_TRUE(WalkJson(doc, segments).missing());
  EXPECT_EQ(WalkJson(doc, segments, 4).ToJson(), doc);
}

}  // namespace
}  // namespace fraiseql
