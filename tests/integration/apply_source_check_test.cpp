// Once the source's schema is on {prefix}.schemas, a projection is checked against it at start:
// unknown source columns, `where` columns and incompatible types are errors naming file:line.

#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "capture_harness.hpp"

using namespace modsync;
using namespace std::chrono_literals;

namespace {

std::string config(itest::CaptureHarness& h, const std::string& projection) {
  return fmt::format(
      "daemon: {{ id: chk, state_dir: \"{}\", http: {{ listen: \"\" }} }}\n"
      "kafka: {{ brokers: \"{}\" }}\n"
      "source: {{ module: shop, dsn: \"{}\", tables: [orders] }}\n"
      "sink:\n"
      "  module: copy\n"
      "  dsn: \"{}\"\n"
      "  projections:\n"
      "    - from: shop.public.orders\n"
      "      to: public.copy\n"
      "{}",
      (h.dir() / "state").string(), h.broker().bootstrap(), h.pg().dsn("shop"), h.pg().dsn("shop"),
      projection);
}

}  // namespace

TEST_CASE("a projection is checked against the published source schema",
          "[integration][apply][startup]") {
  itest::CaptureHarness h;
  h.sql(
      "CREATE TABLE orders (id bigint PRIMARY KEY, status text, total numeric(10,2));"
      "CREATE TABLE copy (id bigint PRIMARY KEY, amount int, note date,"
      "  _modsync_lsn pg_lsn, _modsync_seq int)");
  // A capture-only run publishes the schema.
  h.write_config("tables: [orders]");
  {
    auto daemon = h.start_daemon();
    itest::CaptureHarness::stop_daemon(daemon);
  }
  struct Case {
    const char* projection;
    const char* expected;
  };
  const Case cases[] = {
      {"      columns: { id: id, totl: amount }\n",
       "source column totl (mapped to amount) is not in shop.public.orders; it has: id, status, "
       "total"},
      {"      columns: { id: id, total: amount }\n      where: \"state = 'paid'\"\n",
       "`where` names column state, which shop.public.orders does not have"},
      {"      columns: { id: id, status: note }\n",
       "column status is text in shop.public.orders but note (date) in the target: the types are "
       "incompatible"},
  };
  for (const auto& c : cases) {
    INFO(c.projection);
    std::ofstream(h.config_path()) << config(h, c.projection);
    auto daemon = h.start_daemon(/*wait_streaming=*/false);
    CHECK(daemon.wait_for_output(c.expected, 30s));
    CHECK(daemon.wait_for_output("itest.yaml:8: projection to public.copy", 5s));
    itest::CaptureHarness::stop_daemon(daemon);
  }
}
