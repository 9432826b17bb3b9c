// Value encodings of the template renderings: JSON string escaping, glob escaping and compact
// JSON, written straight into the output buffer.
#include "template/renderers.h"

#include <charconv>
#include <cstdint>
#include <type_traits>

#include "event/entity_event.h"

namespace fraiseql::template_internal {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
constexpr std::string_view kHexDigits = "0123456789abcdef";

template <typename Integer>
void AppendInteger(std::string& out, Integer value) {
  static_assert(std::is_integral_v<Integer>);
  char buffer[24];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (error == std::errc()) out.append(buffer, end);
}

// Length of the well-formed UTF-8 sequence at text[i] (Unicode table 3-7: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 when there is none.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&text](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80;  // bounds of the second byte; later bytes are always 80..BF
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead == 0xE0) {
    length = 3;
    low = 0xA0;
  } else if (lead == 0xED) {
    length = 3;
    high = 0x9F;
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    length = 3;
  } else if (lead == 0xF0) {
    length = 4;
    low = 0x90;
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    length = 4;
  } else if (lead == 0xF4) {
    length = 4;
    high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

void AppendEscapedControl(std::string& out, unsigned char c) {
  switch (c) {
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default:
      out += "\\u00";
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 0x0F];
  }
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view text) {
  // Copies runs of bytes that need no escaping in one append; most values are such a run.
  size_t run_start = 0;
  size_t i = 0;
  const auto flush = [&] { out.append(text.substr(run_start, i - run_start)); };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, i);
      if (length > 0) {
        i += length;
        continue;
      }
      flush();
      out += kReplacementCharacter;
    } else {
      flush();
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else {
        AppendEscapedControl(out, c);
      }
    }
    ++i;
    run_start = i;
  }
  flush();
}

void AppendGlobEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\' || c == '*' || c == '?' || c == '[' || c == ']') out += '\\';
    out += c;
  }
}

void AppendCompactJson(std::string& out, const nlohmann::json& value) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::null: out += "null"; return;
    case Type::boolean: out += value.get<bool>() ? "true" : "false"; return;
    case Type::number_integer: AppendInteger(out, value.get<int64_t>()); return;
    case Type::number_unsigned: AppendInteger(out, value.get<uint64_t>()); return;
    case Type::string:
      out += '"';
      AppendJsonEscaped(out, value.get_ref<const std::string&>());
      out += '"';
      return;
    default:
      // Objects, arrays, floats (nlohmann prints the shortest round-trip form).
      out += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

void AppendTextValue(std::string& out, const ValueRef& value) {
  switch (value.kind()) {
    case ValueRef::Kind::kText: out += value.text(); return;
    case ValueRef::Kind::kInteger: AppendInteger(out, value.integer()); return;
    case ValueRef::Kind::kTimestamp: out += FormatTimestamp(value.timestamp()); return;
    case ValueRef::Kind::kJson:
      if (value.json().is_string()) {
        out += value.json().get_ref<const std::string&>();
      } else {
        AppendCompactJson(out, value.json());
      }
      return;
    case ValueRef::Kind::kMissing: return;
  }
}

void AppendGlobValue(std::string& out, const ValueRef& value) {
  switch (value.kind()) {
    case ValueRef::Kind::kText: AppendGlobEscaped(out, value.text()); return;
    case ValueRef::Kind::kJson:
      if (value.json().is_string()) {
        AppendGlobEscaped(out, value.json().get_ref<const std::string&>());
        return;
      }
      break;
    default: break;
  }
  std::string text;
  AppendTextValue(text, value);
  AppendGlobEscaped(out, text);
}

void AppendJsonValue(std::string& out, const ValueRef& value) {
  switch (value.kind()) {
    case ValueRef::Kind::kText: AppendJsonEscaped(out, value.text()); return;
    case ValueRef::Kind::kInteger: AppendInteger(out, value.integer()); return;
    case ValueRef::Kind::kTimestamp:
      AppendJsonEscaped(out, FormatTimestamp(value.timestamp()));
      return;
    case ValueRef::Kind::kJson:
      if (value.json().is_string()) {
        AppendJsonEscaped(out, value.json().get_ref<const std::string&>());
      } else {
        AppendCompactJson(out, value.json());
      }
      return;
    case ValueRef::Kind::kMissing: return;
  }
}

}  // namespace fraiseql::template_internal
