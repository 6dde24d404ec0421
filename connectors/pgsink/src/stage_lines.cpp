#include "modsync/pgsink/stage_lines.hpp"

#include <charconv>
#include <iterator>

#include <fmt/format.h>

namespace modsync::pgsink {

void append_copy_escaped(std::string_view value, std::string& out) {
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const char* esc = c == '\\'   ? "\\\\"
                      : c == '\t' ? "\\t"
                      : c == '\n' ? "\\n"
                      : c == '\r' ? "\\r"
                                  : nullptr;
    if (!esc) continue;
    out.append(value.data() + start, i - start);
    out += esc;
    start = i + 1;
  }
  out.append(value.data() + start, value.size() - start);
}

std::string StageLines::create_table_sql(std::string_view stage,
                                         const std::vector<std::string>& types) {
  std::string columns;
  for (std::size_t i = 0; i < types.size(); ++i)
    fmt::format_to(std::back_inserter(columns), ", c{} {}", i, types[i]);
  return fmt::format(
      "CREATE TEMP TABLE IF NOT EXISTS {} (op \"char\", lsn pg_lsn, seq int4, unchanged text{}) "
      "ON COMMIT DELETE ROWS",
      stage, columns);
}

void StageLines::append_target_line(std::string_view line, bool with_position,
                                    std::string& out) {
  // op \t lsn \t seq \t unchanged \t values \n: the values follow the fourth tab.
  const size_t lsn = line.find('\t') + 1;
  const size_t seq = line.find('\t', lsn) + 1;
  const size_t unchanged = line.find('\t', seq) + 1;
  const size_t values = line.find('\t', unchanged) + 1;
  out.append(line.data() + values, line.size() - 1 - values);
  if (with_position) {
    out += '\t';
    out.append(line.data() + lsn, unchanged - 1 - lsn);  // "lsn \t seq"
  }
  out += '\n';
}

void StageLines::begin_line(const Position& position) {
  line_begin_ = text_.size();
  unchanged_.clear();
  text_ += "?\t";  // the op, known at end_line
  text_ += position.commit_lsn.to_string();
  text_ += '\t';
  char seq[10];
  text_.append(seq, std::to_chars(seq, seq + sizeof seq, position.index).ptr);
  text_ += '\t';
  unchanged_at_ = text_.size();
  text_ += "\\N";  // the unchanged column; end_line replaces it in the rare partial line
}

void StageLines::unchanged_value(std::string_view target_column) {
  unchanged_ += ',';
  unchanged_ += target_column;
  null_value();
}

StageLines::Line StageLines::end_line(StageOp op) {
  text_ += '\n';
  if (!unchanged_.empty()) {
    op = StageOp::kPartial;
    unchanged_ += ',';
    text_.replace(unchanged_at_, 2, unchanged_);  // rare: only updates with TOAST columns
  }
  text_[line_begin_] = static_cast<char>(op);
  return {line_begin_, text_.size(), op};
}

}  // namespace modsync::pgsink
