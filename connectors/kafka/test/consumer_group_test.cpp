// Consumer groups against the dev broker (librdkafka 2.0.2's mock): what apply scale-out
// (docs/scaling.md) relies on. Two consumers of one group share a topic's partitions, a leaving
// one hands its partitions over, and the on_assigned hook sets where each partition starts.

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "modsync/kafka/consumer.hpp"
#include "modsync/kafka/dev_broker.hpp"
#include "modsync/kafka/producer.hpp"

using namespace modsync::kafka;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 6;

/// One group member: its assignment as the hooks saw it, every message it read, and whether a
/// revocation ever named more partitions than the ones that moved.
struct Member {
  std::set<int32_t> owned;
  std::vector<std::set<int32_t>> revocations;
  std::map<int32_t, std::vector<int64_t>> offsets_read;
  std::unique_ptr<Consumer> consumer;

  Member(const KafkaSettings& settings, const std::string& strategy,
         std::map<int32_t, int64_t>* start) {
    ConsumerOptions o;
    o.group_id = "sharers";
    o.session_timeout_ms = 6000;
    o.assignment_strategy = strategy;
    o.hooks.on_assigned = [this, start](std::vector<TopicPartitionOffset>& ps) {
      for (auto& p : ps) {
        owned.insert(p.partition.value);
        if (start) p.offset = Offset{(*start)[p.partition.value]};
      }
    };
    o.hooks.on_revoked = [this](const std::vector<TopicPartitionOffset>& ps) {
      std::set<int32_t> r;
      for (const auto& p : ps) {
        r.insert(p.partition.value);
        owned.erase(p.partition.value);
      }
      revocations.push_back(r);
    };
    consumer = std::make_unique<Consumer>(settings, std::move(o));
    consumer->subscribe({"shared"});
  }

  void poll() {
    std::vector<Message> batch;
    consumer->poll_batch(100, 50, batch);
    for (const auto& m : batch) offsets_read[m.partition().value].push_back(m.offset().value);
  }
};

/// Polls every member until `done` holds or `limit` passes.
template <typename F>
bool poll_until(std::vector<Member*> members, F done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto* m : members) m->poll();
    if (done()) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("two consumers of one group share a topic's partitions and hand them over",
          "[consumer][group]") {
  DevBroker broker({.topics = {"shared:" + std::to_string(kPartitions)}});
  const KafkaSettings settings{broker.bootstrap(), {}};
  Producer producer(settings, "writer", [](uint64_t, const DeliveryResult&) {});
  const Headers none;
  for (int i = 0; i < 600; ++i) {
    const std::string key = "k" + std::to_string(i);
    producer.produce("shared", key.data(), key.size(), "v", none, 0);
  }
  REQUIRE(producer.flush(10000));

  // Where each partition starts: the hook's offsets, as the apply pipeline sets the stored ones.
  std::map<int32_t, int64_t> start;
  for (int p = 0; p < kPartitions; ++p) start[p] = 3;

  const std::string strategy = GENERATE(as<std::string>{}, "cooperative-sticky", "range");
  INFO("partition.assignment.strategy " << strategy);
  Member a(settings, strategy, &start);
  REQUIRE(poll_until(
      {&a}, [&] { return a.owned.size() == kPartitions; }, 20s));

  Member b(settings, strategy, &start);
  const bool shared = poll_until(
      {&a, &b},
      [&] {
        return a.owned.size() + b.owned.size() == kPartitions && !a.owned.empty() &&
               !b.owned.empty();
      },
      30s);
  INFO("a owns " << a.owned.size() << ", b owns " << b.owned.size());
  REQUIRE(shared);
  for (int32_t p : a.owned) CHECK_FALSE(b.owned.count(p));
  if (strategy == "cooperative-sticky") {
    // Incremental: a gave up only what b took, never its whole assignment.
    REQUIRE(a.revocations.size() == 1);
    CHECK(a.revocations[0] == b.owned);
  } else {
    // Eager: every member gives up everything and is assigned again.
    REQUIRE(!a.revocations.empty());
    CHECK(a.revocations[0].size() == kPartitions);
  }
  // Every partition was read from the offset the hook set, by whoever owned it.
  REQUIRE(poll_until(
      {&a, &b},
      [&] {
        size_t n = 0;
        for (auto* m : {&a, &b})
          for (const auto& [p, offs] : m->offsets_read) n += offs.size();
        return n >= 600 - 3 * kPartitions;
      },
      20s));
  for (auto* m : {&a, &b}) {
    for (const auto& [p, offs] : m->offsets_read) {
      INFO("partition " << p);
      CHECK(offs.front() >= 3);
    }
  }

  // b leaves: a gets every partition back.
  b.consumer->close();
  REQUIRE(poll_until(
      {&a}, [&] { return a.owned.size() == kPartitions; }, 30s));
  a.consumer->close();
}

// librdkafka 2.0.2 aborted the process (assertion `assignor_state`, librdkafka#4312) when a
// cooperative-sticky member was closed or destroyed after its JoinGroup was answered and before
// its SyncGroup brought the first assignment: a replica stopped right after it (re)started. A
// 300 ms round trip on the broker holds that window open long enough to close inside it.
TEST_CASE("a cooperative member stopped between its join and its first assignment exits cleanly",
          "[consumer][group]") {
  DevBroker broker({.topics = {"shared:" + std::to_string(kPartitions)}});
  // Heartbeats every 300 ms, so members notice a rebalance soon (the default is 3 s).
  const KafkaSettings settings{broker.bootstrap(), {{"heartbeat.interval.ms", "300"}}};
  std::map<int32_t, int64_t> start;
  for (int p = 0; p < kPartitions; ++p) start[p] = 0;
  Member a(settings, "cooperative-sticky", &start);
  REQUIRE(poll_until(
      {&a}, [&] { return a.owned.size() == kPartitions; }, 20s));
  REQUIRE(broker.control("broker-rtt 1 300") == "ok");  // the dev broker's only broker

  // `stuck`: the SyncGroup's answer then takes 8 s, longer than the 5 s the close waits for it,
  // as when the group waits for a vanished member: the member leaves, and its client is kept.
  const auto [by_close, stuck] =
      GENERATE(table<bool, bool>({{true, false}, {true, true}, {false, true}}));
  INFO((by_close ? "stopped by close()" : "stopped by the destructor") << (stuck ? ", stuck" : ""));
  Member b(settings, "cooperative-sticky", &start);
  const bool joined = poll_until(
      {&a, &b},
      [&] { return b.owned.empty() && b.consumer->rebalance_protocol() == "COOPERATIVE"; }, 30s);
  REQUIRE(joined);
  REQUIRE(b.owned.empty());
  if (stuck) REQUIRE(broker.control("broker-rtt 1 8000") == "ok");
  const auto stop = std::chrono::steady_clock::now();
  if (by_close) {
    b.consumer->close();
  } else {
    b.consumer.reset();
  }
  // The stopping member's hooks stayed off: it claimed nothing and gave nothing back.
  INFO("stopped in "
       << std::chrono::duration<double>(std::chrono::steady_clock::now() - stop).count() << " s");
  CHECK(std::chrono::steady_clock::now() - stop < 10s);
  CHECK(b.owned.empty());
  CHECK(b.revocations.empty());

  REQUIRE(broker.control("broker-rtt 1 0") == "ok");
  REQUIRE(poll_until(
      {&a}, [&] { return a.owned.size() == kPartitions; }, 30s));
  a.consumer->close();
}
