// ActionTable: every configured action of every observer, built once from the config, looked up
// by (observer name, action index) as deliveries name them.
// Thread-safety: immutable after Build(); lookups may run concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actions/action.h"
#include "common/result.h"
#include "config/config.h"

namespace fraiseql {

class ActionTable {
 public:
  struct Entry {
    const ObserverConfig* observer = nullptr;
    size_t index = 0;
    const ActionConfig* config = nullptr;
    std::unique_ptr<Action> action;
  };

  // Builds the actions of every enabled observer. `config` is borrowed and must outlive the
  // table. Errors name the observer and action of each action that cannot be built.
  static Result<ActionTable> Build(const Config& config, const ActionDependencies& deps);

  // As Build, with `make` choosing each action's implementation (tests inject faulty ones).
  using ActionMaker = std::function<Result<std::unique_ptr<Action>>(const ActionConfig&)>;
  static Result<ActionTable> BuildWith(const Config& config, const ActionMaker& make);

  // nullptr when no such enabled observer or action exists (e.g. removed from the config while
  // its deliveries were queued).
  const Entry* Find(std::string_view observer, size_t index) const;

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> first_entry_of_observer_;
};

}  // namespace fraiseql
