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

/// A kLine event of key `key` (value 0, hashed as `hash`) and, when set, value `v` staged as
/// `op` at position 0/`lsn`#`seq`, a new row when `is_new`.
ProjectedEvent keyed(StageLines& lines, const std::string& key, uint64_t hash, const char* v,
                     StageOp op, uint64_t lsn, uint32_t seq, bool is_new = false) {
  ProjectedEvent e;
  e.kind = ProjectedEvent::Kind::kLine;
  e.key_hash = hash;
  e.new_row = is_new;
  e.position = Position{Lsn{lsn}, seq};
  lines.begin_line(e.position);
  lines.next_value() += key;
  if (v) lines.next_value() += v;
  e.line = lines.end_line(op);
  return e;
}

/// A kLine event of key `key` staged as `op` at index `seq`.
ProjectedEvent line(StageLines& lines, uint64_t key, StageOp op, uint32_t seq) {
  return keyed(lines, std::to_string(key), key, nullptr, op, 0x10, seq);
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
  return keyed(lines, std::to_string(key), key, nullptr, StageOp::kUpsert, lsn, seq, true);
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
  // The stage text is still there for the merge, should the bulk path hand the lines back:
  // new rows as kInsert lines, which the merge tries to insert first.
  std::string stage = lines.text();
  stage[0] = stage[stage.find('\n') + 1] = static_cast<char>(StageOp::kInsert);
  CHECK(segment.text() == stage);

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

TEST_CASE("a keyed segment holds the newest line of each key, which keeps its row's standing",
          "[unit][apply][applier]") {
  StageLines lines;
  MergeSegment segment(false, false, true, {0});
  segment.add(keyed(lines, "1", 1, "born", StageOp::kUpsert, 0x10, 0, true), lines);
  segment.add(keyed(lines, "2", 2, "born", StageOp::kUpsert, 0x10, 1, true), lines);
  segment.add(keyed(lines, "1", 1, "grown", StageOp::kUpsert, 0x10, 2), lines);
  segment.add(keyed(lines, "2", 2, "", StageOp::kDelete, 0x10, 3), lines);
  // A key's lines from two partitions (a target key that is not the source's) arrive out of
  // position order: the newer position wins, not the later line.
  segment.add(keyed(lines, "3", 3, "newer", StageOp::kUpsert, 0x20, 0), lines);
  segment.add(keyed(lines, "3", 3, "older", StageOp::kUpsert, 0x10, 4), lines);
  CHECK(segment.size() == 6);
  CHECK(segment.distinct_keys());
  // Key 1's insert and update: the update, still to insert first (kInsert).
  CHECK(segment.text() ==
        "i\t0/10\t2\t\\N\t1\tgrown\n"
        "d\t0/10\t3\t\\N\t2\t\n"
        "u\t0/20\t0\t\\N\t3\tnewer\n");
  CHECK_FALSE(segment.new_rows());  // key 2's delete, key 3's update

  segment.clear();
  segment.add(keyed(lines, "4", 4, "born", StageOp::kUpsert, 0x30, 0, true), lines);
  segment.add(keyed(lines, "4", 4, "grown", StageOp::kUpsert, 0x30, 1), lines);
  segment.add(keyed(lines, "5", 5, "born", StageOp::kUpsert, 0x30, 2, true), lines);
  segment.add(keyed(lines, "5", 5, "born", StageOp::kUpsert, 0x30, 2, true), lines);  // again
  REQUIRE(segment.new_rows());
  CHECK(segment.target_lines() == "4\tgrown\t0/30\t1\n5\tborn\t0/30\t2\n");

  // Equal hashes of different keys: both lines stay, and the merge finds the newest per key.
  segment.clear();
  segment.add(keyed(lines, "6", 9, "six", StageOp::kUpsert, 0x40, 0), lines);
  segment.add(keyed(lines, "7", 9, "seven", StageOp::kUpsert, 0x40, 1), lines);
  CHECK_FALSE(segment.distinct_keys());
  CHECK(segment.text() == "u\t0/40\t0\t\\N\t6\tsix\nu\t0/40\t1\t\\N\t7\tseven\n");

  // Without the key's stage indexes (append-only targets) no line is dropped.
  MergeSegment unkeyed(false);
  unkeyed.add(keyed(lines, "8", 8, "a", StageOp::kUpsert, 0x50, 0), lines);
  unkeyed.add(keyed(lines, "8", 8, "b", StageOp::kUpsert, 0x50, 1), lines);
  CHECK_FALSE(unkeyed.distinct_keys());
  CHECK(unkeyed.text() == "u\t0/50\t0\t\\N\t8\ta\nu\t0/50\t1\t\\N\t8\tb\n");
}
