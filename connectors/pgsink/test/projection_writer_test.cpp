// ProjectionWriter's merge on a real subscriber database.

#include <string>
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
