// ObserverIndex: which observers an event of (kind, entity type) reaches, without scanning
// every observer. Wildcard entity "*" and wildcard kinds are folded in at build time; disabled
// observers are left out; matches come back in config order.
// Thread-safety: immutable after construction; Match() may run concurrently.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "event/entity_event.h"

namespace fraiseql {

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

}  // namespace fraiseql
