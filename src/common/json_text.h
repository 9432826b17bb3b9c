// JsonObjectText: JSON object text written field by field, for the hot paths (job rows, webhook
// bodies) that would otherwise copy an event's data into a tree only to dump and destroy it.
// Thread-safety: a value type; one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fraiseql {

// Appends what nlohmann's dump(-1, ' ', false, error_handler_t::replace) writes for `value`:
// compact, UTF-8 kept, invalid UTF-8 as U+FFFD. No temporary string.
void AppendJson(std::string& out, const nlohmann::json& value);

// Appends `text` as a JSON string, the same bytes AppendJson(out, nlohmann::json(text)) writes.
void AppendJsonString(std::string& out, std::string_view text);

// Writes `{"key":value,...}` onto the end of a string. Keys are not escaped: callers pass
// literals. To write the bytes dump() would, add the keys in ascending byte order, as
// nlohmann's std::map keeps them.
class JsonObjectText {
 public:
  explicit JsonObjectText(std::string& out) : out_(out) { out_ += '{'; }
  JsonObjectText(const JsonObjectText&) = delete;
  JsonObjectText& operator=(const JsonObjectText&) = delete;

  void Json(std::string_view key, const nlohmann::json& value) { AppendJson(Key(key), value); }
  void String(std::string_view key, std::string_view value) { AppendJsonString(Key(key), value); }
  void Int(std::string_view key, int64_t value) { Key(key) += std::to_string(value); }
  void Null(std::string_view key) { Key(key) += "null"; }
  // `json_text` must be one JSON value already (another writer's output).
  void Raw(std::string_view key, std::string_view json_text) { Key(key) += json_text; }
  // Writes the key; the caller then appends exactly one JSON value to the returned string.
  std::string& Value(std::string_view key) { return Key(key); }
  // Closes the object; nothing may be added afterwards.
  void Close() { out_ += '}'; }

 private:
  std::string& Key(std::string_view key);

  std::string& out_;
  bool first_ = true;
};

}  // namespace fraiseql
