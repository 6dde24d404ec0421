#include <catch2/catch.hpp>

#include <librdkafka/rdkafka.h>

#include "modsync/config/config.hpp"
#include "modsync/kafka/kafka_error.hpp"
#include "modsync/kafka/settings.hpp"

using modsync::ErrorKind;
using modsync::kafka::error_kind;
using modsync::kafka::KafkaError;

TEST_CASE("Kafka codes are fatal when retrying cannot help, retriable otherwise", "[kafka][errors]") {
  for (const auto code :
       {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__FATAL,
        RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET}) {
    CAPTURE(rd_kafka_err2name(code));
    CHECK(error_kind(code) == ErrorKind::kFatal);
  }
  for (const auto code :
       {RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER}) {
    CAPTURE(rd_kafka_err2name(code));
    CHECK(error_kind(code) == ErrorKind::kRetriable);
  }
}

TEST_CASE("a KafkaError carries its code and takes its kind from it", "[kafka][errors]") {
  const KafkaError lost(RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, "topic 't' partition 0: gone");
  CHECK(lost.code() == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET);
  CHECK(lost.kind() == ErrorKind::kFatal);
  CHECK(lost.position_lost());
  CHECK(std::string(lost.what()) == "topic 't' partition 0: gone");
  CHECK(KafkaError(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, "x").position_lost());
  const KafkaError timeout(ErrorKind::kFatal, RD_KAFKA_RESP_ERR__TIMED_OUT, "at start-up");
  CHECK(timeout.kind() == ErrorKind::kFatal);  // the caller's kind wins
  CHECK_FALSE(timeout.position_lost());
}

TEST_CASE("settings_from: brokers, the memory budgets, a client's defaults, then kafka.properties",
          "[settings]") {
  modsync::config::KafkaConfig kafka;
  kafka.brokers = "a:9092,b:9092";
  kafka.memory.consumer_queue = 3 * modsync::config::kMiB;
  kafka.memory.producer_queue = 32 * modsync::config::kMiB;
  kafka.properties = {{"socket.timeout.ms", "9000"}, {"client.rack", "r1"}};
  const auto s = modsync::kafka::settings_from(kafka, {{"socket.timeout.ms", "5000"}});
  CHECK(s.brokers == "a:9092,b:9092");
  // Applied in order, so the user's value overrides the client's default.
  CHECK(s.properties ==
        std::vector<std::pair<std::string, std::string>>{{"queued.max.messages.kbytes", "3072"},
                                                         {"queue.buffering.max.kbytes", "32768"},
                                                         {"socket.timeout.ms", "5000"},
                                                         {"client.rack", "r1"},
                                                         {"socket.timeout.ms", "9000"}});
  CHECK(modsync::kafka::settings_from(kafka).properties.size() == 4);
}
