#include <catch2/catch.hpp>

#include "modsync/config/config.hpp"
#include "test_files.hpp"

using namespace modsync::config;
using modsync::config::test::fake_env;

namespace {

const std::filesystem::path kExamples = MODSYNC_CONFIG_EXAMPLES_DIR;

}  // namespace

TEST_CASE("every example file loads with defaults for its variables", "[config][examples]") {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kExamples)) {
    INFO(entry.path().string());
    const PairConfig c = load_file(entry.path(), fake_env());
    CHECK_FALSE(c.daemon.id.empty());
    CHECK_FALSE(describe(c).empty());
    ++count;
  }
  CHECK(count >= 2);
  CHECK(load_path(kExamples, fake_env()).size() == count);
}

TEST_CASE("orders-to-shipping.yaml is the canonical pair", "[config][examples]") {
  const PairConfig c = load_file(kExamples / "orders-to-shipping.yaml", fake_env());
  CHECK(c.daemon.id == "orders-to-shipping");
  CHECK(c.daemon.state_dir == "/var/lib/modsync");
  CHECK(c.kafka.brokers == "localhost:9092");
  REQUIRE(c.source);
  CHECK(c.source->module == "orders");
  CHECK(c.source->dsn == "host=localhost port=5432 dbname=orders user=modsync");
  CHECK(c.source->tables ==
        std::vector<TableName>{{"public", "orders"}, {"public", "order_lines"}});
  CHECK(c.source->slot == "modsync_orders_to_shipping");
  CHECK(topic_for(*c.source, c.kafka.topic_prefix, "public", "orders") == "orders.public.orders");
  CHECK(transaction_topic_for(*c.source, c.kafka.topic_prefix) == "modsync.transactions");
  REQUIRE(c.sink);
  CHECK(c.sink->module == "shipping");
  REQUIRE(c.sink->projections.size() == 1);
  const Projection& p = c.sink->projections[0];
  CHECK(projection_topic(c, p) == "orders.public.orders");
  CHECK(p.to == TableName{"public", "orders_to_ship"});
  CHECK(p.where == "status = 'paid' AND total > 0");
  REQUIRE(p.columns);
  CHECK(std::find(p.columns->begin(), p.columns->end(), ColumnMapping{"id", "order_id"}) !=
        p.columns->end());
}

TEST_CASE("the demo's environment variables reach the canonical example", "[config][examples]") {
  const PairConfig c =
      load_file(kExamples / "orders-to-shipping.yaml",
                fake_env({{"ORDERS_DSN", "host=pg1 port=5433 dbname=orders user=demo password=pw"},
                          {"SHIPPING_DSN", "postgresql://demo@pg1:5433/shipping"},
                          {"KAFKA_BROKERS", "broker:19092"},
                          {"MODSYNC_STATE_DIR", "/tmp/demo-state"}}));
  CHECK(c.daemon.state_path() == "/tmp/demo-state/orders-to-shipping");
  CHECK(c.kafka.brokers == "broker:19092");
  CHECK(c.source->effective_dsn ==
        EffectiveDsn{"host=pg1 port=5433 dbname=orders user=demo password=pw", ""});
  CHECK(c.sink->effective_dsn == EffectiveDsn{"postgresql://demo@pg1:5433/shipping", ""});
  CHECK(describe(c).find("password=pw") == std::string::npos);
  CHECK(describe(c).find("password=***") != std::string::npos);
}

TEST_CASE("capture-only.yaml has a source and no sink", "[config][examples]") {
  const PairConfig c = load_file(kExamples / "capture-only.yaml", fake_env());
  REQUIRE(c.source);
  CHECK_FALSE(c.sink);
  CHECK(c.source->tables == std::vector<TableName>{{"public", "orders"}});
}
