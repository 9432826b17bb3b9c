// Timestamp: an instant with microsecond precision, as the change log, RFC 3339 and every row
// we write carry it; parsing and formatting in one place.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fraiseql {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// RFC 3339 ("2026-11-29T12:00:00.5Z", "+02:00" offsets) or PostgreSQL's text form
// ("2026-11-29 12:00:00.123456+00"); a time without an offset is UTC.
Result<Timestamp> ParseTimestamp(std::string_view text);
// RFC 3339 in UTC with microseconds: "2026-11-29T12:00:00.000000Z".
std::string FormatTimestamp(Timestamp timestamp);

// The wall-clock time point at microsecond precision (what a row stores), formatted as above.
inline std::string FormatTimestamp(std::chrono::system_clock::time_point at) {
  return FormatTimestamp(std::chrono::time_point_cast<std::chrono::microseconds>(at));
}

}  // namespace fraiseql
