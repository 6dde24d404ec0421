#pragma once
// The error model (docs/architecture.md, "Errors"):
//  - configuration and start-up problems throw modsync::Error with kind kFatal;
//  - faults on the hot path that a retry can cure (connection lost, broker down) throw or
//    return with kind kRetriable; the pipeline supervisor backs off and restarts the pipeline
//    from its last checkpoint, so nothing is lost;
//  - every message names its context (slot, LSN, table, topic/partition) and, where there is
//    one, the fix.

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace modsync {

enum class ErrorKind {
  kRetriable,  ///< transient: retry with backoff, resume from the last checkpoint
  kFatal,      ///< needs an operator: stop the pipeline and report
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  bool retriable() const { return kind_ == ErrorKind::kRetriable; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::kFatal, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void fail_retriable(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(ErrorKind::kRetriable, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace modsync
