// ObserverIndex: (kind, entity) -> enabled observers, in config order; MatchEvent, which
// evaluates their conditions; DeliveriesFor.
#include "matcher/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/event_builder.h"

namespace fraiseql {
namespace {

ObserverConfig Observer(std::string name, std::string entity, EventKindSet kinds, bool enabled = true) {
  ObserverConfig observer;
  observer.name = std::move(name);
  observer.entity = std::move(entity);
  observer.event_kinds = kinds;
  observer.enabled = enabled;
  return observer;
}

std::vector<std::string> Names(const std::vector<const ObserverConfig*>& matches) {
  std::vector<std::string> names;
  for (const ObserverConfig* observer : matches) names.push_back(observer->name);
  return names;
}

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ObserverIndex, ExactEntityAndKind) {
  std::vector<ObserverConfig> observers = {Observer("a", "Order", EventKindSet::Of(EventKind::kInsert)),
                                           Observer("b", "Order", EventKindSet::Of(EventKind::kUpdate))};
  ObserverIndex index(observers);
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "Order")), ElementsAre("a"));
  EXPECT_THAT(Names(index.Match(EventKind::kUpdate, "Order")), ElementsAre("b"));
  EXPECT_THAT(Names(index.Match(EventKind::kDelete, "Order")), IsEmpty());
}

TEST(ObserverIndex, EntityIsCaseSensitive) {
  std::vector<ObserverConfig> observers = {Observer("a", "Order", EventKindSet::All())};
  ObserverIndex index(observers);
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "order")), IsEmpty());
}

TEST(ObserverIndex, WildcardEntityReachesEveryType) {
  std::vector<ObserverConfig> observers = {Observer("all", "*", EventKindSet::Of(EventKind::kDelete))};
  ObserverIndex index(observers);
  EXPECT_THAT(Names(index.Match(EventKind::kDelete, "Order")), ElementsAre("all"));
  EXPECT_THAT(Names(index.Match(EventKind::kDelete, "NeverNamed")), ElementsAre("all"));
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "Order")), IsEmpty());
}

TEST(ObserverIndex, WildcardKindReachesEveryKind) {
  std::vector<ObserverConfig> observers = {Observer("any", "Order", EventKindSet::All())};
  ObserverIndex index(observers);
  for (EventKind kind : {EventKind::kInsert, EventKind::kUpdate, EventKind::kDelete, EventKind::kCustom}) {
    EXPECT_THAT(Names(index.Match(kind, "Order")), ElementsAre("any"));
  }
}

TEST(ObserverIndex, SeveralKindsInOneObserver) {
  EventKindSet kinds = EventKindSet::Of(EventKind::kInsert);
  kinds.Add(EventKind::kCustom);
  std::vector<ObserverConfig> observers = {Observer("ic", "Order", kinds)};
  ObserverIndex index(observers);
  EXPECT_THAT(Names(index.Match(EventKind::kCustom, "Order")), ElementsAre("ic"));
  EXPECT_THAT(Names(index.Match(EventKind::kUpdate, "Order")), IsEmpty());
}

TEST(ObserverIndex, DisabledObserversAreSkipped) {
  std::vector<ObserverConfig> observers = {Observer("off", "Order", EventKindSet::All(), false),
                                           Observer("off_any", "*", EventKindSet::All(), false),
                                           Observer("on", "Order", EventKindSet::All())};
  ObserverIndex index(observers);
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "Order")), ElementsAre("on"));
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "Other")), IsEmpty());
  EXPECT_EQ(index.size(), 1u);
}

TEST(ObserverIndex, MatchesComeInConfigOrderAcrossWildcards) {
  std::vector<ObserverConfig> observers = {
      Observer("1-exact", "Order", EventKindSet::All()), Observer("2-wild", "*", EventKindSet::All()),
      Observer("3-exact", "Order", EventKindSet::Of(EventKind::kInsert)),
      Observer("4-other", "Invoice", EventKindSet::All()), Observer("5-wild", "*", EventKindSet::Of(EventKind::kInsert))};
  ObserverIndex index(observers);
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "Order")),
              ElementsAre("1-exact", "2-wild", "3-exact", "5-wild"));
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "Invoice")), ElementsAre("2-wild", "4-other", "5-wild"));
  EXPECT_THAT(Names(index.Match(EventKind::kUpdate, "Unknown")), ElementsAre("2-wild"));
}

TEST(ObserverIndex, DeterministicAcrossBuilds) {
  std::vector<ObserverConfig> observers;
  for (int i = 0; i < 50; ++i) {
    observers.push_back(Observer("o" + std::to_string(i), i % 3 == 0 ? "*" : "E" + std::to_string(i % 5),
                                 EventKindSet::All()));
  }
  ObserverIndex first(observers);
  ObserverIndex second(observers);
  for (int e = 0; e < 6; ++e) {
    const std::string entity = "E" + std::to_string(e);
    EXPECT_EQ(Names(first.Match(EventKind::kUpdate, entity)), Names(second.Match(EventKind::kUpdate, entity)));
  }
}

TEST(ObserverIndex, EmptyConfig) {
  std::vector<ObserverConfig> observers;
  ObserverIndex index(observers);
  EXPECT_THAT(Names(index.Match(EventKind::kInsert, "Order")), IsEmpty());
  EXPECT_EQ(index.size(), 0u);
}

TEST(MatchEvent, SortsTheCandidatesByTheirConditionAndLeavesOthersOut) {
  const LoadResult loaded = LoadConfigString(R"(
[[observers]]
name = "no-condition"
event_type = "*"
entity = "Order"
[[observers.actions]]
type = "log"
message_template = "m"

[[observers]]
name = "holds"
event_type = "*"
entity = "Order"
condition = "data.total > 100"
[[observers.actions]]
type = "log"
message_template = "m"

[[observers]]
name = "false"
event_type = "*"
entity = "Order"
condition = "data.total > 1000"
[[observers.actions]]
type = "log"
message_template = "m"

[[observers]]
name = "errors"
event_type = "*"
entity = "Order"
condition = "data.note > 5"
[[observers.actions]]
type = "log"
message_template = "m"

[[observers]]
name = "other-entity"
event_type = "*"
entity = "User"
[[observers.actions]]
type = "log"
message_template = "m"
)", "match.toml");
  for (const Diagnostic& diagnostic : loaded.diagnostics) ADD_FAILURE() << diagnostic.ToString();
  ASSERT_TRUE(loaded.ok());
  const ObserverIndex index(loaded.config->observers);
  const EntityEvent event = testing::MakeOrderUpdate({{"total", 150}, {"note", "x"}}, nullptr);
  const EventMatch match = MatchEvent(index, event);
  EXPECT_THAT(Names(match.matched), ElementsAre("no-condition", "holds"));
  EXPECT_THAT(Names(match.condition_false), ElementsAre("false"));
  ASSERT_EQ(match.condition_errors.size(), 1u);
  EXPECT_EQ(match.condition_errors[0].observer->name, "errors");
  EXPECT_FALSE(match.condition_errors[0].error.message.empty());
  EXPECT_TRUE(match.Matched(&loaded.config->observers[1]));
  EXPECT_FALSE(match.Matched(&loaded.config->observers[4]));
  EXPECT_EQ(match.ErrorOf(&loaded.config->observers[3]), &match.condition_errors[0]);
  EXPECT_EQ(match.ErrorOf(&loaded.config->observers[0]), nullptr);
}

TEST(DeliveriesFor, OneDeliveryPerActionInOrder) {
  ObserverConfig first;
  first.name = "first";
  first.actions.resize(2);
  ObserverConfig second;
  second.name = "second";
  second.actions.resize(1);
  auto event = std::make_shared<EntityEvent>(testing::MakeOrderUpdate({}, nullptr));
  const std::vector<Delivery> deliveries = DeliveriesFor(event, {&first, &second});
  ASSERT_EQ(deliveries.size(), 3u);
  EXPECT_EQ(deliveries[0].observer, "first");
  EXPECT_EQ(deliveries[0].action_index, 0u);
  EXPECT_EQ(deliveries[1].action_index, 1u);
  EXPECT_EQ(deliveries[2].observer, "second");
  EXPECT_EQ(deliveries[2].id, MakeDeliveryId(event->id, "second", 0));
  EXPECT_TRUE(deliveries[0].attempts.empty());
}

}  // namespace
}  // namespace fraiseql
