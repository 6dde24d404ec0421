#include "snapshotter.hpp"

#include <catch2/catch.hpp>

#include "modsync/testing/temp_dir.hpp"

namespace modsync::capture {
namespace {

pgsource::TableInfo table(std::string name, uint32_t oid) {
  pgsource::TableInfo t;
  t.name = {"public", std::move(name)};
  t.oid = oid;
  t.key_columns = {"id"};
  return t;
}

checkpoint::SnapshotProgress done(std::string name, Lsn whole_at) {
  checkpoint::SnapshotProgress p;
  p.schema = "public";
  p.table = std::move(name);
  p.done = true;
  p.consistent_point = Lsn{0x500};
  p.whole_at = whole_at;
  return p;
}

/// A snapshotter over a real checkpoint store (RocksDB in a temp dir) for three tables.
struct Fixture {
  testing::TempDir dir{"modsync-snapshotter"};
  checkpoint::CheckpointStore store{dir.path(), "p"};
  config::PairConfig pair;
  CaptureStats stats;
  ChangeMapper mapper{ChangeMapper::Options{}};
  DurabilityTracker tracker;
  std::optional<Snapshotter> snapshotter;

  Fixture() {
    pair.daemon.id = "p";
    pair.source.emplace();
    snapshotter.emplace(pair, store, stats, mapper, tracker);
    snapshotter->set_tables("source m (pair p)", {table("a", 1), table("b", 2), table("c", 3)});
  }
};

TEST_CASE("a snapshot is pending until every table's is done", "[snapshot]") {
  Fixture f;
  CHECK(f.snapshotter->pending());
  f.store.save_snapshot_progress(done("a", Lsn{0x500}));
  f.store.save_snapshot_progress(done("b", Lsn{0x500}));
  CHECK(f.snapshotter->pending());
  auto c = done("c", Lsn{});
  c.done = false;
  f.store.save_snapshot_progress(c);
  CHECK(f.snapshotter->pending());
  c.done = true;
  f.store.save_snapshot_progress(c);
  CHECK_FALSE(f.snapshotter->pending());
}

TEST_CASE("streaming skips only what a table read whole at a later point holds", "[snapshot]") {
  Fixture f;
  f.store.save_snapshot_progress(done("a", Lsn{0x500}));  // read whole at 0/500
  f.store.save_snapshot_progress(done("b", Lsn{}));       // resumed mid-table: no such point
  auto c = done("c", Lsn{0x700});
  c.done = false;  // not finished: nothing to skip yet
  f.store.save_snapshot_progress(c);
  const auto covers = f.snapshotter->covers(Lsn{0x400});
  CHECK(covers.size() == 1);
  CHECK(covers.at(1) == Lsn{0x500});
  // Streaming from at or past the point: nothing of it is left to skip.
  CHECK(f.snapshotter->covers(Lsn{0x500}).empty());
}

}  // namespace
}  // namespace modsync::capture
