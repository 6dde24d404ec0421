// Start-up errors of a projection: the daemon names the file and line of the projection, what
// is wrong and how to fix it, before it consumes anything.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "apply_harness.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::itest::ApplyHarness;

namespace {

/// "<file>:<line>" of the projection item (its `from:` line) in a written config.
std::string projection_location(const std::filesystem::path& config) {
  std::ifstream in(config);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.find("- from:") != std::string::npos) return fmt::format("{}:{}", config.string(), n);
  }
  return "<no projection in " + config.string() + ">";
}

/// Runs the sink-only daemon until `phrase` shows on its output; returns its stderr.
std::string error_output(ApplyHarness& h, const std::filesystem::path& config,
                         const std::string& phrase) {
  auto daemon = h.start(config);
  const bool seen = daemon.wait_for_output(phrase, 20s);
  INFO(daemon.describe());
  CHECK(seen);
  daemon.kill();
  return daemon.stderr_text();
}

}  // namespace

TEST_CASE("start-up errors name the file, line and fix", "[integration][apply][startup]") {
  ApplyHarness h;
  h.sub(
      "CREATE TABLE items (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
      "_modsync_seq integer);"
      "CREATE TABLE bare (id int PRIMARY KEY, qty int)");

  SECTION("target table missing") {
    const auto config = h.write_config("app", "", "- from: shop.public.items\n  to: nope");
    const auto err = error_output(h, config, "does not exist");
    CHECK_THAT(err, Contains(projection_location(config) + ": projection to public.nope"));
    CHECK_THAT(err, Contains("target table public.nope does not exist in the subscriber database"));
    CHECK_THAT(err, Contains("Fix: create it"));
  }
  SECTION("mapped column missing") {
    const auto config = h.write_config(
        "app", "", "- from: shop.public.items\n  to: items\n  columns: { id: id, qty: quantity }");
    const auto err = error_output(h, config, "does not exist");
    CHECK_THAT(err, Contains(projection_location(config)));
    CHECK_THAT(err, Contains("column quantity (mapped from qty) does not exist in public.items; "
                             "it has: id, qty"));
    CHECK_THAT(err, Contains("Fix: correct the mapping"));
  }
  SECTION("target lacks _modsync_lsn and _modsync_seq") {
    const auto config = h.write_config("app", "", "- from: shop.public.items\n  to: bare");
    const auto err = error_output(h, config, "_modsync_lsn");
    CHECK_THAT(err, Contains(projection_location(config)));
    CHECK_THAT(err, Contains("lacks column _modsync_lsn"));
    CHECK_THAT(err, Contains("Fix: ALTER TABLE public.bare ADD COLUMN _modsync_lsn pg_lsn, ADD "
                             "COLUMN _modsync_seq integer"));
  }
  SECTION("malformed where") {
    const auto config = h.write_config(
        "app", "", "- from: shop.public.items\n  to: items\n  where: \"qty > 1 AND\"");
    const auto err = error_output(h, config, "where");
    CHECK_THAT(err, Contains(projection_location(config)));
    CHECK_THAT(err, Contains("where: column 12: expected"));
    CHECK_THAT(err, Contains("qty > 1 AND"));
    CHECK_THAT(err, Contains("Fix: correct the `where` expression"));
  }
  // Nothing was consumed or recorded for a projection that could not start.
  CHECK(h.sub_value("SELECT count(*) FROM modsync.offsets") == "0");
}

// Regression (issue 7): on a first start the projections raced on CREATE SCHEMA modsync (one
// failed with a unique violation), and producer settings in kafka.properties reached every
// consumer (librdkafka logged CONFWARN for each, at each start).
TEST_CASE("a first start of several projections with producer and consumer properties",
          "[integration][apply][startup]") {
  ApplyHarness h;
  h.src("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)");
  h.src("INSERT INTO items SELECT g, g FROM generate_series(1, 20) g");
  std::string projections;
  for (int i = 1; i <= 4; ++i) {
    h.sub(
        fmt::format("CREATE TABLE t{} (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, "
                    "_modsync_seq integer)",
                    i));
    projections += fmt::format("- from: shop.public.items\n  to: t{}\n", i);
  }
  const auto config = h.write_config("itest", "tables: [items]", projections);
  {
    std::ifstream in(config);
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    const std::string brokers_line = "  brokers: \"" + h.broker().bootstrap() + "\"\n";
    REQUIRE(yaml.find(brokers_line) != std::string::npos);
    yaml.replace(yaml.find(brokers_line), brokers_line.size(),
                 brokers_line +
                     "  properties: { linger.ms: 5, compression.type: lz4, batch.num.messages: "
                     "5000, fetch.wait.max.ms: 20, heartbeat.interval.ms: 1000, "
                     "socket.keepalive.enable: true }\n");
    std::ofstream(config) << yaml;
  }
  auto daemon = h.start(config, {"streaming from slot"});
  h.src("UPDATE items SET qty = qty + 100 WHERE id <= 5");
  for (int i = 1; i <= 4; ++i) {
    const bool same = h.converges("SELECT id, qty FROM items ORDER BY id",
                                  fmt::format("SELECT id, qty FROM t{} ORDER BY id", i));
    INFO(h.last_difference() << daemon.describe());
    CHECK(same);
  }
  ApplyHarness::stop(daemon);
  const std::string output = daemon.stdout_text() + daemon.stderr_text();
  INFO(daemon.describe());
  CHECK_THAT(output, !Contains("CONFWARN"));
  CHECK_THAT(output, !Contains("duplicate key"));
  CHECK_THAT(output, !Contains("level=error"));
}
