// ProjectionWriter's merge on a real subscriber database.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pgsink/stage_lines.hpp"
#include "modsync/pgsink/target_table.hpp"
#include "modsync/testing/pg_cluster.hpp"

using namespace modsync;

// The merge without its newest-per-key sort (lines of distinct keys) writes what the sorting
// merge writes, version guard included: an older line does not regress a newer row.
TEST_CASE("a stage of distinct keys merges as the sorting merge does", "[integration][pgsink]") {
  testing::PgCluster pg;
  pg.create_database("ship");
  auto conn = pg::PgConnection::connect(config::EffectiveDsn{pg.dsn("ship"), ""},
                                        pg::PgConnection::Mode::kRegular, "sink");
  pgsink::ProjectionWriter::ensure_offsets_table(conn);
  std::vector<std::string> results;
  for (const bool distinct : {false, true}) {
    const std::string table = distinct ? "t_distinct" : "t_sorted";
    pg.exec("ship", "CREATE TABLE " + table +
                        " (id int PRIMARY KEY, v text, _modsync_lsn pg_lsn, _modsync_seq int);"
                        "INSERT INTO " +
                        table +
                        " VALUES (1, 'old', '0/5', 0), (2, 'kept', '0/5', 0), (3, 'gone', '0/5', "
                        "0), (4, 'newer', '0/50', 0)");
    auto target = pgsink::describe_target(conn, {"public", table});
    REQUIRE(target);
    pgsink::ProjectionWriter writer(conn, *target, {"p/public." + table, {"id", "v"}, ""});
    pgsink::StageLines lines;
    const auto add = [&](uint32_t seq, pgsink::StageOp op, const char* id, const char* v) {
      lines.begin_line(Position{Lsn{0x10}, seq});
      pgsink::append_copy_escaped(id, lines.next_value());
      if (v) {
        pgsink::append_copy_escaped(v, lines.next_value());
      } else {
        lines.null_value();
      }
      lines.end_line(op);
    };
    add(0, pgsink::StageOp::kUpsert, "1", "new");    // updates
    add(1, pgsink::StageOp::kDelete, "3", nullptr);  // deletes
    add(2, pgsink::StageOp::kUpsert, "4", "stale");  // older than the row: ignored
    add(3, pgsink::StageOp::kUpsert, "5", "born");   // inserts
    writer.begin();
    writer.apply(lines.text(), distinct);
    writer.commit();
    results.push_back(pg.query_value(
        "ship",
        "SELECT string_agg(id || '=' || v || '@' || _modsync_lsn, ',' ORDER BY id) FROM " + table));
  }
  CHECK(results[0] == "1=new@0/10,2=kept@0/5,4=newer@0/50,5=born@0/10");
  CHECK(results[1] == results[0]);
}

// Two connections applying one projection (sink.workers, sink.group replicas): a truncate on
// one and a merge of an older row on the other, at the same time. The merge did not see the
// truncate's uncommitted mark and the truncate's DELETE did not see the merge's uncommitted
// row, so the row older than the truncate survived it. lock_for_truncate holds the merge until
// the truncate commits; the merge then sees the mark and drops the row.
TEST_CASE("a merge beside a truncate on another connection does not keep older rows",
          "[integration][pgsink]") {
  testing::PgCluster pg;
  pg.create_database("ship");
  const config::EffectiveDsn dsn{pg.dsn("ship"), ""};
  auto truncating = pg::PgConnection::connect(dsn, pg::PgConnection::Mode::kRegular, "sink a");
  auto merging = pg::PgConnection::connect(dsn, pg::PgConnection::Mode::kRegular, "sink b");
  pgsink::ProjectionWriter::ensure_offsets_table(truncating);
  for (const char* table : {"keyed", "appended"}) {
    CAPTURE(table);
    const bool keyed = std::string(table) == "keyed";
    pg.exec("ship", fmt::format("CREATE TABLE {} (id int {}, v text, _modsync_lsn pg_lsn, "
                                "_modsync_seq int); INSERT INTO {} VALUES (1, 'before', '0/5', 0)",
                                table, keyed ? "PRIMARY KEY" : "", table));
    auto target = pgsink::describe_target(truncating, {"public", table});
    REQUIRE(target);
    const pgsink::WriterOptions options{std::string("p/public.") + table, {"id", "v"}, ""};
    pgsink::ProjectionWriter a(truncating, *target, options);
    pgsink::ProjectionWriter b(merging, *target, options);
    pgsink::StageLines lines;
    lines.begin_line(Position{Lsn{0x50}, 0});  // older than the truncate at 0/100
    pgsink::append_copy_escaped("2", lines.next_value());
    pgsink::append_copy_escaped("older", lines.next_value());
    lines.end_line(pgsink::StageOp::kUpsert);

    a.begin();
    a.lock_for_truncate();
    a.truncate(Position{Lsn{0x100}, 0});
    std::atomic<bool> merged{false};
    std::thread other([&] {
      b.begin();
      b.apply(lines.text());
      b.commit();
      merged = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK_FALSE(merged.load());  // waits for the truncate's commit
    a.commit();
    other.join();
    CHECK(pg.query_value("ship", fmt::format("SELECT count(*) FROM {}", table)) == "0");
  }
}

// A keyless event re-sent by the capture after a crash may travel on another partition than its
// first copy (no key picks the partition), so two connections (sink.workers, sink.group
// replicas) may merge both copies at once. Neither insert saw the other's uncommitted row and
// the row was inserted twice; the append lock makes the second merge wait and skip it.
TEST_CASE("two connections appending the same event at once insert it once",
          "[integration][pgsink]") {
  testing::PgCluster pg;
  pg.create_database("ship");
  const config::EffectiveDsn dsn{pg.dsn("ship"), ""};
  auto first = pg::PgConnection::connect(dsn, pg::PgConnection::Mode::kRegular, "sink a");
  auto second = pg::PgConnection::connect(dsn, pg::PgConnection::Mode::kRegular, "sink b");
  pgsink::ProjectionWriter::ensure_offsets_table(first);
  pg.exec("ship", "CREATE TABLE log (v text, _modsync_lsn pg_lsn, _modsync_seq int)");
  auto target = pgsink::describe_target(first, {"public", "log"});
  REQUIRE(target);
  const pgsink::WriterOptions options{"p/public.log", {"v"}, ""};
  pgsink::ProjectionWriter a(first, *target, options);
  pgsink::ProjectionWriter b(second, *target, options);
  pgsink::StageLines lines;
  lines.begin_line(Position{Lsn{0x50}, 3});
  pgsink::append_copy_escaped("once", lines.next_value());
  lines.end_line(pgsink::StageOp::kUpsert);

  a.begin();
  a.apply(lines.text());
  std::atomic<bool> merged{false};
  std::thread other([&] {
    b.begin();
    b.apply(lines.text());
    b.commit();
    merged = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(merged.load());  // waits for the first merge's commit
  a.commit();
  other.join();
  CHECK(pg.query_value("ship", "SELECT count(*) FROM log") == "1");
}
