#pragma once
// The COPY text a batch stages into its temporary stage table, and that table's definition:
// the layout ProjectionWriter's merge statement reads, kept in one place.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "modsync/common/lsn.hpp"

namespace modsync::pgsink {

/// What a stage line asks the merge to do with its key's row.
enum class StageOp : char {
  kUpsert = 'u',  ///< insert, or update where the stored position is older
  /// As kUpsert, for a row the target usually lacks (an insert or snapshot event): the merge
  /// of a segment without repeated keys tries the insert first, and updates kUpsert rows
  /// first. Written into a segment's text by the applier; StageLines itself never ends a line
  /// with it.
  kInsert = 'i',
  kPartial = 'p',  ///< update, keeping the columns the line lists as unchanged
  kDelete = 'd',   ///< delete (or soft delete); only the key values are needed
};

/// Appends `value` to a COPY text line, escaped (backslash, tab, newline, carriage return).
void append_copy_escaped(std::string_view value, std::string& out);

/// The lines of one batch, in PostgreSQL's COPY text format, one per projected event:
///
///   op \t lsn \t seq \t unchanged \t v0 \t … \t vN-1 \n
///
/// op is a StageOp; lsn and seq are the event's source position (commit LSN, index within the
/// transaction); unchanged is \N, or for kPartial the target columns to keep, written
/// ",a,b,"; v0…vN-1 are the fed target columns' values in stage order (WriterOptions::
/// fed_columns), as COPY text or \N. The stage table (create_table_sql) has the columns
/// op "char", lsn pg_lsn, seq int4, unchanged text, c0 … cN-1 (each of the type the writer
/// chose for it: ProjectionWriter reads most values straight into their target column's type).
///
/// A line is built in steps: begin_line, one next_value (or null_value, unchanged_value) per
/// fed column in order, then end_line, or abandon_line to drop it. Not thread-safe; the
/// buffer's capacity is kept across clear().
class StageLines {
 public:
  /// One line: its byte range in text() and its op.
  struct Line {
    std::size_t begin = 0, end = 0;
    StageOp op = StageOp::kUpsert;
  };

  /// CREATE TEMP TABLE IF NOT EXISTS for a stage table `stage` whose value columns c0…cN-1
  /// have the types `types` (SQL type names; "text" takes any value's COPY text as it is).
  static std::string create_table_sql(std::string_view stage,
                                      const std::vector<std::string>& types);

  /// Appends stage line `line` (one whole kUpsert line, newline included) to `out` as a line
  /// of a COPY straight into the target (ProjectionWriter::insert_new): the fed columns'
  /// values, then, `with_position`, its lsn and seq. A memcpy of the line's parts.
  static void append_target_line(std::string_view line, bool with_position, std::string& out);

  void clear() { text_.clear(); }
  const std::string& text() const { return text_; }
  std::string_view slice(const Line& line) const {
    return std::string_view(text_).substr(line.begin, line.end - line.begin);
  }

  /// Starts the line of the event at `position`.
  void begin_line(const Position& position);
  /// Starts the next value and returns the buffer to append its COPY text (escaped) to.
  std::string& next_value() {
    text_ += '\t';
    return text_;
  }
  void null_value() { text_ += "\t\\N"; }
  /// A value the event does not carry because it is unchanged (TOAST) and `target_column`
  /// keeps it: the line becomes kPartial.
  void unchanged_value(std::string_view target_column);
  /// Ends the line as `op`, or as kPartial when a value was unchanged.
  Line end_line(StageOp op);
  /// Drops the line begun last.
  void abandon_line() { text_.resize(line_begin_); }

 private:
  std::string text_;
  std::string unchanged_;
  std::size_t line_begin_ = 0, unchanged_at_ = 0;
};

}  // namespace modsync::pgsink
