#include <catch2/catch.hpp>

#include "modsync/common/error.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"

using namespace modsync::kafka;

namespace {
KafkaSettings with(std::string name, std::string value) {
  return {"127.0.0.1:9", {{std::move(name), std::move(value)}}};
}
void ignore(uint64_t, const DeliveryResult&) {}
}  // namespace

TEST_CASE("an unknown kafka.properties name is rejected with its name and librdkafka's text",
          "[settings]") {
  try {
    Producer p(with("linger.mss", "5"), "t", ignore);
    FAIL("accepted");
  } catch (const modsync::Error& e) {
    CHECK_FALSE(e.retriable());
    CHECK_THAT(e.what(), Catch::Contains("linger.mss=5") && Catch::Contains("kafka.properties") &&
                             Catch::Contains("No such configuration property"));
  }
}

TEST_CASE("an invalid kafka.properties value is rejected", "[settings]") {
  CHECK_THROWS_WITH(Producer(with("linger.ms", "soon"), "t", ignore),
                    Catch::Contains("linger.ms=soon"));
  CHECK_THROWS_WITH(Consumer(with("fetch.max.bytes", "-3"), ConsumerOptions{.group_id = "g"}),
                    Catch::Contains("fetch.max.bytes=-3"));
}

TEST_CASE("properties modsync relies on cannot be overridden", "[settings]") {
  CHECK_THROWS_WITH(Producer(with("acks", "1"), "t", ignore),
                    Catch::Contains("acks=1") && Catch::Contains("requires acks=all"));
  CHECK_THROWS_WITH(Producer(with("enable.idempotence", "false"), "t", ignore),
                    Catch::Contains("enable.idempotence"));
  CHECK_THROWS_WITH(Producer(with("partitioner", "consistent_random"), "t", ignore),
                    Catch::Contains("murmur2_random"));
  CHECK_NOTHROW(Producer(with("acks", "all"), "t", ignore));
  CHECK_NOTHROW(Producer(with("compression.type", "lz4"), "t", ignore));
}
