// ProjectionWriter's merge on a real subscriber database.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

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

// A daemon frozen inside a batch's transaction (SIGSTOP) held its locks for ever: another
// replica's partition claim waited on them. The writer's session now ends an idle transaction,
// and only an idle one: a statement that runs longer than the timeout is not cut.
TEST_CASE("a writer's transaction left idle ends; a long statement in it does not",
          "[integration][pgsink]") {
  using namespace std::chrono_literals;
  testing::PgCluster pg;
  pg.create_database("ship");
  pg.exec("ship",
          "CREATE TABLE t (id int PRIMARY KEY, v text, _modsync_lsn pg_lsn, "
          "_modsync_seq int)");
  auto conn = pg::PgConnection::connect(config::EffectiveDsn{pg.dsn("ship"), ""},
                                        pg::PgConnection::Mode::kRegular, "sink");
  pgsink::ProjectionWriter::ensure_offsets_table(conn);
  auto target = pgsink::describe_target(conn, {"public", "t"});
  REQUIRE(target);
  pgsink::ProjectionWriter defaults(conn, *target, {"p/public.t", {"id", "v"}, ""});
  CHECK(conn.query_value("SHOW idle_in_transaction_session_timeout") == "1min");

  pgsink::ProjectionWriter writer(conn, *target, {"p/public.t", {"id", "v"}, "", 1s});
  writer.begin();
  conn.exec("SELECT pg_sleep(2)");  // busy for twice the timeout: not idle
  writer.commit();

  writer.begin();
  conn.exec("LOCK TABLE t IN SHARE MODE");
  std::this_thread::sleep_for(2500ms);
  // The server ended the idle session: its lock is gone, and the writer's next use fails (the
  // pipeline then reconnects and retries the batch).
  CHECK(pg.query_value("ship",
                       "SELECT count(*) FROM pg_locks l JOIN pg_class c ON "
                       "c.oid = l.relation WHERE c.relname = 't'") == "0");
  CHECK_THROWS(conn.exec("SELECT 1"));
}
