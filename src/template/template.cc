// Template compilation (splitting the source into literal text and parsed placeholders) and
// the rendering loop shared by the three encodings.
#include "template/template.h"

#include <algorithm>
#include <utility>

#include "common/text.h"
#include "template/renderers.h"

namespace fraiseql {
namespace {

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";
// Bytes reserved per placeholder: a UUID or a short string fits without regrowing.
constexpr size_t kValueSizeGuess = 40;


void AddUnresolved(std::vector<std::string>& unresolved, const std::string& path) {
  // A path used twice is reported once; templates have few placeholders, so a scan is enough.
  if (std::find(unresolved.begin(), unresolved.end(), path) == unresolved.end()) {
    unresolved.push_back(path);
  }
}

}  // namespace

Template Template::Compile(std::string_view source) {
  Template compiled;
  compiled.source_ = std::string(source);
  std::string literal;
  size_t placeholder_count = 0;
  size_t pos = 0;
  while (true) {
    size_t open = source.find(kOpen, pos);
    if (open == std::string_view::npos) break;
    const size_t close = source.find(kClose, open + kOpen.size());
    if (close == std::string_view::npos) break;  // a "{{" that never closes is literal text
    // In "{{ a {{ b }}" only the innermost "{{" opens; the earlier one is literal text.
    open = source.rfind(kOpen, close - 1);

    const size_t end = close + kClose.size();
    const std::string_view raw = source.substr(open, end - open);
    const std::string_view inner =
        TrimAsciiSpace(source.substr(open + kOpen.size(), close - open - kOpen.size()));
    literal.append(source.substr(pos, open - pos));
    pos = end;

    Result<FieldPath> path = FieldPath::Parse(inner);
    if (!path) {
      // Kept as text so every rendering shows it; `validate` reports it from invalid_.
      compiled.invalid_.push_back(Diagnostic{
          Severity::kWarning, LocationOfOffset(source, open),
          "placeholder '" + std::string(raw) + "' can never resolve: " + path.error().message});
      literal.append(raw);
      continue;
    }
    Part part;
    part.literal = std::move(literal);
    part.is_placeholder = true;
    part.raw = std::string(raw);
    part.path = std::move(path).value();
    compiled.reserve_hint_ += part.literal.size() + kValueSizeGuess;
    compiled.parts_.push_back(std::move(part));
    literal.clear();
    ++placeholder_count;
  }
  literal.append(source.substr(pos));
  if (!literal.empty() || placeholder_count == 0) {
    compiled.reserve_hint_ += literal.size();
    Part tail;
    tail.literal = std::move(literal);
    compiled.parts_.push_back(std::move(tail));
  }
  return compiled;
}

bool Template::has_placeholders() const {
  return !invalid_.empty() ||
         std::any_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.is_placeholder; });
}

RenderResult Template::Render(const EntityEvent& event, ValueAppender append) const {
  RenderResult result;
  result.text.reserve(reserve_hint_);
  for (const Part& part : parts_) {
    result.text += part.literal;
    if (!part.is_placeholder) continue;
    const ValueRef value = part.path.Resolve(event);
    if (value.missing()) {
      result.text += part.raw;
      AddUnresolved(result.unresolved, part.path.text());
    } else {
      append(result.text, value);
    }
  }
  return result;
}

RenderResult Template::RenderText(const EntityEvent& event) const {
  return Render(event, template_internal::AppendTextValue);
}

RenderResult Template::RenderGlobEscaped(const EntityEvent& event) const {
  return Render(event, template_internal::AppendGlobValue);
}

RenderResult Template::RenderJsonBody(const EntityEvent& event) const {
  RenderResult result = Render(event, template_internal::AppendJsonValue);
  if (nlohmann::json::accept(result.text)) return result;
  // Not JSON (e.g. a plain-text message): send it as one JSON string. The string is built from
  // the text rendering, so values are escaped once, by the dump, and a receiver that decodes
  // the string reads exactly what RenderText shows.
  RenderResult fallback = RenderText(event);
  fallback.text =
      nlohmann::json(fallback.text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  fallback.json_fallback = true;
  return fallback;
}

}  // namespace fraiseql
