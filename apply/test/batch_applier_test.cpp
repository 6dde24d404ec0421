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
