#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "modsync/common/error.hpp"
#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/dev_broker.hpp"
#include "modsync/kafka/kafka_error.hpp"
#include "modsync/kafka/producer.hpp"
#include "test_support.hpp"

using namespace modsync::kafka;
using namespace std::chrono_literals;

namespace {

// Kafka's Java murmur2 (org.apache.kafka.common.utils.Utils.murmur2), to check that keys land
// where Java clients would put them.
uint32_t java_murmur2(std::string_view data) {
  constexpr uint32_t m = 0x5bd1e995;
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(data.size());
  const size_t n4 = data.size() / 4;
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(data[i])); };
  for (size_t i = 0; i < n4; ++i) {
    uint32_t k = byte(4 * i) | byte(4 * i + 1) << 8 | byte(4 * i + 2) << 16 | byte(4 * i + 3) << 24;
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = data.size() & ~size_t{3};
  switch (data.size() % 4) {
    case 3:
      h ^= byte(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

struct Record {
  std::string key, value;
  std::vector<std::pair<std::string, std::string>> headers;
  int32_t partition = -1;
  bool operator==(const Record&) const = default;
};

std::string key_of(int i) {
  return "pk-" + std::to_string(i % 733);
}

std::vector<Record> consume_all(Consumer& consumer, size_t expected, std::chrono::seconds limit) {
  std::vector<Record> out;
  std::vector<Message> batch;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    consumer.poll_batch(1000, 200, batch);
    for (const auto& m : batch) {
      Record r{std::string(m.key()), std::string(m.value()), {}, m.partition().value};
      for (const auto& [n, v] : m.headers()) r.headers.emplace_back(n, v);
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("10k keyed messages with headers go out, keep per-key partitions, and come back",
          "[producer][consumer]") {
  constexpr int kMessages = 10000;
  constexpr int kPartitions = 8;
  DevBroker broker({.topics = {"cdc.orders:8"}});
  const KafkaSettings settings{broker.bootstrap(), {{"compression.type", "lz4"}}};

  std::vector<DeliveryResult> results(kMessages);
  std::vector<int> reports(kMessages, 0);
  Producer producer(settings, "test-producer", [&](uint64_t opaque, const DeliveryResult& r) {
    REQUIRE(opaque < kMessages);
    ++reports[opaque];
    results[opaque] = r;
    results[opaque].topic = {};  // the view dies with the callback
    results[opaque].error_text = {};
  });
  producer.check_connectivity(5s);
  REQUIRE(producer.partition_count("cdc.orders", 5s) == kPartitions);

  std::map<std::string, Record> sent;
  Headers headers;
  for (int i = 0; i < kMessages; ++i) {
    const std::string key = key_of(i);
    const std::string value = "{\"id\":" + std::to_string(i) + "}";
    const std::string seq = std::to_string(i);
    headers.clear();
    headers.add("op", i % 3 == 0 ? "c" : "u");
    headers.add("seq", seq);
    producer.produce("cdc.orders", key.data(), key.size(), value, headers,
                     static_cast<uint64_t>(i));
    sent[seq] = {key, value, {{"op", i % 3 == 0 ? "c" : "u"}, {"seq", seq}}, -1};
    producer.poll(0);
  }
  REQUIRE(producer.flush(30000));
  CHECK(producer.in_flight() == 0);

  std::map<std::string, int32_t> partition_of_key;
  std::map<std::pair<int32_t, int64_t>, int> offsets_seen;
  for (int i = 0; i < kMessages; ++i) {
    INFO("message " << i);
    REQUIRE(reports[i] == 1);
    REQUIRE(results[i].ok());
    REQUIRE(results[i].offset.value >= 0);
    const int32_t p = results[i].partition.value;
    const auto [it, fresh] = partition_of_key.emplace(key_of(i), p);
    REQUIRE(it->second == p);
    CHECK(++offsets_seen[{p, results[i].offset.value}] == 1);
    sent[std::to_string(i)].partition = p;
  }
  for (const auto& [key, p] : partition_of_key) {
    INFO(key);
    CHECK(static_cast<int32_t>((java_murmur2(key) & 0x7fffffff) % kPartitions) == p);
  }

  SECTION("our consumer reads back every key, value and header") {
    std::vector<TopicPartitionOffset> assigned;
    Consumer consumer(settings, {.group_id = "readers",
                                 .auto_offset_reset = "earliest",
                                 .session_timeout_ms = 6000,
                                 .hooks = {.on_assigned = [&](const auto& ps) { assigned = ps; },
                                           .on_revoked = {}}});
    consumer.subscribe({"cdc.orders"});
    const auto got = consume_all(consumer, kMessages, 30s);
    REQUIRE(got.size() == kMessages);
    CHECK(assigned.size() == kPartitions);
    for (const auto& r : got) {
      const auto seq = r.headers.at(1).second;
      REQUIRE(sent.at(seq) == r);
    }
    consumer.commit({{"cdc.orders", Partition{0}, Offset{7}}});
    CHECK(consumer.committed("cdc.orders", Partition{0}, 5s) == Offset{7});
    CHECK_FALSE(consumer.committed("cdc.orders", Partition{1}, 5s));
    consumer.close();
  }

  SECTION("kcat, an independent client, reads the same records") {
    const auto [status, out] = test::run(
        {MODSYNC_KCAT, "-C", "-b", broker.bootstrap(), "-t", "cdc.orders", "-e", "-J", "-q"});
    REQUIRE(status == 0);
    size_t count = 0;
    for (size_t pos = 0, nl; (nl = out.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      rapidjson::Document doc;
      doc.Parse(out.data() + pos, nl - pos);
      REQUIRE_FALSE(doc.HasParseError());
      Record r{doc["key"].GetString(), doc["payload"].GetString(), {}, doc["partition"].GetInt()};
      const auto& hs = doc["headers"].GetArray();
      for (rapidjson::SizeType i = 0; i + 1 < hs.Size(); i += 2) {
        r.headers.emplace_back(hs[i].GetString(), hs[i + 1].GetString());
      }
      REQUIRE(r.headers.size() == 2);
      REQUIRE(sent.at(r.headers[1].second) == r);
      ++count;
    }
    CHECK(count == kMessages);
  }
}

TEST_CASE("a full local queue blocks produce() while serving deliveries", "[producer]") {
  DevBroker broker({.topics = {"small:2"}});
  size_t delivered = 0;
  Producer producer({broker.bootstrap(), {{"queue.buffering.max.messages", "50"}}}, "t",
                    [&](uint64_t, const DeliveryResult& r) { delivered += r.ok(); });
  const Headers none;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = std::to_string(i);
    producer.produce("small", key.data(), key.size(), "v", none, 0);
    // The local queue holds 50 messages; in_flight() also counts the reports routed to this
    // owner that it has not served yet (about one produce request's worth).
    REQUIRE(producer.in_flight() < 100);
  }
  REQUIRE(producer.flush(10000));
  CHECK(delivered == 3000);
}

TEST_CASE("null keys and tombstones travel as nulls", "[producer][consumer]") {
  DevBroker broker({.topics = {"nulls:1"}});
  Producer producer({broker.bootstrap(), {}}, "t",
                    [](uint64_t, const DeliveryResult& r) { REQUIRE(r.ok()); });
  producer.produce("nulls", nullptr, 0, "no key", {}, 0);
  producer.produce("nulls", "k", 1, std::string_view(), {}, 1);
  REQUIRE(producer.flush(10000));
  Consumer consumer({broker.bootstrap(), {}}, {.group_id = "g", .session_timeout_ms = 6000});
  consumer.assign("nulls", Partition{0}, Offset{RD_KAFKA_OFFSET_BEGINNING});
  std::vector<Message> got;
  for (int i = 0; i < 50 && got.size() < 2; ++i) consumer.poll_batch(10, 200, got);
  REQUIRE(got.size() == 2);
  CHECK_FALSE(got[0].has_key());
  CHECK(got[0].value() == "no key");
  CHECK_FALSE(got[0].header("op"));
  CHECK(got[1].key() == "k");
  CHECK_FALSE(got[1].has_value());
}

TEST_CASE("an unreachable broker fails the connectivity check within its timeout", "[producer]") {
  const std::string addr = "127.0.0.1:" + std::to_string(test::free_port());
  Producer producer({addr, {}}, "t", [](uint64_t, const DeliveryResult&) {});
  const auto start = std::chrono::steady_clock::now();
  try {
    producer.check_connectivity(1500ms);
    FAIL("connected to nothing");
  } catch (const modsync::Error& e) {
    CHECK(e.retriable());
    CHECK_THAT(e.what(), Catch::StartsWith("cannot reach Kafka at " + addr) &&
                             Catch::Contains("Fix: check kafka.brokers"));
  }
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("a topic that does not exist is a fatal error naming it", "[producer]") {
  // The mock auto-creates topics, so a real cluster's "unknown topic" is injected.
  DevBroker broker({});
  rd_kafka_mock_topic_set_error(broker.mock(), "missing", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  std::vector<rd_kafka_resp_err_t> errors;
  Producer producer({broker.bootstrap(), {{"topic.metadata.propagation.max.ms", "500"}}}, "t",
                    [&](uint64_t, const DeliveryResult& r) { errors.push_back(r.error); });
  producer.produce("missing", "k", 1, "v", {}, 0);
  try {
    for (int i = 0; i < 100; ++i) producer.poll(100);
    FAIL("no error surfaced");
  } catch (const modsync::Error& e) {
    CHECK_FALSE(e.retriable());
    CHECK_THAT(e.what(), Catch::Contains("topic 'missing' does not exist") &&
                             Catch::Contains("Fix: create the topic"));
  }
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  // librdkafka now knows the topic is missing and refuses at once.
  CHECK_THROWS_WITH(producer.produce("missing", "k", 1, "v", {}, 1),
                    Catch::Contains("topic 'missing' does not exist"));
}

TEST_CASE("a fatal idempotent-producer error surfaces from poll()", "[producer]") {
  DevBroker broker({});
  Producer producer({broker.bootstrap(), {}}, "t", [](uint64_t, const DeliveryResult&) {});
  producer.simulate_fatal_error(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "injected by test");
  try {
    producer.poll(100);
    FAIL("no error");
  } catch (const KafkaError& e) {
    CHECK_FALSE(e.retriable());
    CHECK(e.code() == RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    CHECK_THAT(e.what(), Catch::Contains("failed fatally") && Catch::Contains("injected by test"));
  }
}

TEST_CASE("an exception from the delivery callback reaches the poll() caller", "[producer]") {
  DevBroker broker({.topics = {"t:1"}});
  Producer producer({broker.bootstrap(), {}}, "t", [](uint64_t, const DeliveryResult&) {
    throw std::runtime_error("callback failed");
  });
  producer.produce("t", "k", 1, "v", {}, 0);
  CHECK_THROWS_WITH(producer.flush(10000), "callback failed");
}

TEST_CASE("auto.offset.reset=error reports an out-of-range position", "[consumer]") {
  DevBroker broker({.topics = {"short:1"}});
  Producer producer({broker.bootstrap(), {}}, "t", [](uint64_t, const DeliveryResult&) {});
  for (int i = 0; i < 3; ++i) producer.produce("short", "k", 1, "v", {}, 0);
  REQUIRE(producer.flush(10000));
  Consumer consumer({broker.bootstrap(), {}}, {.group_id = "g", .session_timeout_ms = 6000});
  consumer.assign("short", Partition{0}, Offset{100});
  std::vector<Message> got;
  try {
    for (int i = 0; i < 50; ++i) consumer.poll_batch(10, 200, got);
    FAIL("no error reported");
  } catch (const KafkaError& e) {
    CHECK_FALSE(e.retriable());
    // Callers tell a lost position by its code (apply stops and names resnapshot), not its text.
    CHECK(e.code() == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET);
    CHECK(e.position_lost());
    CHECK_THAT(e.what(), Catch::Contains("topic 'short' partition 0 offset 100") &&
                             Catch::Contains("Offset out of range") &&
                             Catch::Contains("auto.offset.reset"));
  }
  CHECK(got.empty());
}

TEST_CASE("the delivery watch sees a broker that stops acknowledging, and its end",
          "[producer][stall]") {
  DevBroker broker({.topics = {"cdc.slow:1"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  size_t delivered = 0;
  Producer producer(settings, "test-stall", [&](uint64_t, const DeliveryResult& r) {
    REQUIRE(r.ok());
    ++delivered;
  });
  modsync::ProgressWatch watch;
  producer.watch_deliveries(&watch);
  producer.check_connectivity(5s);
  const Headers none;
  const std::string value = "v";
  producer.produce("cdc.slow", "k", 1, value, none, 1);
  REQUIRE(producer.flush(10000));
  CHECK(delivered == 1);
  CHECK(watch.stalled_for_ms(modsync::steady_now_ms()) == 0);  // nothing waits

  // Every broker answers 2.5 s late: the event waits, and the watch says so.
  for (int32_t id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_rtt(broker.mock(), id, 2500);
  producer.produce("cdc.slow", "k", 1, value, none, 2);
  const auto started = std::chrono::steady_clock::now();
  while (delivered < 2 && std::chrono::steady_clock::now() - started < 1500ms) producer.poll(50);
  CHECK(delivered == 1);
  CHECK(watch.stalled_for_ms(modsync::steady_now_ms()) >= 1000);
  REQUIRE(producer.flush(10000));
  CHECK(delivered == 2);
  CHECK(watch.stalled_for_ms(modsync::steady_now_ms()) == 0);
}

TEST_CASE("watermarks name a partition's first and next offsets", "[consumer][watermarks]") {
  DevBroker broker({.topics = {"cdc.marks:2"}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  Producer producer(settings, "test-marks", [](uint64_t, const DeliveryResult&) {});
  const Headers none;
  for (int i = 0; i < 5; ++i) {
    const std::string v = std::to_string(i);
    producer.produce("cdc.marks", "same-key", 8, v, none, 0);
  }
  REQUIRE(producer.flush(10000));
  Consumer consumer(settings, {.group_id = "marks"});
  const auto a = consumer.query_watermarks("cdc.marks", Partition{0}, 5s);
  const auto b = consumer.query_watermarks("cdc.marks", Partition{1}, 5s);
  CHECK(a.low == Offset{0});
  CHECK(b.low == Offset{0});
  CHECK(a.high.value + b.high.value == 5);  // one key: all five in one partition
  CHECK((a.high == Offset{5} || b.high == Offset{5}));
  // The producer asks the same way.
  const auto pa = producer.watermarks("cdc.marks", Partition{0}, 5s);
  CHECK((pa.low == a.low && pa.high == a.high));
  CHECK_THROWS_WITH(consumer.query_watermarks("cdc.marks", Partition{7}, 2s),
                    Catch::Contains("no watermarks for topic 'cdc.marks' partition 7"));
}
