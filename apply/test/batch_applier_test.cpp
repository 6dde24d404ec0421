// MergeSegment: which stage lines one merge statement can apply together (the batch
// applier's segmenting, without a server).

#include <catch2/catch.hpp>

#include <string>

#include "batch_applier.hpp"

using modsync::Lsn;
using modsync::Position;
using modsync::apply::MergeSegment;
using modsync::apply::ProjectedEvent;
using modsync::pgsink::StageLines;
using modsync::pgsink::StageOp;

namespace {

/// A kLine event of key `key` staged as `op` at index `seq`.
ProjectedEvent line(StageLines& lines, uint64_t key, StageOp op, uint32_t seq) {
  ProjectedEvent e;
  e.kind = ProjectedEvent::Kind::kLine;
  e.key_hash = key;
  lines.begin_line(Position{Lsn{0x10}, seq});
  lines.next_value() += std::to_string(key);
  e.line = lines.end_line(op);
  return e;
}

}  // namespace

TEST_CASE("a merge segment takes every line that needs no earlier row of its key",
          "[unit][apply][applier]") {
  StageLines lines;
  MergeSegment segment(false);
  const auto a = line(lines, 1, StageOp::kUpsert, 0);
  const auto b = line(lines, 1, StageOp::kUpsert, 1);   // the newer one wins in the merge
  const auto c = line(lines, 2, StageOp::kPartial, 2);  // another key
  const auto d = line(lines, 1, StageOp::kDelete, 3);   // a hard delete needs no row
  for (const auto* e : {&a, &b, &c, &d}) {
    CHECK_FALSE(segment.must_follow(*e));
    segment.add(*e, lines);
  }
  CHECK(segment.text() == lines.text());
  // Key 1 came three times: the merge must keep the newest line per key.
  CHECK_FALSE(segment.distinct_keys());
}

TEST_CASE("a merge segment of distinct keys says so, until a key repeats or it is cleared",
          "[unit][apply][applier]") {
  StageLines lines;
  MergeSegment segment(false);
  CHECK(segment.distinct_keys());
  segment.add(line(lines, 1, StageOp::kUpsert, 0), lines);
  segment.add(line(lines, 2, StageOp::kDelete, 1), lines);
  segment.add(line(lines, 3, StageOp::kPartial, 2), lines);
  CHECK(segment.distinct_keys());
  segment.add(line(lines, 2, StageOp::kUpsert, 3), lines);
  CHECK_FALSE(segment.distinct_keys());
  segment.clear();
  CHECK(segment.distinct_keys());
}

TEST_CASE("a partial update or a soft delete after a line of its key starts a new segment",
          "[unit][apply][applier]") {
  StageLines lines;
  const auto upsert = line(lines, 7, StageOp::kUpsert, 0);
  const auto partial = line(lines, 7, StageOp::kPartial, 1);
  const auto remove = line(lines, 7, StageOp::kDelete, 2);

  MergeSegment hard(false);
  hard.add(upsert, lines);
  CHECK(hard.must_follow(partial));
  CHECK_FALSE(hard.must_follow(remove));

  MergeSegment soft(true);
  soft.add(upsert, lines);
  CHECK(soft.must_follow(partial));
  CHECK(soft.must_follow(remove));
  // Once merged, the next segment starts empty.
  soft.clear();
  CHECK(soft.text().empty());
  CHECK_FALSE(soft.must_follow(partial));
  soft.add(partial, lines);
  CHECK(soft.text() == lines.slice(partial.line));
  CHECK(soft.must_follow(remove));
}

namespace {

/// A new row (an insert or snapshot row) of key `key` at position 0/`lsn`#`seq`.
ProjectedEvent new_row(StageLines& lines, uint64_t key, uint64_t lsn, uint32_t seq) {
  ProjectedEvent e;
  e.kind = ProjectedEvent::Kind::kLine;
  e.key_hash = key;
  e.new_row = true;
  e.position = Position{Lsn{lsn}, seq};
  lines.begin_line(e.position);
  lines.next_value() += std::to_string(key);
  e.line = lines.end_line(StageOp::kUpsert);
  return e;
}

}  // namespace

TEST_CASE("a keyed segment takes the bulk path while every line is a new row of a new key",
          "[unit][apply][applier]") {
  StageLines lines;
  MergeSegment segment(false);
  CHECK(segment.size() == 0);
  const auto a = new_row(lines, 1, 0x20, 5);
  const auto b = new_row(lines, 2, 0x10, 7);  // the oldest
  segment.add(a, lines);
  segment.add(b, lines);
  REQUIRE(segment.new_rows());
  CHECK(segment.oldest() == Position{Lsn{0x10}, 7});
  CHECK(segment.target_lines() == "1\t0/20\t5\n2\t0/10\t7\n");
  // The stage text is still there for the merge, should the bulk path hand the lines back.
  CHECK(segment.text() == lines.text());

  segment.add(new_row(lines, 1, 0x30, 0), lines);  // key 1 again
  CHECK_FALSE(segment.new_rows());
  segment.clear();
  segment.add(new_row(lines, 3, 0x30, 1), lines);
  CHECK(segment.new_rows());
  segment.add(line(lines, 4, StageOp::kUpsert, 2), lines);  // an update
  CHECK_FALSE(segment.new_rows());
}

TEST_CASE("an append-only segment goes to the bulk path in position order, its upserts only",
          "[unit][apply][applier]") {
  StageLines lines;
  MergeSegment segment(false, true, true);
  ProjectedEvent later = new_row(lines, 0, 0x20, 1);
  later.new_row = false;  // an update: one more version in the log
  segment.add(later, lines);
  segment.add(new_row(lines, 0, 0x20, 0), lines);
  ProjectedEvent gone = line(lines, 0, StageOp::kDelete, 9);
  gone.position = Position{Lsn{0x15}, 0};
  segment.add(gone, lines);
  REQUIRE(segment.new_rows());
  CHECK(segment.oldest() == Position{Lsn{0x15}, 0});
  CHECK(segment.target_lines() == "0\t0/20\t0\n0\t0/20\t1\n");

  // A re-sent event consumed in the same batch: the merge's DISTINCT ON handles it.
  segment.add(new_row(lines, 0, 0x20, 0), lines);
  CHECK_FALSE(segment.new_rows());

  MergeSegment unpositioned(false, true, false);
  unpositioned.add(new_row(lines, 0, 0x20, 0), lines);
  REQUIRE(unpositioned.new_rows());
  CHECK(unpositioned.target_lines() == "0\n");
}

TEST_CASE("a merge segment's key set keeps its answers across growth and clears",
          "[unit][apply][applier]") {
  StageLines lines;
  MergeSegment segment(false);
  for (uint64_t round = 0; round < 3; ++round) {
    for (uint64_t k = 0; k < 5000; ++k) segment.add(line(lines, k * 7919 + round, StageOp::kUpsert, 0), lines);
    CHECK(segment.distinct_keys());
    CHECK(segment.must_follow(line(lines, 4999 * 7919 + round, StageOp::kPartial, 0)));
    CHECK_FALSE(segment.must_follow(line(lines, 5000 * 7919 + round, StageOp::kPartial, 0)));
    segment.add(line(lines, 17 * 7919 + round, StageOp::kUpsert, 0), lines);
    CHECK_FALSE(segment.distinct_keys());
    segment.clear();
    lines.clear();
  }
}
