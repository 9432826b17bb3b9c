// Email addresses as the email action sends to them: the one rule the config loader applies at
// load time and the action applies to what its templates render, so an address that could never
// be sent to is refused before the daemon starts.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fraiseql {

// "Name <a@example.com>" or "a@example.com" -> "a@example.com"; nullopt when it is no address.
// Deliberately simple (no quoted local parts, no comments): the envelope needs the bare address.
// A line break anywhere (which could inject a header) is refused too.
std::optional<std::string> BareEmailAddress(std::string_view text);

}  // namespace fraiseql
