#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <span>

#include <nlohmann/json.hpp>

namespace fraiseql::log {
namespace {

// The logger's state: the one global besides the metrics registry (ARCHITECTURE.md).
struct Logger {
  std::atomic<Level> level{Level::kInfo};
  std::atomic<Format> format{Format::kText};
  std::mutex mu;  // guards sink; also serialises writes to stderr so lines never interleave
  Sink sink;
};

Logger& TheLogger() {
  static Logger logger;
  return logger;
}

std::string NowUtc() {
  const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  const auto day = std::chrono::floor<std::chrono::days>(now);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss time(now - day);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()),
                static_cast<long>(time.seconds().count()), static_cast<long>(time.subseconds().count()));
  return buffer;
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (const char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void AppendTextValue(std::string& out, std::string_view value) {
  if (!NeedsQuotes(value)) {
    out += value;
    return;
  }
  // A JSON string is an unambiguous quoting that every log tool reads.
  out += nlohmann::json(std::string(value)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RenderText(Level level, std::string_view message, std::span<const Field> fields) {
  std::string line = NowUtc();
  line += ' ';
  std::string name = std::string(LevelName(level));
  for (char& c : name) c = static_cast<char>(c - 'a' + 'A');
  name.resize(5, ' ');
  line += name;
  line += ' ';
  line += message;
  for (const Field& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    AppendTextValue(line, field.value);
  }
  return line;
}

std::string RenderJson(Level level, std::string_view message, std::span<const Field> fields) {
  nlohmann::ordered_json object;
  object["ts"] = NowUtc();
  object["level"] = LevelName(level);
  object["msg"] = message;
  for (const Field& field : fields) object[std::string(field.key)] = field.value;
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Emit(Level level, std::string_view message, std::span<const Field> fields) {
  Logger& logger = TheLogger();
  if (level < logger.level.load(std::memory_order_relaxed)) return;
  Line line{level, logger.format.load(std::memory_order_relaxed) == Format::kJson
                       ? RenderJson(level, message, fields)
                       : RenderText(level, message, fields)};
  std::lock_guard<std::mutex> lock(logger.mu);
  if (logger.sink) {
    logger.sink(line);
    return;
  }
  line.text += '\n';
  std::fwrite(line.text.data(), 1, line.text.size(), stderr);
}

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void SetLevel(Level level) { TheLogger().level.store(level); }
bool Enabled(Level level) { return level >= TheLogger().level.load(std::memory_order_relaxed); }
void SetFormat(Format format) { TheLogger().format.store(format); }

Sink SetSink(Sink sink) {
  Logger& logger = TheLogger();
  std::lock_guard<std::mutex> lock(logger.mu);
  std::swap(logger.sink, sink);
  return sink;
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  Emit(level, message, std::span<const Field>(fields.begin(), fields.size()));
}

void Write(Level level, std::string_view message, const std::vector<Field>& fields) {
  Emit(level, message, fields);
}

struct ScopedCapture::State {
  std::mutex mu;
  std::vector<Line> lines;
};

ScopedCapture::ScopedCapture() : state_(std::make_shared<State>()) {
  previous_ = SetSink([state = state_](const Line& line) {
    std::lock_guard<std::mutex> lock(state->mu);
    state->lines.push_back(line);
  });
}

ScopedCapture::~ScopedCapture() { SetSink(std::move(previous_)); }

std::vector<Line> ScopedCapture::lines() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->lines;
}

}  // namespace fraiseql::log
