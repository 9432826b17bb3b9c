#include "config/env_expand.h"

#include <cctype>
#include <cstdlib>

namespace fraiseql {
namespace {

// Length of a variable name at the start of `text`, 0 if none.
size_t NameLength(std::string_view text) {
  if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) return 0;
  size_t n = 1;
  while (n < text.size() && (std::isalnum(static_cast<unsigned char>(text[n])) || text[n] == '_')) ++n;
  return n;
}

}  // namespace

std::optional<std::string> ProcessEnv(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<Expanded> ExpandEnv(std::string_view text, const EnvLookup& lookup) {
  Expanded out;
  out.text.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {  // escaped: a literal "${"
      out.text += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") == 0) {
      const size_t name_length = NameLength(text.substr(i + 2));
      if (name_length > 0 && i + 2 + name_length < text.size() && text[i + 2 + name_length] == '}') {
        const std::string_view name = text.substr(i + 2, name_length);
        std::optional<std::string> value = lookup ? lookup(name) : ProcessEnv(name);
        if (!value) {
          return Error::InvalidArgument("environment variable '" + std::string(name) +
                                        "' is not set (referenced as ${" + std::string(name) + "})")
              .At({"", 1, static_cast<uint32_t>(i + 1)});
        }
        out.text += *value;
        out.used_variables = true;
        i += 2 + name_length + 1;
        continue;
      }
    }
    out.text += text[i++];
  }
  return out;
}

}  // namespace fraiseql
