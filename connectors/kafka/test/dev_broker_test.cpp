#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "modsync/common/error.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/dev_broker.hpp"
#include "modsync/kafka/producer.hpp"
#include "test_support.hpp"

using namespace modsync::kafka;
using namespace std::chrono_literals;

TEST_CASE("the mock auto-creates unknown topics with 4 partitions on metadata and produce",
          "[dev-broker]") {
  // Measured on librdkafka 2.0.2; docs/dev-broker.md relies on it.
  DevBroker broker({.partitions = 7});
  std::vector<DeliveryResult> results;
  Producer producer({broker.bootstrap(), {}}, "t",
                    [&](uint64_t, const DeliveryResult& r) { results.push_back(r); });
  CHECK(producer.partition_count("seen.by.metadata", 5s) == 4);
  producer.produce("seen.by.produce", "k", 1, "v", {}, 0);
  REQUIRE(producer.flush(10000));
  REQUIRE(results.size() == 1);
  CHECK(results[0].ok());
  CHECK(producer.partition_count("seen.by.produce", 5s) == 4);
}

TEST_CASE("pre-created topics get their partition counts", "[dev-broker]") {
  DevBroker broker({.partitions = 3, .topics = {"a", "b:16"}});
  Producer producer({broker.bootstrap(), {}}, "t", [](uint64_t, const DeliveryResult&) {});
  CHECK(producer.partition_count("a", 5s) == 3);
  CHECK(producer.partition_count("b", 5s) == 16);
  broker.create_topic("c", 2);
  CHECK(producer.partition_count("c", 5s) == 2);
  CHECK(broker.created_topics().size() == 3);
}

TEST_CASE("a fixed port forwards to the mock: kcat -L and our clients work through it",
          "[dev-broker]") {
  const uint16_t port = test::free_port();
  DevBroker broker({.brokers = 3, .topics = {"fixed:5"}, .port = port});
  CHECK(broker.bootstrap() == "127.0.0.1:" + std::to_string(port));

  const auto [status, out] =
      test::run({MODSYNC_KCAT, "-L", "-b", broker.bootstrap(), "-t", "fixed"});
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("from broker -1: " + broker.bootstrap() + "/bootstrap") &&
                      Catch::Contains("3 brokers:") &&
                      Catch::Contains("topic \"fixed\" with 5 partitions"));

  int delivered = 0;
  Producer producer({broker.bootstrap(), {}}, "t",
                    [&](uint64_t, const DeliveryResult& r) { delivered += r.ok(); });
  producer.check_connectivity(5s);
  for (int i = 0; i < 100; ++i) producer.produce("fixed", "k", 1, "v", {}, 0);
  REQUIRE(producer.flush(10000));
  CHECK(delivered == 100);
}

TEST_CASE("a taken fixed port is a clear start-up error", "[dev-broker]") {
  const uint16_t port = test::free_port();
  DevBroker first({.port = port});
  CHECK_THROWS_WITH(DevBroker({.port = port}),
                    Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(port)) &&
                        Catch::Contains("Fix: pick another --port"));
}

TEST_CASE("the dev-broker process prints its address first, writes the file, stops on SIGTERM",
          "[dev-broker]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("modsync-dev-broker-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto address_file = (dir / "address").string();
  const uint16_t port = test::free_port();
  test::Child child({MODSYNC_DEV_BROKER_MAIN, "--port", std::to_string(port), "--topic", "events:6",
                     "--address-file", address_file});
  const auto line = child.read_line(10s);
  REQUIRE(line);
  CHECK(*line == "127.0.0.1:" + std::to_string(port));
  std::ifstream in(address_file);
  std::string from_file;
  std::getline(in, from_file);
  CHECK(from_file == *line);
  CHECK_FALSE(std::filesystem::exists(address_file + ".tmp"));

  const auto [status, out] = test::run({MODSYNC_KCAT, "-L", "-b", *line, "-t", "events"});
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("topic \"events\" with 6 partitions"));

  CHECK(child.stop(SIGTERM) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the dev-broker process without a port prints the mock's address and stops on SIGINT",
          "[dev-broker]") {
  test::Child child({MODSYNC_DEV_BROKER_MAIN, "--brokers", "2"});
  const auto line = child.read_line(10s);
  REQUIRE(line);
  CHECK_THAT(*line, Catch::Matches(R"(127\.0\.0\.1:\d+,127\.0\.0\.1:\d+)"));
  Producer producer({*line, {}}, "t", [](uint64_t, const DeliveryResult&) {});
  producer.check_connectivity(5s);
  CHECK(child.stop(SIGINT) == 0);
}

TEST_CASE("the dev-broker process rejects a bad --topic with exit status 1", "[dev-broker]") {
  const auto [status, out] = test::run({MODSYNC_DEV_BROKER_MAIN, "--topic", "x:0"});
  CHECK(status == 1);
  CHECK(out.empty());
}
