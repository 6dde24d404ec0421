#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "modsync/testing/eventually.hpp"
#include "modsync/testing/pg_cluster.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using modsync::testing::eventually;
using modsync::testing::PgCluster;
using modsync::testing::PgConn;
using modsync::testing::PgError;

namespace {

/// Exited, or a zombie waiting for a parent (it is not our child) to reap it.
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return true;
  return state == "Z" || state == "X";
}

}  // namespace

TEST_CASE("PgCluster runs a logical-replication-ready PostgreSQL 15", "[integration][pg]") {
  std::filesystem::path data_dir;
  pid_t postmaster = 0;
  {
    PgCluster pg;
    data_dir = pg.data_dir();
    REQUIRE(pg.running());
    CHECK(pg.host() == "127.0.0.1");
    CHECK(pg.port() > 0);
    CHECK(pg.dsn("app") ==
          "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=app user=postgres");
    CHECK(pg.query_value("postgres", "SHOW server_version_num").starts_with("15"));
    CHECK(pg.query_value("postgres", "SHOW wal_level") == "logical");
    CHECK(pg.query_value("postgres", "SHOW fsync") == "off");
    CHECK(pg.query_value("postgres", "SHOW max_replication_slots") == "20");

    pg.create_database("app");
    pg.exec("app",
            "CREATE TABLE t (id int PRIMARY KEY, v text);"
            "INSERT INTO t VALUES (1, 'a'), (2, NULL);"
            "CREATE PUBLICATION pub FOR TABLE t;");
    const auto rows = pg.query("app", "SELECT id, v FROM t ORDER BY id");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][0] == "1");
    CHECK(rows[0][1] == "a");
    CHECK_FALSE(rows[1][1]);

    const auto slot_lsn = pg.query_value(
        "app", "SELECT lsn FROM pg_create_logical_replication_slot('modsync_test', 'pgoutput')");
    CHECK_THAT(slot_lsn, Contains("/"));

    // The server's message reaches the test.
    CHECK_THROWS_WITH(pg.exec("app", "INSERT INTO t VALUES (1, 'dup')"),
                      Contains("duplicate key value violates unique constraint"));
    CHECK_THROWS_AS(pg.query_value("app", "SELECT v FROM t WHERE id = 2"), PgError);

    const int port = pg.port();
    pg.restart();
    CHECK(pg.port() == port);
    CHECK(pg.query_value("app",
                         "SELECT plugin FROM pg_replication_slots WHERE slot_name = "
                         "'modsync_test'") == "pgoutput");
    CHECK(pg.query_value("app", "SELECT count(*) FROM t") == "2");

    // A connection the test holds itself.
    PgConn conn = pg.connect("app");
    conn.exec("BEGIN; INSERT INTO t VALUES (3, 'c'); COMMIT;");
    CHECK(conn.query_value("SELECT count(*) FROM t") == "3");

    pg.stop();
    CHECK_FALSE(pg.running());
    CHECK_THROWS_AS(pg.connect("app"), PgError);
    pg.start();
    CHECK(pg.query_value("app", "SELECT count(*) FROM t") == "3");
    postmaster = [&] {
      std::ifstream pidfile(pg.data_dir() / "postmaster.pid");
      pid_t pid = 0;
      pidfile >> pid;
      return pid;
    }();
    CHECK(postmaster > 0);
    CHECK_THAT(pg.log_text(), Contains("database system is ready to accept connections"));
  }
  // The destructor stopped the server and removed its directory. pg_ctl returns once
  // postmaster.pid is gone, a moment before the process itself.
  CHECK(eventually([&] { return process_gone(postmaster); }, 10s));
  CHECK_FALSE(std::filesystem::exists(data_dir));
}

TEST_CASE("PgCluster applies caller settings after the defaults", "[integration][pg]") {
  PgCluster::Options options;
  options.settings = {{"wal_level", "replica"}, {"application_name", "it's quoted"}};
  PgCluster pg(options);
  CHECK(pg.query_value("postgres", "SHOW wal_level") == "replica");
  CHECK(pg.query_value("postgres", "SHOW application_name") == "it's quoted");
  CHECK_THROWS_WITH(
      pg.exec("postgres", "SELECT pg_create_logical_replication_slot('s', 'pgoutput')"),
      Contains("logical decoding requires wal_level >= logical"));
}

TEST_CASE("two clusters run side by side", "[integration][pg]") {
  PgCluster a;
  PgCluster b;
  CHECK(a.port() != b.port());
  a.create_database("only_in_a");
  CHECK(b.query_value("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'only_in_a'") ==
        "0");
}
