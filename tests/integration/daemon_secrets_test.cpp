// Passwords never reach the logs: not in connection errors, not in validate's summary.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "capture_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/modsync_binary.hpp"
#include "modsync/testing/pg_cluster.hpp"

using namespace modsync;
using namespace std::chrono_literals;

TEST_CASE("a DSN's password is never logged", "[integration][secrets]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  const std::string secret = "s3cr3t-Pa55";
  // Nothing listens on that port: the daemon logs a connection error naming the DSN.
  const int closed_port = testing::free_port();
  h.write_config("tables: [a]", "",
                 fmt::format("host=127.0.0.1 port={} dbname=shop user=postgres password={}",
                             closed_port, secret));
  auto daemon = h.start_daemon(/*wait_streaming=*/false);
  REQUIRE(daemon.wait_for_output("cannot connect to PostgreSQL", 20s));
  itest::CaptureHarness::stop_daemon(daemon);
  const std::string logs = daemon.stdout_text() + daemon.stderr_text();
  CHECK_THAT(logs, Catch::Contains("password=***"));
  CHECK_THAT(logs, !Catch::Contains(secret));

  const auto validate = testing::run_command(
      {testing::modsync_binary(), "validate", h.config_path().string()}, {}, 20s);
  CHECK(validate.status == 0);
  CHECK_THAT(validate.out + validate.err, !Catch::Contains(secret));
}
