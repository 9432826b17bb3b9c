// Matching: which observers an event reaches. ObserverIndex finds the candidates by (kind, entity
// type) without scanning every observer; MatchEvent evaluates their conditions; DeliveriesFor
// turns the matches into deliveries. The one place the listener and `debug-event` decide this.
// Thread-safety: the index is immutable after construction; everything may run concurrently.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "delivery/delivery.h"
#include "event/entity_event.h"

namespace fraiseql {

// Wildcard entity "*" and wildcard kinds are folded in at build time; disabled observers are
// left out; matches come back in config order.
class ObserverIndex {
 public:
  // `observers` is borrowed and must outlive the index.
  explicit ObserverIndex(const std::vector<ObserverConfig>& observers);

  // The enabled observers listening to `kind` on `entity_type`, in config order. The condition
  // is not evaluated here. The returned list lives as long as the index.
  const std::vector<const ObserverConfig*>& Match(EventKind kind, std::string_view entity_type) const;

  size_t size() const { return enabled_count_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  using EntityMap = std::unordered_map<std::string, std::vector<const ObserverConfig*>, StringHash,
                                       std::equal_to<>>;

  struct PerKind {
    EntityMap by_entity;                                  // exact entity + wildcard, merged
    std::vector<const ObserverConfig*> wildcard_only;     // for entities no observer names
  };

  std::array<PerKind, kEventKindCount> kinds_;
  size_t enabled_count_ = 0;
};

// What the candidates of an event decided, each list in config order.
struct EventMatch {
  struct ConditionError {
    const ObserverConfig* observer = nullptr;
    Error error;
  };
  std::vector<const ObserverConfig*> matched;          // no condition, or it held
  std::vector<const ObserverConfig*> condition_false;  // the condition did not hold
  // The condition could not be evaluated (guarantee 7: this (event, observer) is dead-lettered,
  // the other observers still run).
  std::vector<ConditionError> condition_errors;

  bool Matched(const ObserverConfig* observer) const;
  const ConditionError* ErrorOf(const ObserverConfig* observer) const;
};

// Evaluates the conditions of the event's candidates in `index`.
EventMatch MatchEvent(const ObserverIndex& index, const EntityEvent& event);

// One delivery per action of each observer, in observer then action order.
std::vector<Delivery> DeliveriesFor(std::shared_ptr<const EntityEvent> event,
                                    const std::vector<const ObserverConfig*>& observers);

}  // namespace fraiseql
