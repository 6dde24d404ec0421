// ProjectionWriter's merge on a real subscriber database.

#include <atomic>
#include <chrono>
#include <optional>
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

namespace {

/// A subscriber database "ship" with two connections, as two workers (sink.workers) or replicas
/// (sink.group) applying one projection have.
struct TwoConnections {
  TwoConnections() {
    pg.create_database("ship");
    const config::EffectiveDsn dsn{pg.dsn("ship"), ""};
    a.emplace(pg::PgConnection::connect(dsn, pg::PgConnection::Mode::kRegular, "sink a"));
    b.emplace(pg::PgConnection::connect(dsn, pg::PgConnection::Mode::kRegular, "sink b"));
    pgsink::ProjectionWriter::ensure_offsets_table(*a);
  }
  testing::PgCluster pg;
  std::optional<pg::PgConnection> a, b;
};

/// One line of `id` (when set) and `v` at position `lsn`/`seq`, to upsert.
pgsink::StageLines upsert_line(uint64_t lsn, uint32_t seq, const char* id, const char* v) {
  pgsink::StageLines lines;
  lines.begin_line(Position{Lsn{lsn}, seq});
  if (id) pgsink::append_copy_escaped(id, lines.next_value());
  pgsink::append_copy_escaped(v, lines.next_value());
  lines.end_line(pgsink::StageOp::kUpsert);
  return lines;
}

/// While `open` holds a transaction: merges `lines` in a batch of `other` on a thread of its
/// own, checks that it waits for `open`, then commits `open` and lets the merge finish.
void merge_beside(pgsink::ProjectionWriter& open, pgsink::ProjectionWriter& other,
                  const pgsink::StageLines& lines) {
  std::atomic<bool> merged{false};
  std::thread thread([&] {
    other.begin();
    other.apply(lines.text());
    other.commit();
    merged = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(merged.load());  // waits for the other transaction's commit
  open.commit();
  thread.join();
}

}  // namespace

// Two connections applying one projection (sink.workers, sink.group replicas): a truncate on
// one and a merge of an older row on the other, at the same time. The merge did not see the
// truncate's uncommitted mark and the truncate's DELETE did not see the merge's uncommitted
// row, so the row older than the truncate survived it. lock_for_truncate holds the merge until
// the truncate commits; the merge then sees the mark and drops the row.
TEST_CASE("a merge beside a truncate on another connection does not keep older rows",
          "[integration][pgsink]") {
  TwoConnections c;
  for (const char* table : {"keyed", "appended"}) {
    CAPTURE(table);
    const bool keyed = std::string(table) == "keyed";
    c.pg.exec("ship", fmt::format("CREATE TABLE {} (id int {}, v text, _modsync_lsn pg_lsn, "
                                  "_modsync_seq int); INSERT INTO {} VALUES (1, 'before', '0/5', 0)",
                                  table, keyed ? "PRIMARY KEY" : "", table));
    auto target = pgsink::describe_target(*c.a, {"public", table});
    REQUIRE(target);
    const pgsink::WriterOptions options{std::string("p/public.") + table, {"id", "v"}, ""};
    pgsink::ProjectionWriter truncating(*c.a, *target, options);
    pgsink::ProjectionWriter merging(*c.b, *target, options);
    truncating.begin();
    truncating.lock_for_truncate();
    truncating.truncate(Position{Lsn{0x100}, 0});
    merge_beside(truncating, merging, upsert_line(0x50, 0, "2", "older"));  // older than 0/100
    CHECK(c.pg.query_value("ship", fmt::format("SELECT count(*) FROM {}", table)) == "0");
  }
}

// A keyless event re-sent by the capture after a crash may travel on another partition than its
// first copy (no key picks the partition), so two connections (sink.workers, sink.group
// replicas) may merge both copies at once. Neither insert saw the other's uncommitted row and
// the row was inserted twice; the append lock makes the second merge wait and skip it.
TEST_CASE("two connections appending the same event at once insert it once",
          "[integration][pgsink]") {
  TwoConnections c;
  c.pg.exec("ship", "CREATE TABLE log (v text, _modsync_lsn pg_lsn, _modsync_seq int)");
  auto target = pgsink::describe_target(*c.a, {"public", "log"});
  REQUIRE(target);
  const pgsink::WriterOptions options{"p/public.log", {"v"}, ""};
  pgsink::ProjectionWriter first(*c.a, *target, options);
  pgsink::ProjectionWriter second(*c.b, *target, options);
  const auto lines = upsert_line(0x50, 3, nullptr, "once");
  first.begin();
  first.apply(lines.text());
  merge_beside(first, second, lines);
  CHECK(c.pg.query_value("ship", "SELECT count(*) FROM log") == "1");
}
