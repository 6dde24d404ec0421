#pragma once
// Rows of COPY … TO STDOUT in text format → column values, pure (no I/O).

#include <string>
#include <string_view>
#include <vector>

#include "modsync/event/row.hpp"

namespace modsync::pgsource {

/// Splits one COPY text row into its fields and undoes COPY's escapes, so each value is the
/// type's text output exactly as a text-format query result holds it:
///   field ('\t' field)* '\n'      `\N` alone is NULL; `\\` `\b` `\f` `\n` `\r` `\t` `\v`, and
///                                 the input-only `\ooo` (octal) and `\xhh`, are one byte each;
///                                 a backslash before any other byte stands for that byte.
/// A field without a backslash is a view into the row itself; escaped fields are unescaped into
/// the parser's buffer (reused: no allocation per row once it has grown). The values stay valid
/// until the next parse() and while the row's bytes live. Not thread-safe; one per reader.
class CopyTextParser {
 public:
  /// Parses `row` (with or without its final '\n') into `columns` values; throws a fatal
  /// modsync::Error naming `what` (e.g. "snapshot of public.orders") when the row has another
  /// number of fields.
  void parse(std::string_view row, size_t columns, std::string_view what);

  const std::vector<event::ColumnValue>& values() const { return values_; }

 private:
  std::vector<event::ColumnValue> values_;
  std::string unescaped_;
  /// Per field: where it starts in unescaped_ (escaped fields), or npos (a view into the row).
  std::vector<size_t> offsets_;
};

}  // namespace modsync::pgsource
