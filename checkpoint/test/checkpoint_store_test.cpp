#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/db.h>

#include "modsync/checkpoint/checkpoint_store.hpp"
#include "modsync/common/error.hpp"
#include "modsync/testing/temp_dir.hpp"

using Catch::Matchers::Contains;
using modsync::Error;
using modsync::Lsn;
using modsync::Position;
using modsync::checkpoint::Batch;
using modsync::checkpoint::CheckpointStore;
using modsync::checkpoint::SchemaVersion;
using modsync::checkpoint::SinkOffset;
using modsync::checkpoint::SnapshotProgress;
using modsync::checkpoint::SourceCheckpoint;
using modsync::testing::TempDir;

namespace {

SchemaVersion version(std::string schema, std::string table, uint32_t v) {
  return SchemaVersion{std::move(schema), std::move(table), v,
                       R"([{"name":"id","type":"int8"}])" + std::to_string(v), Lsn{0x1000u + v}};
}

SnapshotProgress progress(std::string table, uint64_t rows, bool done) {
  return SnapshotProgress{"public",
                          std::move(table),
                          R"({"id":)" + std::to_string(rows) + "}",
                          rows,
                          done,
                          Lsn{0x16B374D848ull},
                          "00000003-00000002-1",
                          Lsn{0x16B374D000ull + rows},
                          "16400 truetruetruetruetrue entry 16395",
                          done};
}

/// Writes a raw key/value behind the store's back, as a bug or a bad disk would.
void put_raw(const std::filesystem::path& db_dir, const std::string& key,
             const std::string& value) {
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::Options(), db_dir.string(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  REQUIRE(db->Put(rocksdb::WriteOptions(), key, value).ok());
}

std::string source_key() {
  return "v1/source";
}

}  // namespace

TEST_CASE("source checkpoint round-trips and survives reopening", "[checkpoint]") {
  TempDir dir;
  const SourceCheckpoint saved{Position{Lsn{0x16B374D848ull}, 12}, Lsn{0x16B374D000ull},
                               1700000000123};
  {
    CheckpointStore store(dir.path(), "pair-a");
    CHECK_FALSE(store.load_source());
    store.save_source(saved);
    CHECK(store.load_source() == saved);
    SourceCheckpoint later = saved;
    later.acked.index = 13;
    store.save_source(later);
    CHECK(store.load_source()->acked.index == 13);
  }
  CheckpointStore reopened(dir.path(), "pair-a");
  REQUIRE(reopened.load_source());
  CHECK(reopened.load_source()->acked == Position{Lsn{0x16B374D848ull}, 13});
  CHECK(reopened.load_source()->confirmed == Lsn{0x16B374D000ull});
  CHECK(reopened.load_source()->updated_unix_ms == 1700000000123);
  CHECK(std::filesystem::is_directory(dir.path() / "pair-a"));
}

TEST_CASE("pairs in one state dir are independent", "[checkpoint]") {
  TempDir dir;
  CheckpointStore a(dir.path(), "a");
  CheckpointStore b(dir.path(), "b");
  a.save_source(SourceCheckpoint{Position{Lsn{5}, 0}, Lsn{5}, 1});
  CHECK(a.load_source());
  CHECK_FALSE(b.load_source());
}

TEST_CASE("schema versions are listed by table then version", "[checkpoint]") {
  TempDir dir;
  CheckpointStore store(dir.path(), "p");
  // Inserted out of order, with version numbers whose byte order differs from text order, and
  // table names where one is a prefix of another.
  store.save_schema_version(version("public", "users", 10));
  store.save_schema_version(version("public", "users", 2));
  store.save_schema_version(version("public", "user", 1));
  store.save_schema_version(version("public", "users", 256));
  store.save_schema_version(version("audit", "users", 1));

  const auto all = store.load_schema_versions();
  REQUIRE(all.size() == 5);
  CHECK(all[0] == version("audit", "users", 1));
  CHECK(all[1] == version("public", "user", 1));
  CHECK(all[2] == version("public", "users", 2));
  CHECK(all[3] == version("public", "users", 10));
  CHECK(all[4] == version("public", "users", 256));
}

TEST_CASE("snapshot progress saves, lists and clears", "[checkpoint]") {
  TempDir dir;
  {
    CheckpointStore store(dir.path(), "p");
    store.save_snapshot_progress(progress("orders", 1000, false));
    store.save_snapshot_progress(progress("accounts", 5, true));
    store.save_snapshot_progress(progress("orders", 2000, false));
  }
  CheckpointStore store(dir.path(), "p");
  CHECK(store.load_snapshot_progress("public", "orders") == progress("orders", 2000, false));
  CHECK_FALSE(store.load_snapshot_progress("public", "nope"));
  const auto all = store.list_snapshot_progress();
  REQUIRE(all.size() == 2);
  CHECK(all[0] == progress("accounts", 5, true));
  CHECK(all[1] == progress("orders", 2000, false));

  store.save_source(SourceCheckpoint{Position{Lsn{7}, 1}, Lsn{7}, 2});
  store.clear_snapshot_progress();
  CHECK(store.list_snapshot_progress().empty());
  CHECK(store.load_source());  // clearing touches nothing else
}

TEST_CASE("sink offsets are per group and upserted per partition", "[checkpoint]") {
  TempDir dir;
  CheckpointStore store(dir.path(), "p");
  CHECK(store.load_sink_offsets("g1").empty());
  store.save_sink_offsets("g1", {{"orders", 0, 10}, {"orders", 300, 7}, {"accounts", 1, 3}});
  store.save_sink_offsets("g1-other", {{"orders", 0, 99}});
  store.save_sink_offsets("g1", {{"orders", 0, 11}});

  const auto g1 = store.load_sink_offsets("g1");
  REQUIRE(g1.size() == 3);
  CHECK(g1[0] == SinkOffset{"accounts", 1, 3});
  CHECK(g1[1] == SinkOffset{"orders", 0, 11});
  CHECK(g1[2] == SinkOffset{"orders", 300, 7});
  CHECK(store.load_sink_offsets("g1-other") == std::vector<SinkOffset>{{"orders", 0, 99}});
}

TEST_CASE("a batch commits source and snapshot progress together", "[checkpoint]") {
  TempDir dir;
  CheckpointStore store(dir.path(), "p");
  Batch batch;
  CHECK(batch.empty());
  batch.put_source(SourceCheckpoint{Position{Lsn{0x20}, 3}, Lsn{0x10}, 42});
  batch.put_snapshot_progress(progress("orders", 10, false));
  batch.put_schema_version(version("public", "orders", 1));
  batch.put_sink_offsets("g", {{"t", 0, 1}});
  CHECK(batch.size() == 4);

  // Nothing is visible before the commit.
  CHECK_FALSE(store.load_source());
  CHECK(store.list_snapshot_progress().empty());

  store.commit(batch);
  CHECK(batch.empty());
  CHECK(store.load_source()->acked == Position{Lsn{0x20}, 3});
  CHECK(store.load_snapshot_progress("public", "orders")->rows == 10);
  CHECK(store.load_schema_versions() == std::vector<SchemaVersion>{version("public", "orders", 1)});
  CHECK(store.load_sink_offsets("g").size() == 1);

  // A dropped batch writes nothing.
  {
    Batch dropped;
    dropped.put_source(SourceCheckpoint{Position{Lsn{0x99}, 0}, Lsn{0x99}, 43});
  }
  CHECK(store.load_source()->acked == Position{Lsn{0x20}, 3});
}

TEST_CASE("concurrent writers and readers", "[checkpoint]") {
  TempDir dir;
  CheckpointStore store(dir.path(), "p");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (uint32_t i = 0; i < 20; ++i) {
        store.save_schema_version(version("s", "t" + std::to_string(t), i));
        (void)store.load_schema_versions();
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(store.load_schema_versions().size() == 80);
}

TEST_CASE("a second opener of the same pair is refused with a clear message", "[checkpoint]") {
  TempDir dir;
  CheckpointStore first(dir.path(), "pair");
  CHECK_THROWS_WITH(CheckpointStore(dir.path(), "pair"),
                    Contains("is in use by another modsync process (pid ") &&
                        Contains(std::to_string(::getpid())) &&
                        Contains("two daemons must not share a daemon.id") &&
                        Contains((dir.path() / "pair").string()));
  // Once the first closes, the directory can be opened again.
  CheckpointStore moved = std::move(first);
  { CheckpointStore gone = std::move(moved); }
  CHECK_NOTHROW(CheckpointStore(dir.path(), "pair"));
}

TEST_CASE("an unusable state dir is reported", "[checkpoint]") {
  TempDir dir;
  {
    std::FILE* f = std::fopen((dir.path() / "file").c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
  }
  CHECK_THROWS_WITH(CheckpointStore(dir.path() / "file", "pair"),
                    Contains("state dir") && Contains("is not writable"));
  CHECK_THROWS_WITH(CheckpointStore(dir.path(), "../escape"), Contains("invalid daemon pair id"));
}

TEST_CASE("corrupt and unknown-version values give precise errors", "[checkpoint]") {
  TempDir dir;
  const auto db_dir = dir.path() / "p";
  { CheckpointStore store(dir.path(), "p"); }

  SECTION("unknown encoding version") {
    put_raw(db_dir, source_key(), std::string("\x07S", 2) + std::string(28, '\0'));
    CheckpointStore store(dir.path(), "p");
    CHECK_THROWS_WITH(store.load_source(),
                      "checkpoint value at key v1/source has encoding version 7; this modsync "
                      "reads version 1 (was the state dir written by a newer modsync? downgrades "
                      "are not supported)");
  }
  SECTION("truncated value") {
    put_raw(db_dir, source_key(), std::string("\x01S\x01\x02\x03\x04\x05\x06\x07\x08\x09", 11));
    CheckpointStore store(dir.path(), "p");
    CHECK_THROWS_WITH(store.load_source(),
                      "checkpoint value at key v1/source is corrupt: truncated at byte 10 (field "
                      "acked.index, value has 11 bytes); restore the state dir from a backup or "
                      "remove it to start over");
  }
  SECTION("trailing bytes") {
    put_raw(db_dir, source_key(), std::string("\x01S", 2) + std::string(29, '\0'));
    CheckpointStore store(dir.path(), "p");
    CHECK_THROWS_WITH(store.load_source(), Contains("is corrupt: 1 trailing bytes at byte 30"));
  }
  SECTION("wrong record kind") {
    put_raw(db_dir, source_key(), std::string("\x01V", 2) + std::string(28, '\0'));
    CheckpointStore store(dir.path(), "p");
    CHECK_THROWS_WITH(store.load_source(), Contains("record kind 'V' where 'S' was expected"));
  }
  SECTION("string overrunning the value, in a listed record") {
    std::string key = std::string("v1/snapshot/public") + '\0' + "t";
    put_raw(db_dir, key, std::string("\x01P\xff\x00\x00\x00", 6) + "ab");
    CheckpointStore store(dir.path(), "p");
    CHECK_THROWS_WITH(store.list_snapshot_progress(),
                      Contains("key v1/snapshot/public|t is corrupt: string of 255 bytes "
                               "overruns the value at byte 2 (field schema"));
    // describe() shows the problem instead of failing.
    CHECK_THAT(store.describe(), Contains("unreadable: checkpoint value at key v1/snapshot/"));
  }
  SECTION("unknown store format") {
    put_raw(db_dir, "modsync/format", "2");
    try {
      CheckpointStore store(dir.path(), "p");
      FAIL("opened a store of format 2");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Contains("has format '2'; this modsync reads format 1"));
      CHECK_FALSE(e.retriable());
    }
  }
}

TEST_CASE("describe lists everything", "[checkpoint]") {
  TempDir dir;
  CheckpointStore store(dir.path(), "p");
  CHECK_THAT(store.describe(), Contains("(empty)"));
  store.save_source(
      SourceCheckpoint{Position{Lsn{0x16B374D848ull}, 12}, Lsn{0x16B374D000ull}, 1700000000123});
  store.save_schema_version(version("public", "users", 3));
  store.save_snapshot_progress(progress("orders", 1000, false));
  store.save_sink_offsets("apply", {{"orders", 2, 77}});
  const std::string text = store.describe();
  INFO(text);
  CHECK_THAT(text, Contains("source: acked 16/B374D848#12 confirmed 16/B374D000 updated "
                            "2023-11-14T22:13:20.123Z"));
  CHECK_THAT(text, Contains("schema: public.users v3 since 0/1003"));
  CHECK_THAT(text,
             Contains("snapshot: public.orders in progress rows 1000 last key {\"id\":1000}"));
  CHECK_THAT(text, Contains("sink offset: group apply orders[2] next offset 77"));
}
