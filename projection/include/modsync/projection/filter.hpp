#pragma once
// A projection's `where` expression: parsed once at start, bound to a table's columns, then
// evaluated per row. The language is documented in docs/filters.md.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/projection/bound_filter.hpp"

namespace modsync::projection {

struct FilterProgram;

/// A parsed `where` expression. Immutable; copies share the parsed form, and a Filter may be
/// used from any number of threads.
class Filter {
 public:
  /// The filter of an empty `where`: every row matches.
  static Filter match_all();

  /// Parses `text` (the `where` string of a projection). Empty or blank text gives match_all().
  /// Throws FilterError (kFatal) naming the column, what was expected and what was found.
  static Filter parse(std::string_view text);

  /// True for match_all(): the sink can skip evaluation altogether.
  bool is_match_all() const;

  /// The text it was parsed from ("" for match_all()).
  const std::string& text() const;

  /// The distinct column names the expression reads, in order of first appearance, so the
  /// caller can check them against the source table.
  std::vector<std::string> columns() const;

  /// The expression fully parenthesized, keywords upper-case, literals normalized (numbers in
  /// plain decimal): shows how it was understood. "TRUE" for match_all().
  std::string describe() const;

  /// Resolves the column names against a table's columns: `column_names[i]` is the name of
  /// the value the caller will pass at index i of each row. Names are compared exactly
  /// (case-sensitive). Throws FilterError for a column the table does not have, listing the
  /// ones it has.
  BoundFilter bind(const std::vector<std::string>& column_names) const;

 private:
  explicit Filter(std::shared_ptr<const FilterProgram> program);

  std::shared_ptr<const FilterProgram> program_;
};

}  // namespace modsync::projection
