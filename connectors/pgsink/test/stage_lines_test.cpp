// StageLines: the COPY text layout the stage table and the merge read.

#include <catch2/catch.hpp>

#include "modsync/pgsink/stage_lines.hpp"

using modsync::Lsn;
using modsync::Position;
using modsync::pgsink::append_copy_escaped;
using modsync::pgsink::StageLines;
using modsync::pgsink::StageOp;

TEST_CASE("stage lines: op, position, unchanged columns, values", "[unit][pgsink]") {
  StageLines lines;
  lines.begin_line(Position{Lsn{0x16B374D848ull}, 3});
  lines.next_value() += "42";
  lines.null_value();
  append_copy_escaped("a\tb\\c\nd\re", lines.next_value());
  const auto upsert = lines.end_line(StageOp::kUpsert);
  CHECK(upsert.op == StageOp::kUpsert);
  CHECK(lines.slice(upsert) == "u\t16/B374D848\t3\t\\N\t42\t\\N\ta\\tb\\\\c\\nd\\re\n");

  // A value left unchanged makes the line partial, listing the target columns to keep.
  lines.begin_line(Position{Lsn{0x10}, 0});
  lines.next_value() += "7";
  lines.unchanged_value("notes");
  lines.unchanged_value("body");
  const auto partial = lines.end_line(StageOp::kUpsert);
  CHECK(partial.op == StageOp::kPartial);
  CHECK(lines.slice(partial) == "p\t0/10\t0\t,notes,body,\t7\t\\N\t\\N\n");
  CHECK(lines.slice(upsert).front() == 'u');  // earlier lines stay as they were

  lines.begin_line(Position{Lsn{0x20}, 1});
  lines.next_value() += "7";
  lines.abandon_line();
  lines.begin_line(Position{Lsn{0x20}, 2});
  lines.next_value() += "8";
  const auto del = lines.end_line(StageOp::kDelete);
  CHECK(lines.slice(del) == "d\t0/20\t2\t\\N\t8\n");
  CHECK(lines.text().size() == del.end);
  CHECK(partial.end == del.begin);

  lines.clear();
  CHECK(lines.text().empty());
}

TEST_CASE("the stage table has the columns of the layout", "[unit][pgsink]") {
  CHECK(StageLines::create_table_sql("modsync_stage_1", {"text", "numeric"}) ==
        "CREATE TEMP TABLE IF NOT EXISTS modsync_stage_1 (op \"char\", lsn pg_lsn, seq int4, "
        "unchanged text, c0 text, c1 numeric) ON COMMIT DELETE ROWS");
}

TEST_CASE("a stage line as a line of a COPY into the target: values, then the position",
          "[unit][pgsink]") {
  StageLines lines;
  lines.begin_line(Position{Lsn{0x16B374D848ull}, 3});
  lines.next_value() += "42";
  lines.null_value();
  append_copy_escaped("a\tb", lines.next_value());
  const auto line = lines.end_line(StageOp::kUpsert);
  std::string out = "x\n";
  StageLines::append_target_line(lines.slice(line), true, out);
  StageLines::append_target_line(lines.slice(line), false, out);
  CHECK(out == "x\n42\t\\N\ta\\tb\t16/B374D848\t3\n42\t\\N\ta\\tb\n");
}
