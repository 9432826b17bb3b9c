#include "config/toml_reader.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/text.h"
#include "common/url.h"

namespace fraiseql::config_internal {
namespace {

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::optional<std::chrono::milliseconds> ParseDurationText(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  // At most 12 digits: 10^12 hours still fits in int64 milliseconds.
  if (digits == 0 || digits > 12) return std::nullopt;
  const int64_t amount = std::stoll(std::string(text.substr(0, digits)));
  const std::string_view unit = text.substr(digits);
  if (unit == "ms") return std::chrono::milliseconds(amount);
  if (unit == "s" || unit.empty()) return std::chrono::seconds(amount);
  if (unit == "m") return std::chrono::minutes(amount);
  if (unit == "h") return std::chrono::hours(amount);
  return std::nullopt;
}

}  // namespace

LoadContext::LoadContext(std::string file_name, std::string_view text, EnvLookup env)
    : file_name_(std::move(file_name)), text_(text), env_(std::move(env)) {
  size_t start = 0;
  const std::string_view all(text_);
  while (start <= all.size()) {
    const size_t end = all.find('\n', start);
    lines_.push_back(all.substr(start, end == std::string_view::npos ? all.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

void LoadContext::Error(const SourceLocation& where, std::string message) {
  diagnostics_.push_back({Severity::kError, where, std::move(message)});
  ++error_count_;
}

void LoadContext::Warning(const SourceLocation& where, std::string message) {
  diagnostics_.push_back({Severity::kWarning, where, std::move(message)});
}

std::vector<Diagnostic> LoadContext::TakeDiagnostics() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.location.line, a.location.column) < std::tie(b.location.line, b.location.column);
  });
  return std::move(diagnostics_);
}

SourceLocation LoadContext::Where(const toml::source_region& region) const {
  return {file_name_, std::max<uint32_t>(region.begin.line, 1), std::max<uint32_t>(region.begin.column, 1)};
}

SourceLocation LoadContext::WhereInString(const toml::node& node, size_t offset) const {
  return WhereInString(node, SourceLocation{"", 1, static_cast<uint32_t>(offset + 1)});
}

SourceLocation LoadContext::WhereInString(const toml::node& node,
                                          const SourceLocation& inner) const {
  SourceLocation out = Where(node);
  uint32_t delimiter = 1;
  bool newline_after_delimiter = false;
  if (out.line - 1 < lines_.size()) {
    const std::string_view line = lines_[out.line - 1];
    const size_t column = out.column - 1;
    if (line.compare(column, 3, "\"\"\"") == 0 || line.compare(column, 3, "'''") == 0) {
      delimiter = 3;
      // TOML drops a newline right after the opening delimiter of a multi-line string.
      newline_after_delimiter = column + 3 == line.size() ||
                                (column + 4 == line.size() && line.back() == '\r');
    }
  }
  out.column += delimiter;
  if (newline_after_delimiter) {
    ++out.line;
    out.column = 1;
  }
  if (inner.line == 1) {
    out.column += inner.column - 1;
  } else {
    out.line += inner.line - 1;
    out.column = inner.column;
  }
  return out;
}

std::string Shown(std::string_view text, bool from_environment) {
  return from_environment ? "(a value from the environment)" : "\"" + std::string(text) + "\"";
}

std::string Shown(const StringValue& value) {
  if (!value.from_environment) return Shown(value.text, false);
  if (value.via_env_key) return "the value of $" + value.raw;
  return "\"" + TruncateUtf8(value.raw, 200) + "\"";
}

std::string ShownUrl(const StringValue& value) {
  if (!value.from_environment) return "\"" + TruncateUtf8(RedactUrl(value.text), 200) + "\"";
  if (value.via_env_key) return "the value of $" + value.raw;
  return "\"" + TruncateUtf8(RedactUrl(value.raw), 200) + "\"";
}

TableReader::TableReader(const toml::table& table, std::string section, LoadContext& context)
    : table_(table), section_(std::move(section)), context_(context) {}

std::string TableReader::Qualified(std::string_view key) const {
  return section_.empty() ? std::string(key) : section_ + "." + std::string(key);
}

const toml::node* TableReader::Node(std::string_view key) {
  known_.emplace_back(key);
  return table_.get(key);
}

void TableReader::Expect(const toml::node& node, std::string_view key, std::string_view what) {
  context_.Error(context_.Where(node), "'" + Qualified(key) + "' must be " + std::string(what) +
                                           ", not " + std::string(TypeName(node)));
}

void TableReader::ErrorAt(std::string_view key, std::string message) {
  const toml::node* node = table_.get(key);
  context_.Error(node ? context_.Where(*node) : Where(), std::move(message));
}

void TableReader::WarningAt(std::string_view key, std::string message) {
  const toml::node* node = table_.get(key);
  context_.Warning(node ? context_.Where(*node) : Where(), std::move(message));
}

void TableReader::Error(std::string message) { context_.Error(Where(), std::move(message)); }
void TableReader::Warning(std::string message) { context_.Warning(Where(), std::move(message)); }

std::optional<StringValue> TableReader::String(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) {
    Expect(*node, key, "a string");
    return std::nullopt;
  }
  Result<Expanded> expanded = ExpandEnv(node->as_string()->get(), context_.env());
  if (!expanded) {
    const uint32_t column = expanded.error().location ? expanded.error().location->column : 1;
    context_.Error(context_.WhereInString(*node, column - 1),
                   "'" + Qualified(key) + "': " + expanded.error().message);
    return std::nullopt;
  }
  return StringValue{std::move(expanded->text), expanded->used_variables, node, node->as_string()->get()};
}

std::optional<StringValue> TableReader::NonEmptyString(std::string_view key) {
  std::optional<StringValue> value = String(key);
  if (value && value->text.empty()) {
    context_.Error(context_.Where(*value->node), "'" + Qualified(key) + "' must not be empty");
    return std::nullopt;
  }
  return value;
}

std::string TableReader::StringOr(std::string_view key, std::string fallback) {
  std::optional<StringValue> value = NonEmptyString(key);
  return value ? std::move(value->text) : std::move(fallback);
}

std::vector<StringValue> TableReader::StringList(std::string_view key) {
  std::vector<StringValue> out;
  const toml::node* node = table_.get(key);
  if (node && node->is_array()) {
    known_.emplace_back(key);
    size_t index = 0;
    for (const toml::node& element : *node->as_array()) {
      if (!element.is_string()) {
        context_.Error(context_.Where(element), "'" + Qualified(key) + "[" + std::to_string(index) +
                                                    "]' must be a string, not " +
                                                    std::string(TypeName(element)));
      } else {
        Result<Expanded> expanded = ExpandEnv(element.as_string()->get(), context_.env());
        if (!expanded) {
          context_.Error(context_.Where(element), "'" + Qualified(key) + "': " + expanded.error().message);
        } else {
          out.push_back({std::move(expanded->text), expanded->used_variables, &element, element.as_string()->get()});
        }
      }
      ++index;
    }
    return out;
  }
  if (std::optional<StringValue> single = String(key)) out.push_back(std::move(*single));
  return out;
}

bool TableReader::Bool(std::string_view key, bool fallback) {
  const toml::node* node = Node(key);
  if (!node) return fallback;
  if (!node->is_boolean()) {
    Expect(*node, key, "true or false");
    return fallback;
  }
  return node->as_boolean()->get();
}

int64_t TableReader::Integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) {
  const toml::node* node = Node(key);
  if (!node) return fallback;
  if (!node->is_integer()) {
    Expect(*node, key, "an integer");
    return fallback;
  }
  const int64_t value = node->as_integer()->get();
  if (value < min || value > max) {
    std::string range = max == INT64_MAX ? "at least " + std::to_string(min)
                                         : "between " + std::to_string(min) + " and " + std::to_string(max);
    context_.Error(context_.Where(*node),
                   "'" + Qualified(key) + "' is " + std::to_string(value) + "; it must be " + range);
    return fallback;
  }
  return value;
}

double TableReader::Number(std::string_view key, double fallback, double min, double max) {
  const toml::node* node = Node(key);
  if (!node) return fallback;
  double value = 0;
  if (node->is_integer()) {
    value = static_cast<double>(node->as_integer()->get());
  } else if (node->is_floating_point()) {
    value = node->as_floating_point()->get();
  } else {
    Expect(*node, key, "a number");
    return fallback;
  }
  if (!(value >= min && value <= max)) {
    std::ostringstream message;
    message << "'" << Qualified(key) << "' is " << value << "; it must be between " << min << " and "
            << max;
    context_.Error(context_.Where(*node), message.str());
    return fallback;
  }
  return value;
}

std::chrono::milliseconds TableReader::Millis(std::string_view key,
                                              std::chrono::milliseconds fallback, int64_t min_ms) {
  return std::chrono::milliseconds(Integer(key, fallback.count(), min_ms, INT64_MAX / 1000));
}

std::chrono::milliseconds TableReader::Duration(std::string_view key,
                                                std::chrono::milliseconds fallback) {
  const toml::node* node = Node(key);
  if (!node) return fallback;
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000 / 3600;  // ~81 years: far beyond any sane timeout
  if (node->is_integer() && node->as_integer()->get() >= 0 && node->as_integer()->get() <= kMaxSeconds) {
    return std::chrono::seconds(node->as_integer()->get());
  }
  if (node->is_string()) {
    if (auto duration = ParseDurationText(node->as_string()->get());
        duration && *duration <= std::chrono::seconds(kMaxSeconds)) {
      return *duration;
    }
  }
  context_.Error(context_.Where(*node), "'" + Qualified(key) +
                                            "' must be a duration such as \"30s\", \"500ms\", "
                                            "\"2m\" or \"1h\"");
  return fallback;
}

size_t TableReader::Choice(std::string_view key, std::initializer_list<std::string_view> choices,
                           size_t fallback) {
  std::optional<StringValue> value = String(key);
  if (!value) return fallback;
  size_t index = 0;
  for (std::string_view choice : choices) {
    if (EqualsIgnoreCase(choice, value->text)) return index;
    ++index;
  }
  std::string list;
  for (std::string_view choice : choices) list += (list.empty() ? "" : ", ") + std::string(choice);
  std::string message = "'" + Qualified(key) + "' is " + Shown(*value) + "; expected one of " + list;
  const std::vector<std::string_view> candidates(choices);
  if (auto suggestion = ClosestMatch(value->text, candidates); suggestion && !value->from_environment) {
    message += " (did you mean \"" + *suggestion + "\"?)";
  }
  context_.Error(context_.Where(*value->node), std::move(message));
  return fallback;
}

std::optional<StringValue> TableReader::ValueOrEnv(std::string_view key, std::string_view env_key) {
  std::optional<StringValue> literal = String(key);
  std::optional<StringValue> variable_name = String(env_key);
  if (literal && variable_name) {
    ErrorAt(env_key, "give either '" + Qualified(key) + "' or '" + Qualified(env_key) + "', not both");
    return std::nullopt;
  }
  if (literal) {
    if (literal->text.empty()) {
      ErrorAt(key, "'" + Qualified(key) + "' must not be empty");
      return std::nullopt;
    }
    return literal;
  }
  if (!variable_name) return std::nullopt;
  return ResolveEnvName(*variable_name, env_key);
}

std::optional<StringValue> TableReader::ResolveEnvName(const StringValue& name, std::string_view env_key) {
  std::optional<std::string> value = context_.env()(name.text);
  if (!value || value->empty()) {
    context_.Error(context_.Where(*name.node), "environment variable '" + name.text + "' named by '" +
                                                   Qualified(env_key) + "' is " +
                                                   (value ? "empty" : "not set"));
    return std::nullopt;
  }
  return StringValue{std::move(*value), true, name.node, name.text, /*via_env_key=*/true};
}

const toml::table* TableReader::Table(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return nullptr;
  if (!node->is_table()) {
    Expect(*node, key, "a table");
    return nullptr;
  }
  return node->as_table();
}

nlohmann::json TableReader::Json(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return nullptr;
  nlohmann::json value = TomlToJson(*node);
  ExpandJsonStrings(value, key);
  return value;
}

void TableReader::ExpandJsonStrings(nlohmann::json& value, std::string_view key) {
  if (value.is_string()) {
    Result<Expanded> expanded = ExpandEnv(value.get_ref<const std::string&>(), context_.env());
    if (!expanded) {
      ErrorAt(key, "'" + Qualified(key) + "': " + expanded.error().message);
    } else {
      value = std::move(expanded->text);
    }
  } else if (value.is_structured()) {
    for (nlohmann::json& element : value) ExpandJsonStrings(element, key);
  }
}

void TableReader::Finish() {
  for (auto&& [key, node] : table_) {
    if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
    std::string message = "unknown key '" + std::string(key.str()) + "' in " +
                          (section_.empty() ? std::string("the top level") : section_);
    const std::vector<std::string_view> known(known_.begin(), known_.end());
    if (auto suggestion = ClosestMatch(key.str(), known)) {
      message += "; did you mean '" + *suggestion + "'?";
    }
    context_.Error(context_.Where(key.source()), std::move(message));
  }
}

nlohmann::json TomlToJson(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: return node.as_floating_point()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    case toml::node_type::array: {
      nlohmann::json out = nlohmann::json::array();
      for (const toml::node& element : *node.as_array()) out.push_back(TomlToJson(element));
      return out;
    }
    case toml::node_type::table: {
      nlohmann::json out = nlohmann::json::object();
      for (auto&& [key, value] : *node.as_table()) out[std::string(key.str())] = TomlToJson(value);
      return out;
    }
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: {
      std::ostringstream text;
      node.visit([&text](auto&& value) { text << value; });
      return text.str();
    }
    case toml::node_type::none: break;
  }
  return nullptr;
}

}  // namespace fraiseql::config_internal
