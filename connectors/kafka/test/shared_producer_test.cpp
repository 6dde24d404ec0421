#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "modsync/kafka/dev_broker.hpp"
#include "modsync/kafka/producer.hpp"
#include "test_support.hpp"

using namespace modsync::kafka;
using namespace std::chrono_literals;
using modsync::kafka::test::threads_named;

namespace {

struct Seen {
  std::vector<uint64_t> opaques;
  std::vector<std::string> topics;
};

DeliveryCallback record_into(Seen& seen) {
  return [&seen](uint64_t opaque, const DeliveryResult& r) {
    REQUIRE(r.ok());
    seen.opaques.push_back(opaque);
    seen.topics.emplace_back(r.topic);
  };
}

}  // namespace

TEST_CASE("owners of one shared producer each get their own delivery reports, on their thread",
          "[producer][shared]") {
  DevBroker broker({.topics = {"a:2", "b:2", "both:1"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  const size_t main_threads = threads_named("rdk:main");
  Seen seen_a, seen_b;
  Producer a = Producer::shared(settings, record_into(seen_a));
  Producer b = Producer::shared(settings, record_into(seen_b));
  // One client for both: one more librdkafka main thread, not two.
  CHECK(threads_named("rdk:main") == main_threads + 1);

  const Headers none;
  constexpr uint64_t kEach = 500;
  std::thread other([&] {
    for (uint64_t i = 0; i < kEach; ++i) {
      b.produce(i % 2 ? "b" : "both", "k", 1, "from b", none, 1000 + i);
      b.poll(0);
    }
    REQUIRE(b.flush(10000));
  });
  for (uint64_t i = 0; i < kEach; ++i) {
    // The same topic as b's, and the largest opaque an owner may use.
    const uint64_t opaque = i == 0 ? Producer::kMaxOpaque : i;
    a.produce(i % 2 ? "a" : "both", "k", 1, "from a", none, opaque);
    a.poll(0);
  }
  REQUIRE(a.flush(10000));
  other.join();
  CHECK(a.in_flight() == 0);
  CHECK(b.in_flight() == 0);

  REQUIRE(seen_a.opaques.size() == kEach);
  REQUIRE(seen_b.opaques.size() == kEach);
  std::sort(seen_a.opaques.begin(), seen_a.opaques.end());
  std::sort(seen_b.opaques.begin(), seen_b.opaques.end());
  for (uint64_t i = 1; i < kEach; ++i) REQUIRE(seen_a.opaques[i - 1] == i);
  CHECK(seen_a.opaques.back() == Producer::kMaxOpaque);
  for (uint64_t i = 0; i < kEach; ++i) REQUIRE(seen_b.opaques[i] == 1000 + i);
  for (const auto& t : seen_a.topics) REQUIRE((t == "a" || t == "both"));
  for (const auto& t : seen_b.topics) REQUIRE((t == "b" || t == "both"));
  CHECK_THROWS_WITH(a.produce("a", "k", 1, "v", none, Producer::kMaxOpaque + 1),
                    Catch::Contains("is beyond"));
}

TEST_CASE("a shared owner's flush waits for its own messages only", "[producer][shared]") {
  DevBroker broker({.brokers = 2, .topics = {"fast:1", "slow:1"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  const int32_t slow_leader = 1;
  REQUIRE(rd_kafka_mock_partition_set_leader(broker.mock(), "slow", 0, slow_leader) == 0);
  REQUIRE(rd_kafka_mock_partition_set_leader(broker.mock(), "fast", 0, 2) == 0);
  Seen seen_fast, seen_slow;
  Producer fast = Producer::shared(settings, record_into(seen_fast));
  Producer slow = Producer::shared(settings, record_into(seen_slow));
  const Headers none;
  fast.produce("fast", "k", 1, "v", none, 1);
  slow.produce("slow", "k", 1, "v", none, 2);
  REQUIRE(fast.flush(10000));
  REQUIRE(slow.flush(10000));  // both topics' leaders are known now

  // The slow owner's message waits for its partition's leader; the fast owner's flush does not
  // wait for it.
  rd_kafka_mock_broker_set_rtt(broker.mock(), slow_leader, 3000);
  slow.produce("slow", "k", 1, "v", none, 3);
  fast.produce("fast", "k", 1, "v", none, 4);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(fast.flush(10000));
  CHECK(std::chrono::steady_clock::now() - started < 2000ms);
  CHECK(seen_fast.opaques == std::vector<uint64_t>{1, 4});
  CHECK(slow.in_flight() == 1);
  CHECK(seen_slow.opaques == std::vector<uint64_t>{2});
  // And a timed-out flush says so.
  CHECK_FALSE(slow.flush(200));
  REQUIRE(slow.flush(10000));
  CHECK(seen_slow.opaques == std::vector<uint64_t>{2, 3});
}

TEST_CASE("a shared client outlives an owner gone with messages in flight, and ends with the last",
          "[producer][shared]") {
  DevBroker broker({.topics = {"t:1"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  const size_t main_threads = threads_named("rdk:main");
  Seen seen;
  Producer stays = Producer::shared(settings, record_into(seen));
  const Headers none;
  {
    Seen gone_seen;
    Producer gone = Producer::shared(settings, record_into(gone_seen));
    for (uint64_t i = 0; i < 100; ++i) gone.produce("t", "k", 1, "v", none, i);
  }  // its reports arrive after it is gone: dropped, not given to another owner
  for (uint64_t i = 0; i < 100; ++i) stays.produce("t", "k", 1, "v", none, 500 + i);
  REQUIRE(stays.flush(10000));
  REQUIRE(seen.opaques.size() == 100);
  for (uint64_t i = 0; i < 100; ++i) REQUIRE(seen.opaques[i] == 500 + i);
  {
    // Other settings, another client.
    Producer other =
        Producer::shared({broker.bootstrap(), {{"linger.ms", "1"}}}, record_into(seen));
    CHECK(threads_named("rdk:main") == main_threads + 2);
  }
  CHECK(threads_named("rdk:main") == main_threads + 1);
  stays = Producer({broker.bootstrap(), {}}, "own", record_into(seen));  // the last owner goes
  CHECK(threads_named("rdk:main") == main_threads + 1);                  // and a private one came
}

TEST_CASE("a shared client that failed fatally is replaced for new owners", "[producer][shared]") {
  DevBroker broker({.topics = {"t:1"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  Seen seen;
  Producer failed = Producer::shared(settings, record_into(seen));
  failed.simulate_fatal_error(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "injected by test");
  CHECK_THROWS_WITH(failed.poll(0), Catch::Contains("failed fatally"));
  Producer next = Producer::shared(settings, record_into(seen));
  next.produce("t", "k", 1, "v", {}, 7);
  REQUIRE(next.flush(10000));
  CHECK(seen.opaques == std::vector<uint64_t>{7});
  CHECK_THROWS_WITH(failed.poll(0), Catch::Contains("failed fatally"));
}
