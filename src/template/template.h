// Templates: text with `{{ path }}` placeholders (paths as in event/field_path.h), compiled
// once and rendered three ways: JSON-body (webhooks), text (Slack, email, log) and
// glob-escaped (Redis cache keys).
// Thread-safety: a compiled Template is immutable; rendering may run concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostic.h"
#include "event/entity_event.h"
#include "event/field_path.h"

namespace fraiseql {

struct RenderResult {
  std::string text;
  // Placeholders whose path did not resolve on this event; they were left verbatim.
  std::vector<std::string> unresolved;
  // JSON-body only: the rendered text was not valid JSON, so `text` is a JSON string of it.
  bool json_fallback = false;
};

class Template {
 public:
  // Never fails: a placeholder whose path cannot parse stays verbatim, and is listed in
  // invalid_placeholders() (locations are line/column inside `source`) so `validate` can warn.
  static Template Compile(std::string_view source);

  // Strings inserted raw, other values as compact JSON (`150`, `true`, `{"a":1}`).
  RenderResult RenderText(const EntityEvent& event) const;
  // Like RenderText, but `\ * ? [ ]` inside inserted values get a backslash (Redis globs).
  RenderResult RenderGlobEscaped(const EntityEvent& event) const;
  // Strings JSON-escaped without their quotes (they stay inside the template's quotes), other
  // values as JSON tokens; if the result does not parse as JSON it becomes a JSON string.
  RenderResult RenderJsonBody(const EntityEvent& event) const;

  const std::string& source() const { return source_; }
  // Set when the source holds values from the environment (${VAR}): previews and logs show
  // the template's output as <redacted>.
  void set_sensitive(bool sensitive) { sensitive_ = sensitive; }
  bool sensitive() const { return sensitive_; }
  const std::vector<Diagnostic>& invalid_placeholders() const { return invalid_; }
  bool has_placeholders() const;

 private:
  struct Part {
    std::string literal;     // text before the placeholder (or the whole tail)
    bool is_placeholder = false;
    std::string raw;         // the placeholder as written, "{{ data.id }}", for verbatim output
    FieldPath path;          // valid when is_placeholder
  };

  // Appends one resolved value in a rendering's encoding (see renderers.h).
  using ValueAppender = void (*)(std::string& out, const ValueRef& value);

  RenderResult Render(const EntityEvent& event, ValueAppender append) const;

  bool sensitive_ = false;
  std::string source_;
  std::vector<Part> parts_;
  std::vector<Diagnostic> invalid_;
  size_t reserve_hint_ = 0;  // expected output size, so a rendering allocates once
};

}  // namespace fraiseql
