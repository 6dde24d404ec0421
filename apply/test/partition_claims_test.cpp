// Partition claims (modsync.partition_claims) against a real PostgreSQL: the fence that keeps a
// process that lost a partition from committing a batch of it after another process claimed it.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "modsync/common/error.hpp"
#include "modsync/pg/pg_connection.hpp"
#include "modsync/pgsink/projection_writer.hpp"
#include "modsync/testing/pg_cluster.hpp"
#include "partition_claims.hpp"

using namespace modsync;
using namespace std::chrono_literals;
using apply::PartitionClaims;

namespace {

pg::PgConnection connect(const testing::PgCluster& pg, const std::string& who) {
  return pg::PgConnection::connect(config::EffectiveDsn{pg.dsn("ship"), ""},
                                   pg::PgConnection::Mode::kRegular, who);
}

/// What a batch transaction of `claims` does on `conn`: check, then write the next offset.
void write_offset(pg::PgConnection& conn, int32_t partition, int64_t next) {
  conn.exec(fmt::format(
      "INSERT INTO modsync.offsets (projection, topic, partition, next_offset) VALUES "
      "('d/public.t', 'shop.public.t', {}, {}) ON CONFLICT (projection, topic, partition) DO "
      "UPDATE SET next_offset = EXCLUDED.next_offset",
      partition, next));
}

}  // namespace

TEST_CASE("a claim waits for the previous owner's committing batch and reads its offsets",
          "[integration][apply][claims]") {
  testing::PgCluster pg;
  pg.create_database("ship");
  auto ca = connect(pg, "process a");
  auto cb = connect(pg, "process b");
  pgsink::ProjectionWriter::ensure_offsets_table(ca);
  PartitionClaims::ensure_table(ca);
  PartitionClaims a(ca, "d/public.t", "shop.public.t", "process a");
  PartitionClaims b(cb, "d/public.t", "shop.public.t", "process b");

  // A new partition: nothing stored.
  CHECK(a.claim({0, 1}) == std::vector<std::optional<int64_t>>{std::nullopt, std::nullopt});
  CHECK(a.owns(0));
  CHECK(a.owns(1));

  SECTION("the old owner's batch passed its check: the claim waits, then reads its offsets") {
    ca.exec("BEGIN");
    a.check({1});
    write_offset(ca, 1, 42);
    auto claimed = std::async(std::launch::async, [&] { return b.claim({1}); });
    CHECK(claimed.wait_for(500ms) == std::future_status::timeout);  // held by a's batch
    ca.exec("COMMIT");
    CHECK(claimed.get() == std::vector<std::optional<int64_t>>{42});
    // a's next batch of partition 1 is refused; partition 0 is still a's.
    ca.exec("BEGIN");
    CHECK_THROWS_WITH(a.check({0, 1}), Catch::Contains("partition 1 was claimed by") &&
                                           Catch::Contains("rolled back"));
    ca.exec("ROLLBACK");
    ca.exec("BEGIN");
    a.check({0});
    ca.exec("COMMIT");
  }

  SECTION("a claim held up by a batch idle in its transaction says so while it waits") {
    std::vector<std::string> said;
    std::mutex m;
    b.on_wait(
        [&](const std::string& why) {
          std::lock_guard<std::mutex> lock(m);
          said.push_back(why);
        },
        300ms);
    ca.exec("BEGIN");
    a.check({1});  // then a is frozen: its session sits idle in the transaction
    write_offset(ca, 1, 43);
    auto claimed = std::async(std::launch::async, [&] { return b.claim({1}); });
    CHECK(claimed.wait_for(1200ms) == std::future_status::timeout);
    {
      std::lock_guard<std::mutex> lock(m);
      REQUIRE(said.size() >= 2);
      INFO(said[0]);
      CHECK_THAT(said[0], Catch::Contains("claiming partition(s) 1 has waited 0 s") &&
                              Catch::Contains("idle in transaction") &&
                              Catch::Contains(fmt::format("pid {}", PQbackendPID(ca.get()))) &&
                              Catch::Contains("pg_terminate_backend"));
    }
    ca.exec("COMMIT");
    CHECK(claimed.get() == std::vector<std::optional<int64_t>>{43});
  }

  SECTION("the claim came first: the old owner's batch is refused and rolled back") {
    write_offset(ca, 1, 7);
    CHECK(b.claim({1}) == std::vector<std::optional<int64_t>>{7});
    ca.exec("BEGIN");
    write_offset(ca, 1, 99);  // a applied a batch of partition 1 it no longer owns
    try {
      a.check({1});
      FAIL("the check let a lost partition's batch commit");
    } catch (const Error& e) {
      CHECK(e.retriable());
    }
    ca.exec("ROLLBACK");
    CHECK(pg.query_value("ship", "SELECT next_offset FROM modsync.offsets WHERE partition = 1") ==
          "7");
    CHECK_FALSE(a.owns(1));
  }

  SECTION("a released partition is refused without asking the database") {
    a.release({0});
    CHECK_FALSE(a.owns(0));
    ca.exec("BEGIN");
    CHECK_THROWS_WITH(a.check({0}), Catch::Contains("does not own"));
    ca.exec("ROLLBACK");
  }

  SECTION("each claim gets a new epoch and names its owner") {
    b.claim({0});
    a.claim({0});
    CHECK(
        pg.query_value("ship", "SELECT epoch || ' ' || (owner = '" + PartitionClaims::this_owner() +
                                   "')::text FROM modsync.partition_claims WHERE partition = 0") ==
        "3 true");
  }
}
