// TableReader: typed, located reads from one TOML table, used by the config loader.
// Every accessor records its key as known, so Finish() can report the keys nobody asked for
// ("unknown key ... did you mean ...?"). Errors and warnings go to a shared sink.
// Thread-safety: single-threaded, lives for one load.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "common/diagnostic.h"
#include "common/secret.h"
#include "config/env_expand.h"

namespace fraiseql::config_internal {

// The file being loaded, its diagnostics, and the environment.
class LoadContext {
 public:
  LoadContext(std::string file_name, std::string_view text, EnvLookup env);
  // lines_ points into text_: never copied or moved.
  LoadContext(const LoadContext&) = delete;
  LoadContext& operator=(const LoadContext&) = delete;

  void Error(const SourceLocation& where, std::string message);
  void Warning(const SourceLocation& where, std::string message);
  std::vector<Diagnostic> TakeDiagnostics();
  bool has_errors() const { return error_count_ > 0; }

  SourceLocation Where(const toml::source_region& region) const;
  SourceLocation Where(const toml::node& node) const { return Where(node.source()); }
  // Location of byte `offset` inside the string value `node` (its opening quote excluded).
  SourceLocation WhereInString(const toml::node& node, size_t offset) const;
  // Location of `inner` (line/column inside the string) within the string value `node`.
  SourceLocation WhereInString(const toml::node& node, const SourceLocation& inner) const;

  const EnvLookup& env() const { return env_; }
  const std::string& file_name() const { return file_name_; }

 private:
  std::string file_name_;
  std::vector<std::string_view> lines_;  // into text_
  std::string text_;
  EnvLookup env_;
  std::vector<Diagnostic> diagnostics_;
  size_t error_count_ = 0;
};

// A string value after ${VAR} expansion.
struct StringValue {
  std::string text;
  bool from_environment = false;  // came (partly) from a variable: treat as sensitive
  const toml::node* node = nullptr;
  // What the file says, for messages about a value from the environment: the string as written
  // ("https://${HOOK_HOST}/x"), or for a *_env key the variable's name (then via_env_key).
  std::string raw;
  bool via_env_key = false;
};

// How a value is quoted in a message: `"text"`, or, when it came from the environment, what
// the file says (`"${HOOK_URL}/x"`, `the value of $HOOK_URL`): a diagnostic quotes the file,
// never the environment.
std::string Shown(const StringValue& value);
// The same for a URL, whose userinfo and credential parameters are redacted (common/url.h):
// the file may hold them literally.
std::string ShownUrl(const StringValue& value);
// The same for a part of a value: a placeholder when it came from the environment.
std::string Shown(std::string_view text, bool from_environment);

class TableReader {
 public:
  // `section` names the table in messages: "[performance]", "observers[2].retry".
  TableReader(const toml::table& table, std::string section, LoadContext& context);

  const std::string& section() const { return section_; }
  SourceLocation Where() const { return context_.Where(table_); }
  LoadContext& context() { return context_; }

  // The raw node, or nullptr when absent. Records the key as known.
  const toml::node* Node(std::string_view key);
  bool Has(std::string_view key) const { return table_.contains(key); }

  std::optional<StringValue> String(std::string_view key);
  // A present value must be non-empty.
  std::optional<StringValue> NonEmptyString(std::string_view key);
  std::string StringOr(std::string_view key, std::string fallback);
  // One string or an array of strings.
  std::vector<StringValue> StringList(std::string_view key);
  bool Bool(std::string_view key, bool fallback);
  int64_t Integer(std::string_view key, int64_t fallback, int64_t min, int64_t max);
  template <typename T>
  T Unsigned(std::string_view key, T fallback, T min = 0, T max = std::numeric_limits<T>::max()) {
    return static_cast<T>(Integer(key, static_cast<int64_t>(fallback), static_cast<int64_t>(min),
                                  static_cast<int64_t>(std::min<uint64_t>(max, INT64_MAX))));
  }
  double Number(std::string_view key, double fallback, double min, double max);
  std::chrono::milliseconds Millis(std::string_view key, std::chrono::milliseconds fallback,
                                   int64_t min_ms = 0);
  // A duration written as "30s", "500ms", "2m", "1h" (or an integer number of seconds).
  std::chrono::milliseconds Duration(std::string_view key, std::chrono::milliseconds fallback);
  // One of `choices` (case-insensitive); returns its index, or `fallback` when absent/invalid.
  size_t Choice(std::string_view key, std::initializer_list<std::string_view> choices,
                size_t fallback);
  // `key` (a literal, ${VAR} allowed) or `key_env` (names a variable that must be set).
  // Both given is an error. Returns the value and whether it came from the environment.
  std::optional<StringValue> ValueOrEnv(std::string_view key, std::string_view env_key);
  // The value of the variable that `name` (read from `env_key`) names; an error when it is not
  // set or empty.
  std::optional<StringValue> ResolveEnvName(const StringValue& name, std::string_view env_key);
  const toml::table* Table(std::string_view key);
  // Any TOML value as JSON, with ${VAR} expanded in its strings; null when absent.
  nlohmann::json Json(std::string_view key);

  // At the value of `key` (the table itself when the key is absent).
  void ErrorAt(std::string_view key, std::string message);
  void WarningAt(std::string_view key, std::string message);
  void Error(std::string message);
  void Warning(std::string message);

  // Reports every key of the table that no accessor asked for.
  void Finish();

 private:
  void ExpandJsonStrings(nlohmann::json& value, std::string_view key);
  void Expect(const toml::node& node, std::string_view key, std::string_view what);
  std::string Qualified(std::string_view key) const;

  const toml::table& table_;
  std::string section_;
  LoadContext& context_;
  std::vector<std::string> known_;  // owned: some keys are built at run time (headers)
};

// Converts any TOML value to JSON (datetimes as RFC 3339 strings).
nlohmann::json TomlToJson(const toml::node& node);

}  // namespace fraiseql::config_internal
