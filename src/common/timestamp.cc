// Timestamps as the change log and RFC 3339 write them.
#include <cctype>
#include <charconv>
#include <cstdio>

#include "common/timestamp.h"

namespace fraiseql {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  // Exactly `digits` decimal digits.
  std::optional<int> Number(int digits) {
    int value = 0;
    for (int i = 0; i < digits; ++i) {
      if (AtEnd() || !std::isdigit(static_cast<unsigned char>(text_[pos_]))) return std::nullopt;
      value = value * 10 + (text_[pos_++] - '0');
    }
    return value;
  }
  // Fraction digits after '.', as microseconds (extra digits are truncated); at least one.
  std::optional<int64_t> FractionMicros() {
    int64_t micros = 0;
    int digits = 0;
    while (!AtEnd() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      if (digits < 6) micros = micros * 10 + (text_[pos_] - '0');
      ++digits;
      ++pos_;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) micros *= 10;
    return micros;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

Error Malformed(std::string_view text) {
  return Error::InvalidArgument("'" + std::string(text) +
                                "' is not an RFC 3339 or PostgreSQL timestamp");
}

}  // namespace

Result<Timestamp> ParseTimestamp(std::string_view text) {
  using namespace std::chrono;
  Scanner in(text);
  auto year = in.Number(4);
  if (!year || !in.Consume('-')) return Malformed(text);
  auto month = in.Number(2);
  if (!month || !in.Consume('-')) return Malformed(text);
  auto day = in.Number(2);
  if (!day || !(in.Consume('T') || in.Consume('t') || in.Consume(' '))) return Malformed(text);
  auto hour = in.Number(2);
  if (!hour || !in.Consume(':')) return Malformed(text);
  auto minute = in.Number(2);
  if (!minute || !in.Consume(':')) return Malformed(text);
  auto second = in.Number(2);
  if (!second) return Malformed(text);
  int64_t micros = 0;
  if (in.Consume('.')) {
    auto fraction = in.FractionMicros();
    if (!fraction) return Malformed(text);
    micros = *fraction;
  }

  int offset_minutes = 0;
  if (in.Consume('Z') || in.Consume('z')) {
  } else if (in.Peek() == '+' || in.Peek() == '-') {
    const int sign = in.Peek() == '-' ? -1 : 1;
    in.Consume(in.Peek());
    auto offset_hours = in.Number(2);
    if (!offset_hours) return Malformed(text);
    int offset_mins = 0;
    if (in.Consume(':')) {
      auto m = in.Number(2);
      if (!m) return Malformed(text);
      offset_mins = *m;
    } else if (!in.AtEnd()) {
      auto m = in.Number(2);
      if (!m) return Malformed(text);
      offset_mins = *m;
    }
    if (*offset_hours > 23 || offset_mins > 59) return Malformed(text);
    offset_minutes = sign * (*offset_hours * 60 + offset_mins);
  }
  if (!in.AtEnd()) return Malformed(text);

  const year_month_day date{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                            std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return Malformed(text);
  return Timestamp{sys_days{date}} + hours{*hour} + minutes{*minute} + seconds{*second} +
         microseconds{micros} - minutes{offset_minutes};
}

std::string FormatTimestamp(Timestamp timestamp) {
  using namespace std::chrono;
  const sys_days day = floor<days>(timestamp);
  const year_month_day date{day};
  const hh_mm_ss<microseconds> time{timestamp - day};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%06ldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<long>(time.subseconds().count()));
  return buffer;
}

}  // namespace fraiseql
