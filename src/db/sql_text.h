// Text forms of statement parameters for every db/ user: timestamps, array literals, and JSON that
// neither throws on invalid UTF-8 nor carries U+0000 (a quoted error body may hold any bytes).
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/timestamp.h"

namespace fraiseql::sql_text {

// RFC 3339 with microseconds in UTC, which timestamptz input accepts.
inline std::string Timestamp(std::chrono::system_clock::time_point at) { return FormatTimestamp(at); }

// "{a,b}" for ids that are canonical UUIDs (callers check with NormalizeUuid): they hold no
// character an array literal would need to quote.
inline std::string UuidArray(std::span<const std::string> ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += ids[i];
  }
  out += '}';
  return out;
}

inline std::string BigintArray(std::span<const int64_t> values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

// `text` (JSON) with each \u0000 escape as \ufffd: jsonb refuses U+0000 (SQLSTATE 22P05), and
// one NUL byte in a quoted error body must not make a write fail.
inline void ReplaceNulEscapes(std::string& text) {
  for (size_t at = text.find("\\u0000"); at != std::string::npos; at = text.find("\\u0000", at + 1)) {
    // An escape only when an odd number of backslashes ends here ("\\\\u0000" is a backslash
    // followed by the letters u0000).
    size_t backslashes = 0;
    for (size_t i = at + 1; i-- > 0 && text[i] == '\\';) ++backslashes;
    if (backslashes % 2 == 1) text.replace(at, 6, "\\ufffd");
  }
}

// Invalid UTF-8 becomes U+FFFD rather than an exception, and so does U+0000 (ReplaceNulEscapes).
inline std::string Json(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ReplaceNulEscapes(text);
  return text;
}

// How large one JSON array parameter may grow before a writer starts another statement: far
// under jsonb's 256 MB limit on one value (SQLSTATE 54000), so a batch of large rows is written
// in several statements of one transaction rather than refused.
inline constexpr size_t kMaxJsonArrayBytes = size_t{64} << 20;

// JSON array texts made of elements added one by one (each one JSON value, as Json() writes it),
// each array at most `max_bytes` long unless one element alone is longer: that one travels in an
// array of its own.
class JsonArrayTexts {
 public:
  explicit JsonArrayTexts(size_t max_bytes = kMaxJsonArrayBytes) : max_bytes_(max_bytes) {}

  void Add(std::string_view element_text) {
    if (current_.size() > 1 && current_.size() + element_text.size() + 2 > max_bytes_) {
      arrays_.push_back(std::move(current_) + "]");
      current_ = "[";
    }
    if (current_.size() > 1) current_ += ',';
    current_ += element_text;
  }

  std::vector<std::string> Finish() && {
    if (current_.size() > 1) arrays_.push_back(std::move(current_) + "]");
    return std::move(arrays_);
  }

 private:
  size_t max_bytes_;
  std::vector<std::string> arrays_;
  std::string current_ = "[";
};

// `elements` as JSON array texts (JsonArrayTexts).
inline std::vector<std::string> JsonArrays(std::span<const nlohmann::json> elements,
                                           size_t max_bytes = kMaxJsonArrayBytes) {
  JsonArrayTexts arrays(max_bytes);
  for (const nlohmann::json& element : elements) arrays.Add(Json(element));
  return std::move(arrays).Finish();
}

}  // namespace fraiseql::sql_text
