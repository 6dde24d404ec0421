#pragma once
// Clocks and the one RFC 3339 formatter (event headers, logs, status output, checkpoints).

#include <chrono>
#include <cstdint>
#include <string>

namespace modsync {

/// Milliseconds since the Unix epoch on the system (wall) clock.
inline int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Milliseconds on the steady clock: for intervals, never for times shown to people.
inline int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Appends `unix_ms` as an RFC 3339 UTC time with milliseconds, 2024-01-02T03:04:05.123Z, in
/// the proleptic Gregorian calendar. Times before 1970 floor (-1 ms is
/// 1969-12-31T23:59:59.999Z); years before 1 are astronomical with a sign (-0001), years past
/// 9999 have more digits. Allocation-free once `out` has room.
void append_rfc3339_ms(int64_t unix_ms, std::string& out);

/// append_rfc3339_ms into a new string.
std::string format_rfc3339_ms(int64_t unix_ms);

}  // namespace modsync
