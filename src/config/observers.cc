// Reading [[observers]] / [observers.<name>]: names, kinds, condition, retry, failure policy;
// each action table is handed to ReadAction (action_readers.cc).
#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "common/text.h"
#include "config/loader.h"

namespace fraiseql::config_internal {
namespace {

// How diagnostics name an observer: "observer 'orders'", or, when the name came from the
// environment, what the file says ("observer \"${ORDERS_NAME}\"").
std::string Label(const ObserverConfig& observer, const std::optional<StringValue>& name) {
  if (observer.name_from_environment && name) return "observer " + Shown(*name);
  return "observer '" + observer.name + "'";
}

class ObserverReader {
 public:
  ObserverReader(TableReader& in, std::string label) : in_(in), label_(std::move(label)) {}

  void ReadCondition(ObserverConfig& observer) {
    std::optional<StringValue> source = in_.String("condition");
    if (!source) return;
    Result<Condition> condition = Condition::Compile(source->text);
    LoadContext& context = in_.context();
    if (source->from_environment) {
      // The parser's messages quote the expression's words, which came (perhaps) from a
      // variable: a diagnostic points at the file's text instead and says what kind it is.
      if (!condition) {
        context.Error(context.Where(*source->node),
                      "condition of " + label_ + " (" + Shown(*source) +
                          ") does not compile once its variables are expanded; the parser's message is withheld "
                          "because it would quote the environment's values (write the condition in the file to "
                          "see it)");
        return;
      }
      if (!condition->warnings().empty()) {
        context.Warning(context.Where(*source->node),
                        "condition of " + label_ + " (" + Shown(*source) + ") draws " +
                            std::to_string(condition->warnings().size()) +
                            " warning(s) once its variables are expanded; they are withheld because they would "
                            "quote the environment's values");
      }
      observer.condition = std::move(*condition);
      observer.condition_from_environment = true;
      return;
    }
    if (!condition) {
      const SourceLocation inner = condition.error().location.value_or(SourceLocation{});
      context.Error(context.WhereInString(*source->node, inner),
                    "condition of " + label_ + ": " + condition.error().message);
      return;
    }
    for (const Diagnostic& warning : condition->warnings()) {
      context.Warning(context.WhereInString(*source->node, warning.location),
                      "condition of " + label_ + ": " + warning.message);
    }
    observer.condition = std::move(*condition);
    observer.condition_from_environment = source->from_environment;
  }

  void ReadEventKinds(ObserverConfig& observer) {
    const toml::node* node = in_.Node("event_type");
    LoadContext& context = in_.context();
    if (!node) {
      in_.Error(label_ + " needs 'event_type': INSERT, UPDATE, DELETE, CUSTOM, a list of them, or \"*\"");
      return;
    }
    const auto add = [&](const toml::node& element) {
      if (!element.is_string()) {
        context.Error(context.Where(element), "'event_type' entries must be strings such as \"INSERT\"");
        return;
      }
      const std::string& text = element.as_string()->get();
      if (text == "*") {
        observer.event_kinds = EventKindSet::All();
      } else if (auto kind = ParseEventKind(text)) {
        observer.event_kinds.Add(*kind);
      } else {
        std::string message = "unknown event_type \"" + text +
                              "\"; expected INSERT, UPDATE, DELETE, CUSTOM or \"*\"";
        static constexpr std::array<std::string_view, 4> kKinds = {"INSERT", "UPDATE", "DELETE", "CUSTOM"};
        if (auto suggestion = ClosestMatch(ToUpperAscii(text), kKinds)) {
          message += " (did you mean \"" + *suggestion + "\"?)";
        }
        context.Error(context.Where(element), std::move(message));
      }
    };
    if (node->is_array()) {
      if (node->as_array()->empty()) context.Error(context.Where(*node), "'event_type' must not be empty");
      for (const toml::node& element : *node->as_array()) add(element);
    } else {
      add(*node);
    }
  }

  void ReadRetry(ObserverConfig& observer) {
    const toml::table* table = in_.Table("retry");
    if (!table) return;
    TableReader in(*table, in_.section() + ".retry", in_.context());
    RetryPolicy& retry = observer.retry;
    retry.max_attempts = in.Unsigned<uint32_t>("max_attempts", retry.max_attempts, 1, 1000);
    retry.initial_delay = in.Millis("initial_delay_ms", retry.initial_delay);
    retry.max_delay = in.Millis("max_delay_ms", retry.max_delay);
    retry.backoff = static_cast<BackoffStrategy>(
        in.Choice("backoff_strategy", {"exponential", "linear", "fixed"}, 0));
    retry.jitter = in.Bool("jitter", retry.backoff == BackoffStrategy::kExponential);
    if (retry.max_delay < retry.initial_delay) {
      in.ErrorAt("max_delay_ms", "'" + in.section() + ".max_delay_ms' (" +
                                     std::to_string(retry.max_delay.count()) +
                                     ") is smaller than 'initial_delay_ms' (" +
                                     std::to_string(retry.initial_delay.count()) + ")");
    }
    in.Finish();
  }

  void ReadFailurePolicy(ObserverConfig& observer) {
    const toml::node* node = in_.Node("on_failure");
    if (!node) return;
    LoadContext& context = in_.context();
    if (node->is_table()) {
      // The anchor's examples write an empty [observers.on_failure] table; accept it, with
      // `policy = "..."` inside, and say how to write it plainly.
      TableReader in(*node->as_table(), in_.section() + ".on_failure", context);
      observer.on_failure = static_cast<FailurePolicy>(in.Choice("policy", {"dlq", "log", "alert"}, 0));
      in.Finish();
      context.Warning(context.Where(*node),
                      "'on_failure' is a table; write on_failure = \"" +
                          std::string(FailurePolicyName(observer.on_failure)) +
                          "\" (an empty table means the default, \"dlq\")");
      return;
    }
    observer.on_failure = static_cast<FailurePolicy>(in_.Choice("on_failure", {"dlq", "log", "alert"}, 0));
  }

  void ReadActions(ObserverConfig& observer) {
    const toml::node* node = in_.Node("actions");
    LoadContext& context = in_.context();
    if (!node || (node->is_array() && node->as_array()->empty())) {
      in_.Error(label_ + " has no actions; add at least one [[observers.actions]]");
      return;
    }
    if (!node->is_array()) {
      context.Error(context.Where(*node), "'actions' must be an array of tables ([[observers.actions]])");
      return;
    }
    size_t index = 0;
    for (const toml::node& element : *node->as_array()) {
      const std::string section = in_.section() + ".actions[" + std::to_string(index++) + "]";
      if (!element.is_table()) {
        context.Error(context.Where(element), "'" + section + "' must be a table");
        continue;
      }
      TableReader in(*element.as_table(), section, context);
      // Without a known type the other keys cannot be judged, so only the type is reported.
      if (std::optional<ActionConfig> action = ReadAction(in)) {
        observer.actions.push_back(std::move(*action));
        in.Finish();
      }
    }
  }

 private:
  TableReader& in_;
  const std::string label_;
};

std::string Slug(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : '_';
  }
  return out;
}

// "order_insert_0": derived from entity, event kinds and the position in the file.
std::string DerivedName(const toml::table& table, size_t index) {
  std::string entity = "any";
  if (const toml::node* node = table.get("entity"); node && node->is_string() && node->as_string()->get() != "*") {
    entity = Slug(node->as_string()->get());
  }
  std::string kinds;
  const auto add = [&kinds](const toml::node& node) {
    if (!node.is_string()) return;
    const std::string& text = node.as_string()->get();
    kinds += (kinds.empty() ? "" : "_") + (text == "*" ? std::string("any") : Slug(text));
  };
  if (const toml::node* node = table.get("event_type")) {
    if (node->is_array()) {
      for (const toml::node& element : *node->as_array()) add(element);
    } else {
      add(*node);
    }
  }
  return entity + "_" + (kinds.empty() ? "any" : kinds) + "_" + std::to_string(index);
}

void ReadObserver(TableReader& in, ObserverConfig observer, const std::string& label, Config& config) {
  ObserverReader reader(in, label);
  observer.location = in.Where();
  if (auto entity = in.NonEmptyString("entity")) {
    observer.entity = entity->text;
  } else if (!in.Has("entity")) {
    in.Error(label + " needs 'entity': a type name such as \"Order\", or \"*\"");
  }
  reader.ReadEventKinds(observer);
  reader.ReadCondition(observer);
  reader.ReadActions(observer);
  reader.ReadRetry(observer);
  reader.ReadFailurePolicy(observer);
  observer.enabled = in.Bool("enabled", true);
  in.Finish();
  config.observers.push_back(std::move(observer));
}

}  // namespace

void ReadObservers(TableReader& root, Config& config) {
  const toml::node* node = root.Node("observers");
  if (!node) return;
  LoadContext& context = root.context();
  std::set<std::string> names;
  // `shown` is the name as a message quotes it (what the file says, for one from the environment).
  const auto claim_name = [&](const std::string& name, const std::string& shown, const SourceLocation& where) {
    if (!names.insert(name).second) {
      context.Error(where, "observer name " + shown + " is used twice; names must be unique");
    }
  };

  if (node->is_array()) {
    size_t index = 0;
    for (const toml::node& element : *node->as_array()) {
      const std::string section = "observers[" + std::to_string(index) + "]";
      if (!element.is_table()) {
        context.Error(context.Where(element), "'" + section + "' must be a table ([[observers]])");
        ++index;
        continue;
      }
      TableReader in(*element.as_table(), section, context);
      ObserverConfig observer;
      const std::optional<StringValue> name = in.NonEmptyString("name");
      if (name) {
        observer.name = name->text;
        observer.name_from_environment = name->from_environment;
      } else {
        observer.name = DerivedName(*element.as_table(), index);
      }
      const std::string label = Label(observer, name);
      claim_name(observer.name, observer.name_from_environment ? Shown(*name) : "'" + observer.name + "'", in.Where());
      ReadObserver(in, std::move(observer), label, config);
      ++index;
    }
  } else if (node->is_table()) {
    // toml++ keeps keys sorted; observers are kept in the order the file declares them.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, value] : *node->as_table()) entries.emplace_back(&key, &value);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second->source().begin.line, a.second->source().begin.column) <
             std::tie(b.second->source().begin.line, b.second->source().begin.column);
    });
    for (const auto& [key_pointer, value_pointer] : entries) {
      const toml::key& key = *key_pointer;
      const toml::node& value = *value_pointer;
      const std::string name(key.str());
      if (!value.is_table()) {
        context.Error(context.Where(value), "'observers." + name + "' must be a table ([observers." + name + "])");
        continue;
      }
      TableReader in(*value.as_table(), "observers." + name, context);
      if (in.Has("name")) {
        in.ErrorAt("name", "'observers." + name + "' takes its name from the table key; remove 'name'");
        in.Node("name");
      }
      ObserverConfig observer;
      observer.name = name;
      const std::string label = Label(observer, std::nullopt);
      claim_name(name, "'" + name + "'", in.Where());
      ReadObserver(in, std::move(observer), label, config);
    }
  } else {
    context.Error(context.Where(*node),
                  "'observers' must be an array of tables ([[observers]]) or a table of named observers "
                  "([observers.<name>])");
  }
}

}  // namespace fraiseql::config_internal
