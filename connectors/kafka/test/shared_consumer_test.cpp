// Consumer::shared: the assign-mode consumers of a process on one librdkafka client, each
// reading only its own partitions from a queue of its own.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "modsync/common/error.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/dev_broker.hpp"
#include "modsync/kafka/handles.hpp"
#include "modsync/kafka/kafka_error.hpp"
#include "test_support.hpp"

using namespace modsync::kafka;
using namespace std::chrono_literals;
using modsync::kafka::test::threads_named;

namespace {

/// Produces `count` messages "<topic>/<partition>/<i>" (i from `from` on) into each of
/// `partitions` of `topic`, with a plain librdkafka producer (modsync's partitions by key).
void produce(const KafkaSettings& settings, const std::string& topic,
             const std::vector<int32_t>& partitions, int from, int count) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[256];
  REQUIRE(rd_kafka_conf_set(conf.get(), "bootstrap.servers", settings.brokers.c_str(), err,
                            sizeof err) == RD_KAFKA_CONF_OK);
  KafkaPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  REQUIRE(rk);
  (void)conf.release();
  for (int32_t p : partitions) {
    for (int i = from; i < from + count; ++i) {
      const std::string value = fmt::format("{}/{}/{}", topic, p, i);
      REQUIRE(rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(p),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  REQUIRE(rd_kafka_flush(rk.get(), 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
}

/// Everything `consumer` delivers within `quiet` of the last message: (partition, offset) →
/// value. Fails on a message delivered twice.
std::map<std::pair<std::string, int32_t>, std::vector<std::pair<int64_t, std::string>>> drain_all(
    Consumer& consumer, size_t expected, std::chrono::milliseconds quiet = 1500ms) {
  std::map<std::pair<std::string, int32_t>, std::vector<std::pair<int64_t, std::string>>> got;
  size_t total = 0;
  auto last = std::chrono::steady_clock::now();
  const auto deadline = last + 20s;
  std::vector<Message> batch;
  while (std::chrono::steady_clock::now() < deadline &&
         (total < expected || std::chrono::steady_clock::now() - last < quiet)) {
    batch.clear();
    if (consumer.poll_batch(500, 50, batch) == 0) continue;
    last = std::chrono::steady_clock::now();
    for (const auto& m : batch) {
      got[{std::string(m.topic()), m.partition().value}].emplace_back(m.offset().value,
                                                                      std::string(m.value()));
      ++total;
    }
  }
  return got;
}

/// Whether `got` holds exactly offsets [from, to) of each of `partitions` of `topic`, in order,
/// with the values produce() wrote there (offset i holds message i).
void check_exactly(const decltype(drain_all(std::declval<Consumer&>(), 0))& got,
                   const std::string& topic, const std::vector<int32_t>& partitions, int64_t from,
                   int64_t to) {
  REQUIRE(got.size() == partitions.size());
  for (int32_t p : partitions) {
    INFO(topic << " partition " << p);
    const auto it = got.find({topic, p});
    REQUIRE(it != got.end());
    REQUIRE(it->second.size() == static_cast<size_t>(to - from));
    for (int64_t o = from; o < to; ++o) {
      const auto& [offset, value] = it->second[static_cast<size_t>(o - from)];
      REQUIRE(offset == o);
      REQUIRE(value == fmt::format("{}/{}/{}", topic, p, o));
    }
  }
}

}  // namespace

TEST_CASE("consumers on one shared client each get exactly their partitions, across a restart",
          "[consumer][shared]") {
  DevBroker broker({.topics = {"t:4", "u:1"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  const size_t main_threads = threads_named("rdk:main");
  produce(settings, "t", {0, 1, 2, 3}, 0, 300);
  produce(settings, "u", {0}, 0, 300);

  Consumer a = Consumer::shared(settings);
  auto b = std::make_unique<Consumer>(Consumer::shared(settings));
  Consumer c = Consumer::shared(settings);
  // One client for the three: one more librdkafka main thread, not three.
  CHECK(threads_named("rdk:main") == main_threads + 1);
  a.assign({{"t", Partition{0}, Offset{0}}, {"t", Partition{2}, Offset{0}}});
  b->assign({{"t", Partition{1}, Offset{0}}, {"t", Partition{3}, Offset{100}}});
  c.assign({{"u", Partition{0}, Offset{0}}});
  CHECK(threads_named("rdk:main") == main_threads + 1);

  std::map<std::pair<std::string, int32_t>, std::vector<std::pair<int64_t, std::string>>> got_a,
      got_b, got_c;
  {
    std::thread other([&] { got_b = drain_all(*b, 2 * 300 - 100); });
    std::thread third([&] { got_c = drain_all(c, 300); });
    got_a = drain_all(a, 2 * 300);
    other.join();
    third.join();
  }
  check_exactly(got_a, "t", {0, 2}, 0, 300);
  REQUIRE(got_b.size() == 2);
  check_exactly({{{"t", 1}, got_b[{"t", 1}]}}, "t", {1}, 0, 300);
  check_exactly({{{"t", 3}, got_b[{"t", 3}]}}, "t", {3}, 100, 300);
  check_exactly(got_c, "u", {0}, 0, 300);

  // b reads partition 1 up to 300 and stops having fetched ahead (its queue holds more than it
  // takes); its successor reads partition 1 from 150, the position b "applied", and gets 150…
  // 599 once each, in order, never what b's fetch had queued.
  produce(settings, "t", {0, 1, 2, 3}, 300, 300);
  {
    std::vector<Message> some;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (some.empty() && std::chrono::steady_clock::now() < deadline) b->poll_batch(1, 50, some);
    REQUIRE(some.size() == 1);
    CHECK(some[0].offset().value >= 300);
  }
  b.reset();
  Consumer successor = Consumer::shared(settings);
  successor.assign({{"t", Partition{1}, Offset{150}}});
  check_exactly(drain_all(successor, 450), "t", {1}, 150, 600);
  // a was not disturbed: it gets its partitions' new messages, once each.
  check_exactly(drain_all(a, 600), "t", {0, 2}, 300, 600);

  // Seek by assigning again, its queue holding messages fetched ahead: a's partition 0 from 10
  // (and partition 2 no more) gets 10… once each, in order.
  produce(settings, "t", {0, 2}, 600, 300);
  {
    std::vector<Message> some;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (some.empty() && std::chrono::steady_clock::now() < deadline) a.poll_batch(1, 50, some);
    REQUIRE(some.size() == 1);
  }
  a.assign({{"t", Partition{0}, Offset{10}}});
  check_exactly(drain_all(a, 890), "t", {0}, 10, 900);
  CHECK(threads_named("rdk:main") == main_threads + 1);
}

TEST_CASE(
    "a partition another shared consumer holds, other settings and another lane get clients of "
    "their own",
    "[consumer][shared]") {
  DevBroker broker({.topics = {"t:1"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  const size_t main_threads = threads_named("rdk:main");
  produce(settings, "t", {0}, 0, 50);
  Consumer a = Consumer::shared(settings);
  Consumer b = Consumer::shared(settings);
  a.assign({{"t", Partition{0}, Offset{0}}});
  b.assign({{"t", Partition{0}, Offset{20}}});  // two projections of one topic
  CHECK(threads_named("rdk:main") == main_threads + 2);
  check_exactly(drain_all(a, 50), "t", {0}, 0, 50);
  check_exactly(drain_all(b, 30), "t", {0}, 20, 50);
  // Other settings never share a client.
  Consumer other = Consumer::shared({broker.bootstrap(), {{"fetch.wait.max.ms", "10"}}});
  CHECK(threads_named("rdk:main") == main_threads + 3);
  // Nor do other lanes (a projection's workers fetch on clients of their own).
  Consumer lane = Consumer::shared(settings, 1);
  CHECK(threads_named("rdk:main") == main_threads + 4);
  Consumer same_lane = Consumer::shared(settings, 1);
  CHECK(threads_named("rdk:main") == main_threads + 4);
  CHECK_THROWS_WITH(other.commit({{"t", Partition{0}, Offset{1}}}),
                    Catch::Contains("shared consumer has none"));
}

TEST_CASE("a shared consumer reports its own partition's lost position", "[consumer][shared]") {
  DevBroker broker({.topics = {"t:2"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  produce(settings, "t", {0, 1}, 0, 10);
  Consumer fine = Consumer::shared(settings);
  Consumer lost = Consumer::shared(settings);
  fine.assign({{"t", Partition{0}, Offset{0}}});
  lost.assign({{"t", Partition{1}, Offset{500}}});  // beyond the end: out of range
  bool threw = false;
  std::vector<Message> batch;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!threw && std::chrono::steady_clock::now() < deadline) {
    try {
      lost.poll_batch(10, 100, batch);
    } catch (const KafkaError& e) {
      threw = true;
      CHECK(e.position_lost());
      CHECK_THAT(e.what(), Catch::Contains("partition 1"));
    }
  }
  CHECK(threw);
  CHECK(batch.empty());
  check_exactly(drain_all(fine, 10), "t", {0}, 0, 10);
}
