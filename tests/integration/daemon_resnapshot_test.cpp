// `modsync resnapshot` rebuilds a damaged projection from a new snapshot of its source table.

#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "capture_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/modsync_binary.hpp"

using namespace modsync;
using namespace std::chrono_literals;

TEST_CASE("resnapshot rebuilds a damaged projection", "[integration][apply][resnapshot]") {
  itest::CaptureHarness h;
  h.sql(
      "CREATE TABLE orders (id bigint PRIMARY KEY, status text, total numeric(10,2));"
      "INSERT INTO orders SELECT g, 'paid', g FROM generate_series(1, 50) g;"
      "CREATE TABLE paid (order_id bigint PRIMARY KEY, amount numeric(10,2),"
      "  _modsync_lsn pg_lsn NOT NULL, _modsync_seq integer NOT NULL)");
  std::ofstream(h.config_path()) << fmt::format(
      "daemon: {{ id: rs, state_dir: \"{}\", http: {{ listen: \"\" }} }}\n"
      "kafka: {{ brokers: \"{}\" }}\n"
      "source: {{ module: shop, dsn: \"{}\", tables: [orders], snapshot_chunk_rows: 7 }}\n"
      "sink:\n"
      "  module: copy\n"
      "  dsn: \"{}\"\n"
      "  projections:\n"
      "    - from: shop.public.orders\n"
      "      to: public.paid\n"
      "      columns: {{ id: order_id, total: amount }}\n"
      "      where: \"status = 'paid'\"\n",
      (h.dir() / "state").string(), h.broker().bootstrap(), h.pg().dsn("shop"), h.pg().dsn("shop"));
  const std::string expected_sql =
      "SELECT string_agg(id || ':' || total, ',' ORDER BY id) FROM orders WHERE status = 'paid'";
  const std::string projected_sql =
      "SELECT coalesce(string_agg(order_id || ':' || amount, ',' ORDER BY order_id), '') FROM paid";
  {
    auto daemon = h.start_daemon();
    h.sql("UPDATE orders SET status = 'cancelled' WHERE id % 10 = 0");
    REQUIRE(testing::eventually([&] { return h.value(projected_sql) == h.value(expected_sql); }, 30s));
    itest::CaptureHarness::stop_daemon(daemon);
  }
  // Damage the projection behind modsync's back: a row changed, one removed, one invented.
  h.sql("UPDATE paid SET amount = 0 WHERE order_id = 3; DELETE FROM paid WHERE order_id = 4;"
        "INSERT INTO paid VALUES (999, 1, '0/0', 0)");
  REQUIRE(h.value(projected_sql) != h.value(expected_sql));

  const auto rebuilt = testing::run_command(
      {testing::modsync_binary(), "resnapshot", "--config", h.config_path().string(), "rs",
       "orders"},
      {}, 60s);
  INFO(rebuilt.out << rebuilt.err);
  REQUIRE(rebuilt.status == 0);
  CHECK_THAT(rebuilt.out, Catch::Contains("snapshot of public.orders is taken again"));
  CHECK(h.value("SELECT count(*) FROM paid") == "0");

  auto daemon = h.start_daemon();
  h.sql("UPDATE orders SET total = 1000 WHERE id = 1");
  REQUIRE(testing::eventually([&] { return h.value(projected_sql) == h.value(expected_sql); }, 30s));
  itest::CaptureHarness::stop_daemon(daemon);

  // While a daemon holds the state directory, resnapshot refuses.
  auto running = h.start_daemon();
  const auto refused = testing::run_command(
      {testing::modsync_binary(), "resnapshot", "--config", h.config_path().string(), "rs"}, {},
      60s);
  CHECK(refused.status == 1);
  CHECK_THAT(refused.err, Catch::Contains("in use by another modsync process"));
  itest::CaptureHarness::stop_daemon(running);
}
