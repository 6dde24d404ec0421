// create_table: true builds a missing target from the source schema published on
// {prefix}.schemas, then fills it.

#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace modsync;
using namespace std::chrono_literals;

TEST_CASE("create_table creates the projection's target from the published schema",
          "[integration][apply][create_table]") {
  itest::CaptureHarness h;
  h.sql(
      "CREATE TABLE orders (id bigint PRIMARY KEY, status text, total numeric(10,2), note text);"
      "INSERT INTO orders VALUES (1, 'paid', 10.50, 'a'), (2, 'new', 3.00, 'b')");
  std::ofstream(h.config_path()) << fmt::format(
      "daemon: {{ id: ct, state_dir: \"{}\", http: {{ listen: \"\" }} }}\n"
      "kafka: {{ brokers: \"{}\" }}\n"
      "source: {{ module: shop, dsn: \"{}\", tables: [orders] }}\n"
      "sink:\n"
      "  module: copy\n"
      "  dsn: \"{}\"\n"
      "  projections:\n"
      "    - from: shop.public.orders\n"
      "      to: public.paid_orders\n"
      "      columns: {{ id: order_id, total: amount }}\n"
      "      where: \"status = 'paid'\"\n"
      "      create_table: true\n",
      (h.dir() / "state").string(), h.broker().bootstrap(), h.pg().dsn("shop"), h.pg().dsn("shop"));
  auto daemon = h.start_daemon();
  REQUIRE(testing::eventually(
      [&] { return h.value("SELECT count(*) FROM pg_tables WHERE tablename = 'paid_orders'") == "1"; },
      30s));
  CHECK(h.value("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                "'paid_orders'::regclass AND attname = 'amount'") == "numeric(10,2)");
  CHECK(h.value("SELECT count(*) FROM pg_index WHERE indrelid = 'paid_orders'::regclass AND "
                "indisprimary") == "1");
  h.sql("UPDATE orders SET status = 'paid' WHERE id = 2; INSERT INTO orders VALUES (3, 'new', 1, 'c')");
  REQUIRE(testing::eventually(
      [&] {
        return h.value("SELECT coalesce(string_agg(order_id || ':' || amount, ',' ORDER BY order_id), '') FROM "
                       "paid_orders") == "1:10.50,2:3.00";
      },
      30s));
  itest::CaptureHarness::stop_daemon(daemon);
}
