// How one resolved placeholder value is written in each of the three template renderings
// (text, glob-escaped, JSON-body). Internal to src/template/.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "event/field_path.h"

namespace fraiseql::template_internal {

// REQUIRES for the three Append*Value functions: !value.missing() (the caller keeps a missing
// placeholder verbatim instead).

// Strings raw; numbers, booleans, null, objects and arrays as compact JSON.
void AppendTextValue(std::string& out, const ValueRef& value);
// AppendTextValue, then `\ * ? [ ]` of the inserted text get a backslash.
void AppendGlobValue(std::string& out, const ValueRef& value);
// Strings JSON-escaped without quotes (the template supplies them); everything else as a
// compact JSON token.
void AppendJsonValue(std::string& out, const ValueRef& value);

// The body of a JSON string literal for `text`, without the quotes. Invalid UTF-8 becomes
// U+FFFD, as nlohmann's error_handler_t::replace does, so the output is always valid JSON.
void AppendJsonEscaped(std::string& out, std::string_view text);
// `text` with a backslash before each of `\ * ? [ ]`.
void AppendGlobEscaped(std::string& out, std::string_view text);
// Compact JSON; never throws on invalid UTF-8 inside strings.
void AppendCompactJson(std::string& out, const nlohmann::json& value);

}  // namespace fraiseql::template_internal
