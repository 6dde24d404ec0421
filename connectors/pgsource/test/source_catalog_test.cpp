// The source catalog against a throwaway PostgreSQL 15 cluster.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "modsync/common/error.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsource/source_catalog.hpp"
#include "modsync/testing/pg_cluster.hpp"

using namespace modsync;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

pg::PgConnection connect(const testing::PgCluster& cluster, const std::string& user = "postgres") {
  return pg::PgConnection::connect(config::EffectiveDsn{cluster.dsn("src", user), ""},
                                   pg::PgConnection::Mode::kRegular, "source orders");
}

/// What ensure_publication throws, or "" when it returns.
std::string publication_error(pgsource::SourceCatalog& catalog, bool& retriable) {
  const auto tables = catalog.describe_tables({{"public", "orders"}});
  try {
    catalog.ensure_publication("modsync_pub", tables);
  } catch (const Error& e) {
    retriable = e.retriable();
    return e.what();
  }
  return "";
}

}  // namespace

// Regression (issue 10): any failure of CREATE/ALTER PUBLICATION, a lost connection included,
// became a fatal "run it as the tables' owner", so a server restart stopped the pipeline.
TEST_CASE("a connection lost while creating the publication stays a retriable lost connection",
          "[integration][pgsource]") {
  testing::PgCluster cluster;
  cluster.create_database("src");
  cluster.exec("src", "CREATE TABLE public.orders (id int PRIMARY KEY)");
  auto conn = connect(cluster);
  pgsource::SourceCatalog catalog(conn);
  // Another session holds the table, so CREATE PUBLICATION waits for its lock; then the
  // waiting backend is terminated, as a server restart or failover would.
  testing::PgConn holder = cluster.connect("src");
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE");
  const std::string holder_pid = holder.query_value("SELECT pg_backend_pid()");
  std::atomic<bool> terminated{false};
  std::thread killer([&] {
    testing::PgConn admin = cluster.connect("src");
    for (int i = 0; i < 500 && !terminated; ++i) {
      terminated = admin.query_value(
                       "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                       "query LIKE 'CREATE PUBLICATION%' AND wait_event_type = 'Lock'") == "1";
      if (!terminated) std::this_thread::sleep_for(20ms);
    }
    // Never left waiting: without the kill, release the lock (the test then fails below).
    admin.query_value("SELECT pg_terminate_backend(" + holder_pid + ")");
  });
  bool retriable = false;
  const std::string error = publication_error(catalog, retriable);
  killer.join();
  REQUIRE(terminated);
  CHECK(retriable);
  CHECK_THAT(error, Contains("source orders: connection lost"));
  CHECK_THAT(error, !Contains("owner"));
}

TEST_CASE("a lock timeout on the publication keeps its own message", "[integration][pgsource]") {
  testing::PgCluster cluster;
  cluster.create_database("src");
  cluster.exec("src", "CREATE TABLE public.orders (id int PRIMARY KEY)");
  auto conn = connect(cluster);
  conn.exec("SET lock_timeout = '200ms'");
  pgsource::SourceCatalog catalog(conn);
  testing::PgConn holder = cluster.connect("src");
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE");
  bool retriable = true;
  const std::string error = publication_error(catalog, retriable);
  CHECK_THAT(error, Contains("lock timeout"));
  CHECK_THAT(error, !Contains("owner"));
}

TEST_CASE("a role that may not publish the tables is told to use their owner",
          "[integration][pgsource]") {
  testing::PgCluster cluster;
  cluster.create_database("src");
  cluster.exec("src",
               "CREATE TABLE public.orders (id int PRIMARY KEY); CREATE ROLE capture LOGIN; "
               "GRANT CREATE ON DATABASE src TO capture");
  auto conn = connect(cluster, "capture");
  pgsource::SourceCatalog catalog(conn);
  bool retriable = true;
  const std::string error = publication_error(catalog, retriable);
  CHECK_FALSE(retriable);
  CHECK_THAT(error, Contains("must be owner of table orders") &&
                        Contains("Fix: run it as the tables' owner or a superuser"));
}
