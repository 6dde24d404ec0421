#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "modsync/event/envelope.hpp"

using modsync::Lsn;
using modsync::Position;
using modsync::event::event_id;
using modsync::event::snapshot_event_id;
using modsync::event::SnapshotMarker;
using modsync::event::SourceInfo;

TEST_CASE("event ids are the commit LSN and index in fixed-width uppercase hex", "[event_id]") {
  CHECK(event_id(Position{Lsn{0x16B374D848}, 12}) == "00000016B374D8480000000C");
  CHECK(event_id(Position{Lsn{0}, 0}) == "000000000000000000000000");
  CHECK(event_id(Position{Lsn{~0ull}, ~0u}) == "FFFFFFFFFFFFFFFFFFFFFFFF");
  CHECK(event_id(Position{*Lsn::parse("0/A"), 5}) == event_id(Position{Lsn{10}, 5}));
}

TEST_CASE("event ids sort as strings in position order", "[event_id]") {
  const std::vector<Position> positions = {
      {Lsn{0x1}, 0},          {Lsn{0x1}, 1},          {Lsn{0x1}, 0xF}, {Lsn{0x1}, 0x10},
      {Lsn{0x1}, 0xFFFFFFFF}, {Lsn{0x2}, 0},          {Lsn{0xA}, 3},   {Lsn{0xF0}, 0},
      {Lsn{0x100000000}, 0},  {Lsn{0x16B374D848}, 2}, {Lsn{~0ull}, 0}};
  for (std::size_t i = 1; i < positions.size(); ++i) {
    INFO(positions[i - 1].to_string() << " vs " << positions[i].to_string());
    CHECK(event_id(positions[i - 1]) < event_id(positions[i]));
  }
}

TEST_CASE("snapshot event ids are distinct, deterministic and sortable", "[event_id]") {
  const Lsn point{0x16B374D848};
  CHECK(snapshot_event_id(point, 3, 0x2A) == "00000016B374D848-S00000003000000000000002A");
  CHECK(snapshot_event_id(point, 3, 0x2A) == snapshot_event_id(point, 3, 0x2A));
  CHECK(snapshot_event_id(point, 3, 0x2A).size() == 42);

  CHECK(snapshot_event_id(point, 1, 0xFFFF) < snapshot_event_id(point, 2, 0));
  CHECK(snapshot_event_id(point, 2, 9) < snapshot_event_id(point, 2, 10));
  // Changes committed before the consistent point come first, those at or after it last.
  CHECK(event_id(Position{Lsn{point.value() - 1}, 0xFFFFFFFF}) < snapshot_event_id(point, 0, 0));
  CHECK(snapshot_event_id(point, 0xFFFFFFFF, ~0ull) < event_id(Position{point, 0}));
}

TEST_CASE("the id of an event follows its snapshot marker", "[event_id]") {
  SourceInfo source;
  source.position = Position{Lsn{0x10}, 4};
  source.snapshot_table = 1;
  source.snapshot_row = 2;
  std::string out;
  modsync::event::append_event_id(source, out);
  CHECK(out == event_id(source.position));

  source.snapshot = SnapshotMarker::kLast;
  out.clear();
  modsync::event::append_event_id(source, out);
  CHECK(out == snapshot_event_id(Lsn{0x10}, 1, 2));
}
