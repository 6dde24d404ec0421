#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace modsync::testing {

/// Path of the modsync executable under test: $MODSYNC_BINARY if set, else the MODSYNC_BINARY
/// compile definition of the including target (add it with `modsync_test_uses_binary(<target>)`,
/// defined in tests/support/CMakeLists.txt). Throws std::runtime_error naming both when neither
/// is available. Inline on purpose: the definition belongs to the test target, not this library.
inline std::string modsync_binary() {
  if (const char* env = std::getenv("MODSYNC_BINARY"); env != nullptr && *env != '\0') return env;
#ifdef MODSYNC_BINARY
  return MODSYNC_BINARY;
#else
  throw std::runtime_error(
      "modsync binary unknown: set MODSYNC_BINARY, or call modsync_test_uses_binary(<target>) "
      "in CMake to compile its path in");
#endif
}

}  // namespace modsync::testing
