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

// The merge without its newest-per-key sort (lines of distinct keys: a statement per op) writes
// what the merge of a stage with repeated keys writes, version guard included: an older line
// does not regress a newer row, an insert line of a key that is there updates it, an update
// line of a key that is not inserts it, and the same batch applied again changes nothing.
TEST_CASE("a stage of distinct keys merges as the sorting merge does", "[integration][pgsink]") {
  testing::PgCluster pg;
  pg.create_database("ship");
  auto conn = pg::PgConnection::connect(config::EffectiveDsn{pg.dsn("ship"), ""},
                                        pg::PgConnection::Mode::kRegular, "sink");
  pgsink::ProjectionWriter::ensure_offsets_table(conn);
  std::vector<std::string> results;
  for (const bool distinct : {false, true}) {
    for (const bool soft : {false, true}) {
      const std::string table =
          fmt::format("t_{}{}", distinct ? "distinct" : "sorted", soft ? "_soft" : "");
      pg.exec("ship", "CREATE TABLE " + table +
                          " (id int PRIMARY KEY, v text, gone_at timestamptz, _modsync_lsn pg_lsn, "
                          "_modsync_seq int);"
                          "INSERT INTO " +
                          table +
                          " (id, v, _modsync_lsn, _modsync_seq) VALUES (1, 'old', '0/5', 0), (2, "
                          "'kept', '0/5', 0), (3, 'gone', '0/5', 0), (4, 'newer', '0/50', 0), (7, "
                          "'seven', '0/5', 0), (8, 'eight', '0/50', 0), (9, 'nine', '0/50', 0), "
                          "(10, 'ten', '0/5', 0), (11, 'eleven', NULL, NULL)");
      auto target = pgsink::describe_target(conn, {"public", table});
      REQUIRE(target);
      pgsink::ProjectionWriter writer(conn, *target,
                                      {"p/public." + table, {"id", "v"}, soft ? "gone_at" : ""});
      pgsink::StageLines lines;
      std::string text;
      const auto add = [&](uint32_t seq, pgsink::StageOp op, const char* id, const char* v,
                           uint64_t lsn = 0x10) {
        lines.clear();
        lines.begin_line(Position{Lsn{lsn}, seq});
        pgsink::append_copy_escaped(id, lines.next_value());
        if (op == pgsink::StageOp::kPartial) {
          lines.unchanged_value("v");
        } else if (v) {
          pgsink::append_copy_escaped(v, lines.next_value());
        } else {
          lines.null_value();
        }
        // kInsert, as MergeSegment writes it for new rows.
        lines.end_line(op == pgsink::StageOp::kInsert ? pgsink::StageOp::kUpsert : op);
        text += lines.text();
        if (op == pgsink::StageOp::kInsert) text[text.size() - lines.text().size()] = 'i';
      };
      add(0, pgsink::StageOp::kUpsert, "1", "new");      // updates
      add(1, pgsink::StageOp::kDelete, "3", nullptr);    // deletes
      add(2, pgsink::StageOp::kUpsert, "4", "stale");    // older than the row: ignored
      add(3, pgsink::StageOp::kUpsert, "5", "born");     // not there: inserted
      add(4, pgsink::StageOp::kInsert, "6", "fresh");    // inserts
      add(5, pgsink::StageOp::kInsert, "7", "reborn");   // there, older: updated
      add(6, pgsink::StageOp::kInsert, "8", "stale");    // there, newer: ignored
      add(7, pgsink::StageOp::kDelete, "9", nullptr);    // newer row: kept
      add(8, pgsink::StageOp::kPartial, "10", nullptr);  // keeps v, takes the position
      add(9, pgsink::StageOp::kUpsert, "11", "loaded");  // no position yet: updated
      if (!distinct) {  // the newest line of each key wins; a line consumed twice applies once
        add(0, pgsink::StageOp::kUpsert, "1", "between", 0x8);
        add(1, pgsink::StageOp::kInsert, "3", "revived", 0x8);
        add(2, pgsink::StageOp::kDelete, "5", nullptr, 0x8);
        add(4, pgsink::StageOp::kInsert, "6", "fresh");
        add(3, pgsink::StageOp::kUpsert, "5", "born");
      }
      for (int round = 0; round < 2; ++round) {  // the second: a redelivery changes nothing
        writer.begin();
        writer.apply(text, distinct);
        writer.commit();
        results.push_back(pg.query_value(
            "ship",
            "SELECT string_agg(id || '=' || v || (CASE WHEN gone_at IS NULL THEN '' ELSE "
            "'-' END) || '@' || _modsync_lsn || '.' || _modsync_seq, ',' ORDER BY id) "
            "FROM " +
                table));
      }
      // Updates only, every key there: the INSERT runs for the kInsert line alone.
      text.clear();
      add(20, pgsink::StageOp::kUpsert, "1", "newest");
      add(21, pgsink::StageOp::kUpsert, "2", "changed");
      add(22, pgsink::StageOp::kInsert, "12", "twelve");
      writer.begin();
      writer.apply(text, distinct);
      writer.commit();
      results.push_back(pg.query_value(
          "ship",
          "SELECT string_agg(id || '=' || v || '@' || _modsync_seq, ',' ORDER BY id) FROM " +
              table + " WHERE id IN (1, 2, 12)"));
    }
  }
  const std::string hard =
      "1=new@0/10.0,2=kept@0/5.0,4=newer@0/50.0,5=born@0/10.3,6=fresh@0/10.4,7=reborn@0/10.5,"
      "8=eight@0/50.0,9=nine@0/50.0,10=ten@0/10.8,11=loaded@0/10.9";
  const std::string soft =
      "1=new@0/10.0,2=kept@0/5.0,3=gone-@0/10.1,4=newer@0/50.0,5=born@0/10.3,6=fresh@0/10.4,"
      "7=reborn@0/10.5,8=eight@0/50.0,9=nine@0/50.0,10=ten@0/10.8,11=loaded@0/10.9";
  const std::string later = "1=newest@20,2=changed@21,12=twelve@22";
  REQUIRE(results.size() == 12);
  for (size_t i = 0; i < results.size(); i += 6) {
    CHECK(results[i] == hard);
    CHECK(results[i + 1] == hard);
    CHECK(results[i + 2] == later);
    CHECK(results[i + 3] == soft);
    CHECK(results[i + 4] == soft);
    CHECK(results[i + 5] == later);
  }
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

namespace {

struct Sink {
  testing::PgCluster pg;
  pg::PgConnection conn;

  Sink()
      : conn((pg.create_database("ship"),
              pg::PgConnection::connect(config::EffectiveDsn{pg.dsn("ship"), ""},
                                        pg::PgConnection::Mode::kRegular, "sink"))) {
    pgsink::ProjectionWriter::ensure_offsets_table(conn);
  }

  pgsink::ProjectionWriter writer(const std::string& table, std::vector<std::string> fed) {
    auto target = pgsink::describe_target(conn, {"public", table});
    REQUIRE(target);
    return pgsink::ProjectionWriter(conn, *target, {"p/public." + table, std::move(fed), ""});
  }

  std::string rows(const std::string& table) {
    return pg.query_value("ship", "SELECT string_agg(id || '=' || v || '@' || _modsync_lsn || '#' "
                                  "|| _modsync_seq, ',' ORDER BY id, _modsync_seq) FROM " + table);
  }
};

/// Stage lines (kUpsert) of (id, v) at 0/`lsn`#seq, and the same as insert_new lines.
struct Lines {
  pgsink::StageLines stage;
  std::string target;
  Position oldest{Lsn{~0ull}, 0};

  void add(uint64_t lsn, uint32_t seq, const char* id, const char* v) {
    const Position at{Lsn{lsn}, seq};
    oldest = std::min(oldest, at);
    stage.begin_line(at);
    pgsink::append_copy_escaped(id, stage.next_value());
    pgsink::append_copy_escaped(v, stage.next_value());
    const auto line = stage.end_line(pgsink::StageOp::kUpsert);
    pgsink::StageLines::append_target_line(stage.slice(line), true, target);
  }
};

}  // namespace

// The bulk path: new keys are COPYed in with their positions; a key already there (a change
// streamed before its snapshot row, a re-sent row) hands the whole segment back, nothing of it
// applied, and the merge then applies it under the version guard.
TEST_CASE("insert_new copies new keys and hands a segment with a known key back to the merge",
          "[integration][pgsink]") {
  Sink s;
  s.pg.exec("ship", "CREATE TABLE t (id int PRIMARY KEY, v text, _modsync_lsn pg_lsn, "
                    "_modsync_seq int)");
  auto writer = s.writer("t", {"id", "v"});
  REQUIRE(writer.takes_new_rows());
  Lines first;
  first.add(0x10, 0, "1", "a");
  first.add(0x10, 1, "2", "b");
  writer.begin();
  CHECK(writer.insert_new(first.target, first.oldest));
  writer.commit();
  CHECK(s.rows("t") == "1=a@0/10#0,2=b@0/10#1");

  // Key 2 holds a newer change (0/50) than the snapshot row that arrives now.
  s.pg.exec("ship", "UPDATE t SET v = 'newer', _modsync_lsn = '0/50' WHERE id = 2");
  Lines second;
  second.add(0x10, 2, "3", "c");
  second.add(0x10, 1, "2", "stale");
  writer.begin();
  CHECK_FALSE(writer.insert_new(second.target, second.oldest));
  CHECK(s.conn.query_value("SELECT count(*) FROM t") == "2");  // nothing of it applied
  writer.apply(second.stage.text(), true);
  writer.commit();
  CHECK(s.rows("t") == "1=a@0/10#0,2=newer@0/50#1,3=c@0/10#2");
  REQUIRE(writer.takes_new_rows());  // a unique violation does not turn the path off

  // Lines at or before a recorded truncate go to the merge, which drops them.
  writer.begin();
  writer.truncate(Position{Lsn{0x60}, 0});
  Lines old;
  old.add(0x60, 0, "4", "before the truncate");
  CHECK_FALSE(writer.insert_new(old.target, old.oldest));
  writer.apply(old.stage.text(), true);
  Lines after;
  after.add(0x70, 0, "5", "e");
  CHECK(writer.insert_new(after.target, after.oldest));
  writer.commit();
  CHECK(s.rows("t") == "5=e@0/70#0");
}

namespace {

/// A key type whose equal values can differ as text: a row's key as stored, then as two newer
/// lines write it, and a missing row's key as two lines write it.
struct EqualKeys {
  const char* name;
  const char* type;
  const char* there[3];
  const char* missing[2];
};

/// Applies, for each case, the four lines of EqualKeys in one merge, the daemon vouching for
/// distinct keys (their texts differ), and CHECKs that each row took its newest line. The key
/// as format() prints it (its type's output function: a bpchar keeps its blanks), in UTC.
void check_equal_keys_merge(Sink& s, std::initializer_list<EqualKeys> cases) {
  s.pg.exec("postgres", "ALTER DATABASE ship SET TimeZone = 'UTC'");
  s.pg.exec("ship",
            "CREATE EXTENSION citext; CREATE DOMAIN dnum AS numeric; CREATE DOMAIN dcitext AS "
            "citext; CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', "
            "deterministic = false)");
  for (const EqualKeys& c : cases) {
    INFO(c.type);
    const std::string table = std::string("t_") + c.name;
    s.pg.exec("ship", fmt::format("CREATE TABLE {} (id {} PRIMARY KEY, v text, _modsync_lsn "
                                  "pg_lsn, _modsync_seq int); INSERT INTO {} VALUES ('{}', "
                                  "'old', '0/5', 0)",
                                  table, c.type, table, c.there[0]));
    auto writer = s.writer(table, {"id", "v"});
    Lines lines;
    lines.add(0x10, 1, c.there[2], "newest");
    lines.add(0x10, 0, c.there[1], "older");
    lines.add(0x20, 0, c.missing[0], "older");
    lines.add(0x20, 1, c.missing[1], "newest");
    try {
      writer.begin();
      writer.apply(lines.stage.text(), true);
      writer.commit();
    } catch (const std::exception& e) {
      writer.rollback();
      FAIL_CHECK(e.what());
      continue;
    }
    CHECK(s.pg.query_value("ship", fmt::format("SELECT string_agg(format('[%s]=%s@%s#%s', id, v, "
                                               "_modsync_lsn, _modsync_seq), ',' ORDER BY "
                                               "_modsync_lsn) FROM {}",
                                               table)) ==
          fmt::format("[{}]=newest@0/10#1,[{}]=newest@0/20#1", c.there[2], c.missing[1]));
  }
}

}  // namespace

// Keys equal in the target but not as text (a numeric's scale, a citext's case) are one row.
// The daemon, comparing texts, vouches for distinct keys; the merge folds such lines anyway,
// newest first: without that, the UPDATE took one of a row's lines at random and the INSERT of
// two failed ("ON CONFLICT DO UPDATE command cannot affect row a second time").
TEST_CASE("lines whose keys are equal in the target but differ as text merge as one row",
          "[integration][pgsink]") {
  Sink s;
  check_equal_keys_merge(s, {{"numeric", "numeric", {"5.0", "5.00", "5"}, {"6.0", "6"}},
                             {"citext", "citext", {"Key", "KEY", "key"}, {"New", "NEW"}}});
}

// The same for key types the stage's own column type compares as the target does: an interval
// ('1 day' = '24:00:00'), and a timestamptz, whose events carry the source session's zone: after
// that zone changed, lines of one row carry the same instant at other offsets. Before, the
// timestamptz's text counted as its value, no dedupe ran, and the INSERT failed as above.
TEST_CASE("lines of interval and timestamptz keys equal in the target merge as one row",
          "[integration][pgsink]") {
  Sink s;
  check_equal_keys_merge(
      s, {{"interval", "interval", {"1 day", "24:00:00", "1 day"}, {"2 days", "48:00:00"}},
          {"timestamptz",
           "timestamptz",
           {"2026-03-08 01:30:00-03:30", "2026-03-08 18:45:00+13:45", "2026-03-08 05:00:00+00"},
           {"2026-03-09 13:45:00+13:45", "2026-03-09 00:00:00+00"}}});
}

// The stage holds these keys as text (a bpchar without a length, domains) or under the default
// collation (text COLLATE ci): its self-join compared texts and did not fold them, and the
// merge failed as above. It now compares them as the target's type, under its collation.
TEST_CASE("lines of keys equal by the target's domain, collation or blank padding merge as one row",
          "[integration][pgsink]") {
  Sink s;
  check_equal_keys_merge(s, {{"bpchar", "bpchar", {"b", "b  ", "b "}, {"m", "m  "}},
                             {"ci", "text COLLATE ci", {"Key", "KEY", "key"}, {"New", "NEW"}},
                             {"dnum", "dnum", {"5.0", "5.00", "5"}, {"6.0", "6"}},
                             {"dcitext", "dcitext", {"Key", "KEY", "key"}, {"New", "NEW"}}});
}

// A value COPY rejects where the merge's cast takes it (a varchar(n) cast truncates, COPY
// raises 22001): the merge applies it as it always did.
TEST_CASE("insert_new leaves a value COPY rejects to the merge", "[integration][pgsink]") {
  Sink s;
  s.pg.exec("ship", "CREATE TABLE t (id int PRIMARY KEY, v varchar(3), _modsync_lsn pg_lsn, "
                    "_modsync_seq int)");
  auto writer = s.writer("t", {"id", "v"});
  Lines lines;
  lines.add(0x10, 0, "1", "abcdef");
  writer.begin();
  CHECK_FALSE(writer.insert_new(lines.target, lines.oldest));
  writer.apply(lines.stage.text(), true);
  writer.commit();
  CHECK(s.rows("t") == "1=abc@0/10#0");
}

TEST_CASE("which targets take the bulk path", "[integration][pgsink]") {
  Sink s;
  s.pg.exec("ship",
            "CREATE TABLE keyed_bytes (id int PRIMARY KEY, v bytea, _modsync_lsn pg_lsn, "
            "_modsync_seq int);"
            "CREATE TABLE log_plain (id int, v text);"
            "CREATE TABLE log_indexed (id int, v text, _modsync_lsn pg_lsn, _modsync_seq int);"
            "CREATE INDEX ON log_indexed (_modsync_lsn, _modsync_seq);"
            "CREATE TABLE log_unique (id int, v text, _modsync_lsn pg_lsn, _modsync_seq int);"
            "CREATE UNIQUE INDEX ON log_unique (_modsync_seq, _modsync_lsn)");
  CHECK(s.writer("keyed_bytes", {"id", "v"}).takes_new_rows());
  CHECK(s.writer("log_plain", {"id", "v"}).takes_new_rows());
  // A keyless log recognises a re-sent event by its position: without a unique index on it,
  // only the merge's NOT EXISTS does.
  CHECK_FALSE(s.writer("log_indexed", {"id", "v"}).takes_new_rows());
  auto log = s.writer("log_unique", {"id", "v"});
  REQUIRE(log.takes_new_rows());

  Lines first;
  first.add(0x10, 0, "1", "a");
  log.begin();
  CHECK(log.insert_new(first.target, first.oldest));
  log.commit();
  Lines resent;  // the capture re-sent 0/10#0 after a crash, and 0/10#1 is new
  resent.add(0x10, 0, "1", "a");
  resent.add(0x10, 1, "1", "b");
  log.begin();
  CHECK_FALSE(log.insert_new(resent.target, resent.oldest));
  log.apply(resent.stage.text(), false);
  log.commit();
  CHECK(s.rows("log_unique") == "1=a@0/10#0,1=b@0/10#1");
}

// The bulk path beside a truncate on another connection (sink.workers, sink.group replicas):
// insert_new checked for a truncate mark before it took the target's lock, so it missed the
// uncommitted mark, its COPY then waited for the truncate's commit and inserted a row older
// than the truncate. It now locks first; the check sees the mark and hands the line to the
// merge, which drops it.
TEST_CASE("insert_new beside a truncate on another connection does not keep older rows",
          "[integration][pgsink]") {
  TwoConnections c;
  c.pg.exec("ship", "CREATE TABLE t (id int PRIMARY KEY, v text, _modsync_lsn pg_lsn, "
                    "_modsync_seq int)");
  auto target = pgsink::describe_target(*c.a, {"public", "t"});
  REQUIRE(target);
  const pgsink::WriterOptions options{"p/public.t", {"id", "v"}, ""};
  pgsink::ProjectionWriter truncating(*c.a, *target, options);
  pgsink::ProjectionWriter inserting(*c.b, *target, options);
  REQUIRE(inserting.takes_new_rows());
  Lines older;
  older.add(0x50, 0, "1", "older than the truncate");
  truncating.begin();
  truncating.lock_for_truncate();
  truncating.truncate(Position{Lsn{0x100}, 0});
  std::atomic<bool> done{false};
  bool bulk = true;
  std::thread thread([&] {
    inserting.begin();
    bulk = inserting.insert_new(older.target, older.oldest);
    if (!bulk) inserting.apply(older.stage.text(), true);
    inserting.commit();
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(done.load());  // waits for the truncate's commit
  truncating.commit();
  thread.join();
  CHECK_FALSE(bulk);
  CHECK(c.pg.query_value("ship", "SELECT count(*) FROM t") == "0");
}

// A daemon frozen inside a batch's transaction (SIGSTOP) held its locks for ever: another
// replica's partition claim waited on them. The writer's session now ends an idle transaction,
// and only an idle one: a statement that runs longer than the timeout is not cut.
TEST_CASE("a writer's transaction left idle ends, a long statement in it does not",
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

// The stage holds most values as their target column's type (its input function runs once, in
// the stage COPY), and the merge's cast applies the type modifier as it did on text: a
// varchar(n) truncates, a numeric(p,s) rounds. Types whose name without a modifier means
// another type (character is character(1), bit is bit(1)) and domains (a NOT NULL one would
// reject a delete line's \N) stay text.
TEST_CASE("stage columns of the target's types read values as the merge's casts do",
          "[integration][pgsink]") {
  testing::PgCluster pg;
  pg.create_database("ship");
  auto conn = pg::PgConnection::connect(config::EffectiveDsn{pg.dsn("ship"), ""},
                                        pg::PgConnection::Mode::kRegular, "sink");
  pgsink::ProjectionWriter::ensure_offsets_table(conn);
  pg.exec("ship",
          "CREATE DOMAIN label AS text NOT NULL CHECK (VALUE <> ''); CREATE TABLE t (id int PRIMARY "
          "KEY, d label, c char(3), b bit(3), v varchar(3), n numeric(5,1), j jsonb, "
          "_modsync_lsn pg_lsn, _modsync_seq int)");
  auto target = pgsink::describe_target(conn, {"public", "t"});
  REQUIRE(target);
  pgsink::ProjectionWriter writer(conn, *target,
                                  {"p/public.t", {"id", "d", "c", "b", "v", "n", "j"}, ""});
  pgsink::StageLines lines;
  const auto add = [&](uint32_t seq, pgsink::StageOp op, std::vector<const char*> values) {
    lines.begin_line(Position{Lsn{0x10}, seq});
    for (const char* v : values) {
      if (v) {
        pgsink::append_copy_escaped(v, lines.next_value());
      } else {
        lines.null_value();
      }
    }
    lines.end_line(op);
  };
  add(0, pgsink::StageOp::kUpsert, {"1", "one", "ab", "101", "abcdef", "1.26", R"({"a": [1, 2]})"});
  add(1, pgsink::StageOp::kUpsert, {"2", "two", "x", "011", "xy", "-3", "null"});
  writer.begin();
  writer.apply(lines.text(), true);
  writer.commit();
  CHECK(pg.query_value("ship",
                       "SELECT string_agg(concat_ws('|', id, d, c, octet_length(c), b, v, n, j), ',' "
                       "ORDER BY id) FROM t") ==
        "1|one|ab |3|101|abc|1.3|{\"a\": [1, 2]},2|two|x  |3|011|xy|-3.0|null");
  lines.clear();
  add(2, pgsink::StageOp::kDelete, {"1", nullptr, nullptr, nullptr, nullptr, nullptr, nullptr});
  writer.begin();
  writer.apply(lines.text(), true);
  writer.commit();
  CHECK(pg.query_value("ship", "SELECT string_agg(id::text, ',') FROM t") == "2");
}
