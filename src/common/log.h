// Log: the process's one structured logger (with the metrics registry, the only global state).
// A line is a level, a message and key=value fields, written whole as text or as a JSON object.
// Thread-safety: every function may be called from any thread; a line is never interleaved.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fraiseql::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

// "trace", "debug", "info", "warn", "error".
std::string_view LevelName(Level level);

struct Field {
  std::string_view key;
  std::string value;
};

// One rendered line, as a sink receives it (without the trailing newline).
struct Line {
  Level level;
  std::string text;
};

// Where lines go. The default writes to stderr.
using Sink = std::function<void(const Line&)>;

// Lines below `level` are dropped (default kInfo).
void SetLevel(Level level);
bool Enabled(Level level);
void SetFormat(Format format);
// Replaces the sink; an empty function restores stderr. Returns the previous sink.
Sink SetSink(Sink sink);

// Writes `message` with `fields`. Callers must not pass secrets: values are written as given.
// Text:  2026-12-01T19:40:00.123456Z INFO  message key=value key2="with space"
// JSON:  {"ts":"...","level":"info","msg":"message","key":"value"}
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
void Write(Level level, std::string_view message, const std::vector<Field>& fields);

inline void Info(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warn(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, message, fields);
}
inline void Error(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, message, fields);
}

// Captures lines for a test's lifetime, restoring the previous sink after.
class ScopedCapture {
 public:
  ScopedCapture();
  ~ScopedCapture();
  ScopedCapture(const ScopedCapture&) = delete;
  ScopedCapture& operator=(const ScopedCapture&) = delete;

  std::vector<Line> lines() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  Sink previous_;
};

}  // namespace fraiseql::log
