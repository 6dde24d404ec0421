#pragma once
// Configuration diagnostics: every problem found in a file is collected and reported at once.

#include <string>
#include <vector>

#include "modsync/common/error.hpp"

namespace modsync::config {

/// One problem in a configuration file. `line` and `column` are 1-based; 0 when the problem is
/// about the file as a whole (unreadable, not found). `path` is the key path inside the file,
/// e.g. "source.tables[2]" (sequence indices are 0-based); empty for file-level problems.
/// `message` never contains a password: DSNs are passed through redact_dsn() first.
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;
  std::string message;  ///< "expected …; got …. Fix: …."

  /// "orders.yaml:7:3: source.snapshot: expected …; got …. Fix: …."
  std::string to_string() const;

  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

/// Thrown by the loaders when a file (or any file of a directory) is invalid. what() lists every
/// diagnostic, one per line, in file order; the kind is always kFatal.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace modsync::config
