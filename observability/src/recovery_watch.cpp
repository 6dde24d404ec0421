#include "modsync/observability/recovery_watch.hpp"

#include <spdlog/spdlog.h>

#include "modsync/common/time.hpp"

namespace modsync::observability {

bool RecoveryWatch::healthy_again(bool healthy, uint64_t retries) {
  const bool again = healthy && healthy_before_ && retries == retries_before_;
  healthy_before_ = healthy;
  retries_before_ = retries;
  return again;
}

void RecoveryWatch::tell(const char* what, uint64_t retries, int64_t error_unix_ms,
                         const std::string& error) {
  spdlog::info("{} recovered after {} retries; the last error (at {}) was: {}", what, retries,
               format_rfc3339_ms(error_unix_ms), error);
}

}  // namespace modsync::observability
