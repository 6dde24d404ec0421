// modsync's own tables in a subscriber database, created by whichever projection starts first.

#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/testing/pg_cluster.hpp"

using namespace modsync;

// Regression (issue 7): on a first start every projection ran CREATE SCHEMA IF NOT EXISTS
// modsync at once, and all but one could fail with a unique violation on pg_namespace.
TEST_CASE("projections starting at once on a fresh subscriber all create modsync's tables",
          "[integration][pgsink]") {
  testing::PgCluster pg;
  constexpr int kProjections = 8;
  for (int round = 0; round < 5; ++round) {
    const std::string db = "fresh" + std::to_string(round);
    pg.create_database(db);
    std::vector<pg::PgConnection> conns;
    for (int i = 0; i < kProjections; ++i) {
      conns.push_back(pg::PgConnection::connect(config::EffectiveDsn{pg.dsn(db), ""},
                                                pg::PgConnection::Mode::kRegular,
                                                "sink projection " + std::to_string(i)));
    }
    std::vector<std::string> errors(kProjections);
    std::latch start(kProjections);
    std::vector<std::thread> threads;
    for (int i = 0; i < kProjections; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          pgsink::ProjectionWriter::ensure_offsets_table(conns[i]);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : errors) {
      INFO("round " << round);
      CHECK(e == "");
    }
    CHECK(pg.query_value(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'modsync'") == "2");
    // Run again on existing tables: nothing to create, nothing fails.
    pgsink::ProjectionWriter::ensure_offsets_table(conns[0]);
  }
}
