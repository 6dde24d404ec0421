#pragma once

#include <chrono>
#include <cstdint>

namespace modsync::capture {

/// Wall-clock time in Unix milliseconds (ts_ms of events, checkpoint times).
inline int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace modsync::capture
