#include "config/toml_limits.h"

#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace fraiseql {
namespace {

// Why a scanner of our own: toml++ builds a table per dotted-key segment and recurses over the
// tree when it finishes (and when it frees it), so a 40,000-segment key overflows the stack before
// any limit of its own applies (it bounds arrays and inline tables only, at 256).
//
// The scan follows TOML 1.0's lexical rules as far as nesting depends on them: strings of all four
// kinds (a bracket or dot inside one counts for nothing), comments, keys (bare or quoted, split at
// dots) and values, with a stack of the arrays and inline tables open around the current position.
// It never fails on bad syntax: it keeps going, and toml++ reports the error.

std::string Bytes(size_t count) {
  constexpr size_t kKiB = size_t{1} << 10;
  constexpr size_t kMiB = size_t{1} << 20;
  if (count >= kMiB && count % kMiB == 0) return std::to_string(count / kMiB) + " MiB";
  if (count >= kKiB && count % kKiB == 0) return std::to_string(count / kKiB) + " KiB";
  return std::to_string(count) + " bytes";
}

// Bare keys are A-Za-z0-9_-; bytes of non-ASCII characters count too, in case the library accepts
// them (TOML 1.1 does): over-counting a segment only errs on the safe side.
bool IsBareKeyByte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         byte >= 0x80;
}

// Appends one UTF-8 encoded code point; an invalid one (toml++ refuses it) as U+FFFD.
void AppendUtf8(std::string& out, uint32_t code_point) {
  if (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) code_point = 0xFFFD;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// The name a key segment stands for, as toml++ compares keys: `a`, 'a' and "\u0061" are one key.
// Only table headers need it, to know which of them name an array of tables.
std::string KeyName(std::string_view raw) {
  if (raw.size() < 2 || (raw.front() != '"' && raw.front() != '\'')) return std::string(raw);
  std::string_view inner = raw.substr(1);
  if (inner.ends_with(raw.front())) inner.remove_suffix(1);
  if (raw.front() == '\'') return std::string(inner);
  std::string name;
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] != '\\' || i + 1 >= inner.size()) {
      name += inner[i];
      continue;
    }
    const char escape = inner[++i];
    switch (escape) {
      case 'b': name += '\b'; break;
      case 't': name += '\t'; break;
      case 'n': name += '\n'; break;
      case 'f': name += '\f'; break;
      case 'r': name += '\r'; break;
      case 'e': name += '\x1B'; break;
      case 'u':
      case 'U':
      case 'x': {
        const size_t digits = escape == 'u' ? 4 : escape == 'U' ? 8 : 2;
        uint32_t code_point = 0;
        size_t used = 0;
        while (used < digits && i + 1 < inner.size() && std::isxdigit(static_cast<unsigned char>(inner[i + 1]))) {
          const char digit = inner[++i];
          code_point = code_point * 16 +
                       static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(digit))
                                                 ? digit - '0'
                                                 : std::tolower(static_cast<unsigned char>(digit)) - 'a' + 10);
          ++used;
        }
        AppendUtf8(name, code_point);
        break;
      }
      default: name += escape; break;  // \" and \\, and what toml++ refuses anyway
    }
  }
  return name;
}

void AppendSegment(std::string& path, const std::string& name) {
  path += std::to_string(name.size());
  path += ':';
  path += name;
}

class Scanner {
 public:
  Scanner(std::string_view text, const TomlLimits& limits) : text_(text), limits_(limits) {}

  Result<void> Run() {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // a UTF-8 byte order mark
    while (pos_ < text_.size()) {
      // Every step consumes at least one byte, so the loop ends.
      switch (mode_) {
        case Mode::kStatement: FRAISEQL_RETURN_IF_ERROR(Statement()); break;
        case Mode::kInlineKey: FRAISEQL_RETURN_IF_ERROR(InlineKey()); break;
        case Mode::kValue: FRAISEQL_RETURN_IF_ERROR(Value()); break;
        case Mode::kAfterValue: AfterValue(); break;
      }
    }
    return Ok();
  }

 private:
  // kStatement: top level, at a header, a key or a blank line. kInlineKey: after `{` or a comma of
  // an inline table. kValue: after `=`, `[` or a comma of an array. kAfterValue: anything else.
  enum class Mode { kStatement, kInlineKey, kValue, kAfterValue };
  struct Frame {
    bool is_array = false;
    size_t depth = 0;  // of the array or inline table itself
  };

  char Peek() const { return text_[pos_]; }
  bool At(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool InArray() const { return !frames_.empty() && frames_.back().is_array; }
  bool InInlineTable() const { return !frames_.empty() && !frames_.back().is_array; }

  Error Refuse(size_t offset, std::string message) const {
    return Error::InvalidArgument(std::move(message)).At(LocationOfOffset(text_, offset));
  }

  Result<void> CheckDepth(size_t depth, size_t offset) const {
    if (depth <= limits_.max_depth) return Ok();
    return Refuse(offset, "nesting is deeper than " + std::to_string(limits_.max_depth) +
                              " levels (counting each table header and dotted-key segment, array and "
                              "inline table around a value)");
  }

  void SkipBlanks() {
    while (pos_ < text_.size() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\r')) ++pos_;
  }
  void SkipComment() {
    while (pos_ < text_.size() && Peek() != '\n') ++pos_;
  }

  // At a quote: past the string it opens, or to the end of its line when it is not closed there
  // (single-line strings), or of the text (multi-line ones).
  void SkipString() {
    const char quote = Peek();
    const bool escapes = quote == '"';
    if (pos_ + 2 < text_.size() && text_[pos_ + 1] == quote && text_[pos_ + 2] == quote) {
      pos_ += 3;
      while (pos_ < text_.size()) {
        if (escapes && Peek() == '\\') {
          pos_ = std::min(pos_ + 2, text_.size());
        } else if (Peek() == quote) {
          // Up to two quotes may end the content right before the closing three: `""""" ` closes.
          size_t run = 0;
          while (pos_ < text_.size() && Peek() == quote) {
            ++run;
            ++pos_;
          }
          if (run >= 3) return;
        } else {
          ++pos_;
        }
      }
      return;
    }
    ++pos_;
    while (pos_ < text_.size() && Peek() != '\n') {
      const char c = text_[pos_++];
      if (c == quote) return;
      if (escapes && c == '\\' && pos_ < text_.size() && Peek() != '\n') ++pos_;
    }
  }

  // A dotted key, from its first segment to the blank after its last; `base` is the depth of the
  // table it is in. Returns its segment count, 0 when no key starts here (nothing consumed).
  // `path`, when given, receives the segments' names (for table headers).
  Result<size_t> Key(size_t base, std::vector<std::string>* path = nullptr) {
    size_t segments = 0;
    while (true) {
      SkipBlanks();
      if (pos_ >= text_.size()) break;
      const size_t start = pos_;
      if (Peek() == '"' || Peek() == '\'') {
        SkipString();
      } else if (IsBareKeyByte(Peek())) {
        while (pos_ < text_.size() && IsBareKeyByte(Peek())) ++pos_;
      } else {
        break;
      }
      if (path) path->push_back(KeyName(text_.substr(start, pos_ - start)));
      ++segments;
      if (segments > limits_.max_key_segments) {
        return Refuse(start, "dotted key has more than " + std::to_string(limits_.max_key_segments) +
                                 " segments (the limit for keys and table headers)");
      }
      FRAISEQL_RETURN_IF_ERROR(CheckDepth(base + segments, start));
      SkipBlanks();
      if (!At('.')) break;
      ++pos_;
    }
    return segments;
  }

  // After a key: `=` starts its value, at depth `depth`.
  void ExpectEquals(size_t depth) {
    SkipBlanks();
    if (At('=')) {
      ++pos_;
      mode_ = Mode::kValue;
      value_depth_ = depth;
    } else {
      mode_ = Mode::kAfterValue;  // bad syntax: toml++ stops here
    }
  }

  // `[a.b]` or `[[a.b]]`: the tables of later keys sit below it. A segment naming an array of
  // tables declared before means its last element, one level further down: `[[a]]` then `[a.b]`
  // puts b at depth 3 (a, a's element, b).
  Result<void> Header() {
    const size_t start = pos_;
    ++pos_;
    const bool array_of_tables = At('[');
    if (array_of_tables) ++pos_;
    std::vector<std::string> path;
    size_t segments = 0;
    FRAISEQL_ASSIGN_OR_RETURN(segments, Key(0, &path));
    std::string prefix;
    table_depth_ = segments + (array_of_tables ? 1 : 0);
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      AppendSegment(prefix, path[i]);
      if (arrays_of_tables_.contains(prefix)) ++table_depth_;
    }
    FRAISEQL_RETURN_IF_ERROR(CheckDepth(table_depth_, start));
    if (array_of_tables && !path.empty()) {
      AppendSegment(prefix, path.back());
      arrays_of_tables_.insert(std::move(prefix));
    }
    mode_ = Mode::kAfterValue;  // the closing brackets, then a comment or the line's end
    return Ok();
  }

  Result<void> Statement() {
    switch (Peek()) {
      case ' ':
      case '\t':
      case '\r':
      case '\n': ++pos_; return Ok();
      case '#': SkipComment(); return Ok();
      case '[': return Header();
      default: break;
    }
    size_t segments = 0;
    FRAISEQL_ASSIGN_OR_RETURN(segments, Key(table_depth_));
    if (segments == 0) {
      ++pos_;
      mode_ = Mode::kAfterValue;
      return Ok();
    }
    ExpectEquals(table_depth_ + segments);
    return Ok();
  }

  Result<void> InlineKey() {
    switch (Peek()) {
      case ' ':
      case '\t':
      case '\r':
      case '\n': ++pos_; return Ok();
      case '#': SkipComment(); return Ok();
      case '}':
        ++pos_;
        frames_.pop_back();
        mode_ = Mode::kAfterValue;
        return Ok();
      default: break;
    }
    const size_t base = frames_.back().depth;
    size_t segments = 0;
    FRAISEQL_ASSIGN_OR_RETURN(segments, Key(base));
    if (segments == 0) {
      ++pos_;
      return Ok();
    }
    ExpectEquals(base + segments);
    return Ok();
  }

  Result<void> Value() {
    switch (Peek()) {
      case ' ':
      case '\t':
      case '\r': ++pos_; return Ok();
      case '\n':
        ++pos_;
        if (frames_.empty()) mode_ = Mode::kStatement;  // `a =` with no value: toml++ says so
        return Ok();
      case '#': SkipComment(); return Ok();
      case ']':
        if (InArray()) {  // `[]`, or a trailing comma
          ++pos_;
          frames_.pop_back();
          mode_ = Mode::kAfterValue;
          return Ok();
        }
        break;
      default: break;
    }
    FRAISEQL_RETURN_IF_ERROR(CheckDepth(value_depth_, pos_));
    switch (Peek()) {
      case '[':
        ++pos_;
        frames_.push_back({true, value_depth_});
        ++value_depth_;
        return Ok();
      case '{':
        ++pos_;
        frames_.push_back({false, value_depth_});
        mode_ = Mode::kInlineKey;
        return Ok();
      case '"':
      case '\'': SkipString(); break;
      default:
        // A number, boolean or date: nothing in it nests. A date's space ends it early; the time
        // after it passes through kAfterValue, where nothing in it counts either.
        ++pos_;
        while (pos_ < text_.size() && Peek() != ' ' && Peek() != '\t' && Peek() != '\r' && Peek() != '\n' &&
               Peek() != ',' && Peek() != ']' && Peek() != '}' && Peek() != '#') {
          ++pos_;
        }
        break;
    }
    mode_ = Mode::kAfterValue;
    return Ok();
  }

  void AfterValue() {
    const char c = text_[pos_++];
    switch (c) {
      case '#':
        --pos_;
        SkipComment();
        break;
      case '\n':
        if (frames_.empty()) mode_ = Mode::kStatement;
        break;
      case ',':
        if (InArray()) {
          mode_ = Mode::kValue;
          value_depth_ = frames_.back().depth + 1;
        } else if (InInlineTable()) {
          mode_ = Mode::kInlineKey;
        }
        break;
      case ']':
        if (InArray()) frames_.pop_back();
        break;
      case '}':
        if (InInlineTable()) frames_.pop_back();
        break;
      default: break;  // blanks, a header's closing brackets, or bad syntax
    }
  }

  std::string_view text_;
  const TomlLimits& limits_;
  size_t pos_ = 0;
  Mode mode_ = Mode::kStatement;
  std::vector<Frame> frames_;
  size_t table_depth_ = 0;  // of the table the last header opened
  size_t value_depth_ = 0;  // of the value kValue expects
  // The paths `[[...]]` headers declared, each segment length-prefixed so no two paths collide.
  std::set<std::string> arrays_of_tables_;
};

Result<void> CheckLines(std::string_view text, size_t max_line_bytes) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    size_t length = end - start;
    if (length > 0 && text[end - 1] == '\r') --length;
    if (length > max_line_bytes) {
      return Error::InvalidArgument("line is " + std::to_string(length) + " bytes long; config lines are limited to " +
                                    Bytes(max_line_bytes))
          .At(LocationOfOffset(text, start + max_line_bytes));
    }
    start = end + 1;
  }
  return Ok();
}

}  // namespace

Result<void> CheckTomlLimits(std::string_view text, const TomlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error::InvalidArgument("the config is " + std::to_string(text.size()) +
                                  " bytes; config files are limited to " + Bytes(limits.max_bytes))
        .At(SourceLocation{});
  }
  // The scan first: a 40,000-segment key is a long line too, but its segments say more.
  FRAISEQL_RETURN_IF_ERROR(Scanner(text, limits).Run());
  return CheckLines(text, limits.max_line_bytes);
}

}  // namespace fraiseql
