#include <catch2/catch.hpp>

#include <memory>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "conf.hpp"
#include "modsync/common/error.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/producer.hpp"

using namespace modsync::kafka;

namespace {
KafkaSettings with(std::string name, std::string value) {
  return {"127.0.0.1:9", {{std::move(name), std::move(value)}}};
}
void ignore(uint64_t, const DeliveryResult&) {}

/// The message `f` throws.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const modsync::Error& e) {
    CHECK_FALSE(e.retriable());
    return e.what();
  }
  FAIL("accepted");
  return {};
}

/// Routes spdlog's default logger into a string while alive (librdkafka logs through it).
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};
}  // namespace

TEST_CASE("an unknown kafka.properties name is rejected with its name and librdkafka's text",
          "[settings]") {
  const std::string e = error_of([] { Producer(with("linger.mss", "5"), "t", ignore); });
  CHECK_THAT(e, Catch::Contains("linger.mss") && Catch::Contains("kafka.properties") &&
                    Catch::Contains("No such configuration property"));
}

TEST_CASE("an invalid kafka.properties value is rejected", "[settings]") {
  CHECK_THAT(error_of([] { Producer(with("linger.ms", "soon"), "t", ignore); }),
             Catch::Contains("linger.ms") && Catch::Contains("value not shown"));
  CHECK_THAT(
      error_of([] { Consumer(with("fetch.max.bytes", "-3"), ConsumerOptions{.group_id = "g"}); }),
      Catch::Contains("fetch.max.bytes") && Catch::Contains("outside allowed range"));
}

// Regression (issue 7): Kafka property errors echoed the value, which may be a secret.
TEST_CASE("a kafka.properties value never appears in an error", "[settings][secrets]") {
  // Rejected by rd_kafka_conf_set (a range, an enum), or only by rd_kafka_new (a mechanism).
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"linger.ms", "hunter2"}, {"security.protocol", "hunter2"}}) {
    INFO(name);
    CHECK_THAT(error_of([&] { Producer(with(name, value), "t", ignore); }),
               Catch::Contains(name) && !Catch::Contains(value));
  }
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"fetch.max.bytes", "-7777"}, {"security.protocol", "hunter2"}}) {
    INFO(name);
    CHECK_THAT(error_of([&] { Consumer(with(name, value), ConsumerOptions{.group_id = "g"}); }),
               !Catch::Contains(value));
  }
  const KafkaSettings sasl{
      "127.0.0.1:9", {{"security.protocol", "sasl_plaintext"}, {"sasl.mechanisms", "hunter2"}}};
  CHECK_THAT(error_of([&] { Producer(sasl, "t", ignore); }),
             Catch::Contains("cannot create Kafka producer") && !Catch::Contains("hunter2"));
  CHECK_THAT(error_of([] { Producer(with("acks", "1"), "t", ignore); }),
             !Catch::Contains("acks=1"));
}

TEST_CASE("properties modsync relies on cannot be overridden", "[settings]") {
  CHECK_THROWS_WITH(
      Producer(with("acks", "1"), "t", ignore),
      Catch::Contains("acks (kafka.properties)") && Catch::Contains("requires acks=all"));
  CHECK_THROWS_WITH(Producer(with("enable.idempotence", "false"), "t", ignore),
                    Catch::Contains("enable.idempotence"));
  CHECK_THROWS_WITH(Producer(with("partitioner", "consistent_random"), "t", ignore),
                    Catch::Contains("murmur2_random"));
  CHECK_NOTHROW(Producer(with("acks", "all"), "t", ignore));
  CHECK_NOTHROW(Producer(with("compression.type", "lz4"), "t", ignore));
}

TEST_CASE("property scopes come from librdkafka's own table", "[settings]") {
  using detail::property_scope;
  using detail::PropertyScope;
  CHECK(property_scope("linger.ms") == PropertyScope::kProducer);
  CHECK(property_scope("queue.buffering.max.ms") == PropertyScope::kProducer);  // an alias
  CHECK(property_scope("compression.type") == PropertyScope::kProducer);
  CHECK(property_scope("acks") == PropertyScope::kProducer);  // a topic-level property
  CHECK(property_scope("fetch.wait.max.ms") == PropertyScope::kConsumer);
  CHECK(property_scope("session.timeout.ms") == PropertyScope::kConsumer);
  CHECK(property_scope("auto.offset.reset") == PropertyScope::kConsumer);
  CHECK(property_scope("client.id") == PropertyScope::kBoth);
  CHECK(property_scope("socket.keepalive.enable") == PropertyScope::kBoth);
  CHECK(property_scope("linger.mss") == PropertyScope::kUnknown);
}

// Regression (issue 7): producer settings in kafka.properties reached every consumer, and
// librdkafka warned (CONFWARN) about each one on each consumer start: 566 lines in 3 minutes.
TEST_CASE("each client gets only the kafka.properties that apply to it", "[settings]") {
  const KafkaSettings settings{"127.0.0.1:9",
                               {{"linger.ms", "7"},
                                {"compression.type", "lz4"},
                                {"fetch.wait.max.ms", "50"},
                                {"heartbeat.interval.ms", "900"},
                                {"socket.keepalive.enable", "true"}}};
  CapturedLog log;
  {
    Producer producer(settings, "t", ignore);
    Consumer consumer(settings, ConsumerOptions{.group_id = "g"});
  }
  CHECK_THAT(log.text(), !Catch::Contains("CONFWARN"));
  // A property for the other kind of client is skipped, not checked there: its own client
  // still rejects a bad value.
  CHECK_NOTHROW(Consumer(with("linger.ms", "soon"), ConsumerOptions{.group_id = "g"}));
}
