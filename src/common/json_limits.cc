#include "common/json_limits.h"

#include <algorithm>
#include <string>

namespace fraiseql {
namespace {

Error Refusal(std::string_view text, size_t offset, std::string_view code, std::string message) {
  return Error::InvalidArgument(std::move(message))
      .WithDetail(std::string(kJsonErrorDomain), std::string(code))
      .At(LocationOfOffset(text, offset));
}

// "64 MiB" for whole mebibytes, else the byte count: limits are usually round.
std::string Bytes(size_t count) {
  constexpr size_t kMiB = size_t{1} << 20;
  if (count >= kMiB && count % kMiB == 0) return std::to_string(count / kMiB) + " MiB";
  return std::to_string(count) + " bytes";
}

// Keeps the first error of a SAX parse and stops there; every value is accepted and dropped.
class ErrorRecorder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t at, const std::string&, const nlohmann::json::exception& error) override {
    position = at;
    reason = WithoutPrefixes(error.what());
    return false;
  }

  size_t position = 0;
  std::string reason = "it ends too early";

 private:
  // "[json.exception.parse_error.101] parse error at line 3, column 0: <reason>": the id is
  // nlohmann's, and its position disagrees with ours (it counts columns from 0, after the byte).
  static std::string WithoutPrefixes(std::string message) {
    if (message.starts_with("[json.exception.")) {
      if (const size_t end = message.find("] "); end != std::string::npos) message.erase(0, end + 2);
    }
    if (message.starts_with("parse error")) {
      if (const size_t end = message.find(": "); end != std::string::npos) message.erase(0, end + 2);
    }
    return message;
  }
};

}  // namespace

Result<void> CheckJsonLimits(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Refusal(text, limits.max_bytes, kJsonTooLarge,
                   "JSON text of " + std::to_string(text.size()) + " bytes is over the limit of " +
                       Bytes(limits.max_bytes) + " (at byte offset " + std::to_string(limits.max_bytes) + ")");
  }
  // Only brackets outside strings nest; inside a string a backslash escapes the next byte, which is
  // all a scan needs to find the closing quote (\uXXXX holds no quote). Unbalanced or otherwise
  // broken text is left to the parser, which stops at its first error.
  size_t depth = 0;
  bool in_string = false;
  for (size_t offset = 0; offset < text.size(); ++offset) {
    const char c = text[offset];
    if (in_string) {
      if (c == '\\') {
        ++offset;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > limits.max_depth) {
          return Refusal(text, offset, kJsonTooDeep,
                         "JSON nests deeper than " + std::to_string(limits.max_depth) +
                             " levels of arrays and objects (at byte offset " + std::to_string(offset) + ")");
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return Ok();
}

Result<nlohmann::json> ParseJsonWithin(std::string_view text, const JsonLimits& limits) {
  FRAISEQL_RETURN_IF_ERROR(CheckJsonLimits(text, limits));
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded()) return value;
  // Read again to say where and why: without exceptions, since nlohmann throws out_of_range, not
  // parse_error, for a number too large for a double (1e309), and an uncaught one ends the process.
  ErrorRecorder recorder;
  nlohmann::json::sax_parse(text, &recorder);
  // `position` counts from 1 and names the last byte read; 0 when nothing was.
  const size_t offset = std::min(recorder.position > 0 ? recorder.position - 1 : 0, text.size());
  return Refusal(text, offset, kJsonSyntax,
                 "invalid JSON at byte offset " + std::to_string(offset) + ": " + recorder.reason);
}

}  // namespace fraiseql
