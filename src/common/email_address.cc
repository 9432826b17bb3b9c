#include "common/email_address.h"

#include "common/text.h"

namespace fraiseql {

std::optional<std::string> BareEmailAddress(std::string_view text) {
  if (text.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  text = TrimAsciiSpace(text);
  if (const size_t open = text.rfind('<'); open != std::string_view::npos) {
    if (text.back() != '>') return std::nullopt;
    text = text.substr(open + 1, text.size() - open - 2);
  }
  const size_t at = text.rfind('@');
  if (text.empty() || at == std::string_view::npos || at == 0 || at + 1 == text.size()) return std::nullopt;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '<' || c == '>' || c == ',' || c == '"') return std::nullopt;
  }
  return std::string(text);
}

}  // namespace fraiseql
