#pragma once
// A filter resolved against one table's columns, evaluated once per row on the hot path.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "modsync/projection/value.hpp"

namespace modsync::projection {

struct FilterProgram;

/// SQL's three truth values. A row matches only when its filter is kTrue.
enum class Truth : uint8_t { kFalse, kTrue, kUnknown };

/// Made by Filter::bind. Cheap to copy (the parsed form is shared); evaluation is const, does
/// not allocate and may run on several threads at once.
class BoundFilter {
 public:
  /// Whether the row matches: the expression is TRUE (not FALSE, not unknown). `row[i]` is the
  /// value of the i-th name given to bind(); only the indexes in row_indexes() are read, so
  /// the others may be left null. Indexes past the end of `row` read as unavailable.
  bool matches(std::span<const Value> row) const { return evaluate(row) == Truth::kTrue; }

  /// The expression's truth value for the row, for callers that treat unknown specially
  /// (e.g. a row whose filter column is an unchanged TOASTed value).
  Truth evaluate(std::span<const Value> row) const;

  /// The row indexes the expression reads (distinct, in order of first appearance), so the
  /// caller fills only those values.
  const std::vector<std::size_t>& row_indexes() const { return row_indexes_; }

 private:
  friend class Filter;
  BoundFilter(std::shared_ptr<const FilterProgram> program, std::vector<std::size_t> row_indexes);

  /// Null for a match-all filter.
  std::shared_ptr<const FilterProgram> program_;
  /// Indexed by the program's column slot (Filter::columns() order).
  std::vector<std::size_t> row_indexes_;
};

}  // namespace modsync::projection
