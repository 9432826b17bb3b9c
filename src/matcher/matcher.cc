#include "matcher/matcher.h"

#include <algorithm>
#include <set>

namespace fraiseql {

ObserverIndex::ObserverIndex(const std::vector<ObserverConfig>& observers) {
  std::set<std::string, std::less<>> named_entities;
  for (const ObserverConfig& observer : observers) {
    if (observer.enabled && observer.entity != "*") named_entities.insert(observer.entity);
  }
  for (int k = 0; k < kEventKindCount; ++k) {
    const auto kind = static_cast<EventKind>(k);
    PerKind& per_kind = kinds_[static_cast<size_t>(k)];
    for (const std::string& entity : named_entities) per_kind.by_entity[entity];
    // One pass in config order keeps every list in config order.
    for (const ObserverConfig& observer : observers) {
      if (!observer.enabled || !observer.event_kinds.Contains(kind)) continue;
      if (observer.entity == "*") {
        per_kind.wildcard_only.push_back(&observer);
        for (auto& [entity, list] : per_kind.by_entity) list.push_back(&observer);
      } else {
        per_kind.by_entity[observer.entity].push_back(&observer);
      }
    }
  }
  for (const ObserverConfig& observer : observers) enabled_count_ += observer.enabled ? 1 : 0;
}

const std::vector<const ObserverConfig*>& ObserverIndex::Match(EventKind kind,
                                                               std::string_view entity_type) const {
  const PerKind& per_kind = kinds_[static_cast<size_t>(kind)];
  auto it = per_kind.by_entity.find(entity_type);
  return it == per_kind.by_entity.end() ? per_kind.wildcard_only : it->second;
}

bool EventMatch::Matched(const ObserverConfig* observer) const {
  return std::find(matched.begin(), matched.end(), observer) != matched.end();
}

const EventMatch::ConditionError* EventMatch::ErrorOf(const ObserverConfig* observer) const {
  for (const ConditionError& failed : condition_errors) {
    if (failed.observer == observer) return &failed;
  }
  return nullptr;
}

EventMatch MatchEvent(const ObserverIndex& index, const EntityEvent& event) {
  EventMatch match;
  for (const ObserverConfig* observer : index.Match(event.event_type, event.entity_type)) {
    if (!observer->condition) {
      match.matched.push_back(observer);
      continue;
    }
    Result<bool> holds = observer->condition->Evaluate(event);
    if (!holds) {
      match.condition_errors.push_back({observer, holds.error()});
    } else if (*holds) {
      match.matched.push_back(observer);
    } else {
      match.condition_false.push_back(observer);
    }
  }
  return match;
}

std::vector<Delivery> DeliveriesFor(std::shared_ptr<const EntityEvent> event,
                                    const std::vector<const ObserverConfig*>& observers) {
  std::vector<Delivery> deliveries;
  for (const ObserverConfig* observer : observers) {
    for (size_t index = 0; index < observer->actions.size(); ++index) {
      Delivery delivery;
      delivery.id = MakeDeliveryId(event->id, observer->name, index);
      delivery.event = event;
      delivery.observer = observer->name;
      delivery.action_index = index;
      deliveries.push_back(std::move(delivery));
    }
  }
  return deliveries;
}

}  // namespace fraiseql
