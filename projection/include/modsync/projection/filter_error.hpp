#pragma once
// The error thrown for a `where` expression that does not parse or does not bind.

#include <string>
#include <string_view>

#include "modsync/common/error.hpp"

namespace modsync::projection {

/// A problem with a `where` expression, found at start-up (kind kFatal). what() is
///
///     where: column 17: expected a value after '=', found end of expression
///       status = 'x' AND total >
///                               ^
///
/// i.e. the 1-based column (in characters), the problem, then the expression with a caret under
/// the column. reason() and column() give the parts, for callers that report it in their own
/// format (e.g. prefixed with the configuration file and line).
class FilterError : public Error {
 public:
  FilterError(std::string_view text, int column, std::string reason);

  int column() const { return column_; }
  const std::string& reason() const { return reason_; }

 private:
  int column_;
  std::string reason_;
};

}  // namespace modsync::projection
