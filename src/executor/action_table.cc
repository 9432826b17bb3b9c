#include "executor/action_table.h"

#include <utility>

namespace fraiseql {

Result<ActionTable> ActionTable::Build(const Config& config, const ActionDependencies& deps) {
  return BuildWith(config, [&deps](const ActionConfig& action) { return MakeAction(action, deps); });
}

Result<ActionTable> ActionTable::BuildWith(const Config& config, const ActionMaker& make) {
  ActionTable table;
  std::string problems;
  for (const ObserverConfig& observer : config.observers) {
    if (!observer.enabled) continue;
    table.first_entry_of_observer_.emplace(observer.name, table.entries_.size());
    for (size_t index = 0; index < observer.actions.size(); ++index) {
      const ActionConfig& action_config = observer.actions[index];
      Result<std::unique_ptr<Action>> action = make(action_config);
      if (!action) {
        if (!problems.empty()) problems += "\n";
        problems += "observer '" + observer.name + "' action " + std::to_string(index) + " (" +
                    std::string(ActionTypeName(action_config.type)) + "): " + action.error().message;
        continue;
      }
      table.entries_.push_back(Entry{&observer, index, &action_config, std::move(*action)});
    }
  }
  if (!problems.empty()) return Error::InvalidArgument(std::move(problems));
  return table;
}

const ActionTable::Entry* ActionTable::Find(std::string_view observer, size_t index) const {
  const auto found = first_entry_of_observer_.find(std::string(observer));
  if (found == first_entry_of_observer_.end()) return nullptr;
  const size_t position = found->second + index;
  if (position >= entries_.size()) return nullptr;
  const Entry& entry = entries_[position];
  if (entry.observer->name != observer || entry.index != index) return nullptr;
  return &entry;
}

}  // namespace fraiseql
