#include <catch2/catch.hpp>

#include "modsync/common/error.hpp"
#include "modsync/kafka/dev_broker.hpp"

using modsync::kafka::parse_topic_spec;

TEST_CASE("a topic spec accepts NAME and NAME:PARTITIONS", "[dev-broker]") {
  CHECK(parse_topic_spec("orders", 4).name == "orders");
  CHECK(parse_topic_spec("orders", 4).partitions == 4);
  const auto spec = parse_topic_spec("db.public.orders:12", 4);
  CHECK(spec.name == "db.public.orders");
  CHECK(spec.partitions == 12);
}

TEST_CASE("a topic spec rejects malformed specs with the expected form", "[dev-broker]") {
  for (const char* bad :
       {"", ":3", "orders:", "orders:0", "orders:x", "orders:3x", "t:-1", "t:100001"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_topic_spec(bad, 4), Catch::Contains("NAME:PARTITIONS"));
  }
}
