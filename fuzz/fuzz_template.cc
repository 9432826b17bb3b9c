// Checks that Template::Compile and its three renderers handle any text without crashing, hanging
// or leaking, and that RenderJsonBody always yields valid JSON (traps if nlohmann rejects it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_events.h"
#include "template/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fraiseql::EntityEvent;
  using fraiseql::RenderResult;
  using fraiseql::Template;

  const std::string_view source(reinterpret_cast<const char*>(data), size);
  const Template compiled = Template::Compile(source);

  for (const EntityEvent& event : fraiseql::fuzz::FixedEvents()) {
    const RenderResult text = compiled.RenderText(event);
    const RenderResult glob = compiled.RenderGlobEscaped(event);
    const RenderResult body = compiled.RenderJsonBody(event);
    static_cast<void>(text.text.size() + glob.text.size());
    // Guaranteed by template.h: the JSON body is JSON (a fallback JSON string if need be).
    if (!nlohmann::json::accept(body.text)) __builtin_trap();
  }
  return 0;
}
