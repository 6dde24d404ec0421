// Rows loaded into a projection before modsync took over (NULL positions) take updates.

#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace modsync;
using namespace std::chrono_literals;

TEST_CASE("a seeded row with no stored position is updated", "[integration][apply]") {
  itest::CaptureHarness h;
  h.sql(
      "CREATE TABLE items (id int PRIMARY KEY, qty int);"
      "INSERT INTO items VALUES (1, 1);"
      "CREATE TABLE copy (id int PRIMARY KEY, qty int, _modsync_lsn pg_lsn, _modsync_seq int);"
      "INSERT INTO copy (id, qty) VALUES (1, 1)");
  std::ofstream(h.config_path()) << fmt::format(
      "daemon: {{ id: seed, state_dir: \"{}\", http: {{ listen: \"\" }} }}\n"
      "kafka: {{ brokers: \"{}\" }}\n"
      "source: {{ module: shop, dsn: \"{}\", tables: [items], snapshot: never }}\n"
      "sink:\n"
      "  module: copy\n"
      "  dsn: \"{}\"\n"
      "  projections:\n"
      "    - {{ from: shop.public.items, to: public.copy }}\n",
      (h.dir() / "state").string(), h.broker().bootstrap(), h.pg().dsn("shop"), h.pg().dsn("shop"));
  auto daemon = h.start_daemon();
  h.sql("UPDATE items SET qty = 42 WHERE id = 1");
  CHECK(testing::eventually([&] { return h.value("SELECT qty FROM copy WHERE id = 1") == "42"; },
                            30s));
  itest::CaptureHarness::stop_daemon(daemon);
}
