#include "common/json_text.h"

namespace fraiseql {

void AppendJson(std::string& out, const nlohmann::json& value) {
  // What basic_json::dump does, with `out` as the serializer's sink instead of a new string.
  nlohmann::detail::serializer<nlohmann::json> serializer(
      nlohmann::detail::output_adapter<char, std::string>(out), ' ', nlohmann::json::error_handler_t::replace);
  serializer.dump(value, false, false, 0);
}

void AppendJsonString(std::string& out, std::string_view text) {
  // Most strings here (ids, type names, timestamps) are printable ASCII without a quote or a
  // backslash: those are their own JSON form. The rest take nlohmann's escaping, so both paths
  // write the same bytes.
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x80 || c == '"' || c == '\\') {
      AppendJson(out, nlohmann::json(text));
      return;
    }
  }
  out += '"';
  out += text;
  out += '"';
}

std::string& JsonObjectText::Key(std::string_view key) {
  if (!first_) out_ += ',';
  first_ = false;
  out_ += '"';
  out_ += key;
  out_ += "\":";
  return out_;
}

}  // namespace fraiseql
