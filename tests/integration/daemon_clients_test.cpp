// The fixed cost of a pair: the pairs of one process share one Kafka producer client, and each
// pair's events are still confirmed to its own slot.

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/modsync_binary.hpp"

using namespace modsync;
using namespace std::chrono_literals;
using testing::eventually;

namespace {

/// Threads of `pid` named `name` (librdkafka names its own: rdk:main, rdk:broker…, rdk:bg).
size_t threads_named(pid_t pid, std::string_view name) {
  size_t n = 0;
  const auto dir = std::filesystem::path("/proc") / std::to_string(pid) / "task";
  for (const auto& task : std::filesystem::directory_iterator(dir)) {
    std::ifstream comm(task.path() / "comm");
    std::string got;
    std::getline(comm, got);
    n += got == name;
  }
  return n;
}

}  // namespace

TEST_CASE("three pairs in one process share one producer client and confirm their own events",
          "[integration][clients]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  const auto conf = h.dir() / "conf";
  std::filesystem::create_directories(conf);
  for (const std::string id : {"one", "two", "three"}) {
    std::ofstream(conf / (id + ".yaml")) << fmt::format(
        "daemon: {{ id: {}, state_dir: \"{}\" }}\n"
        "kafka: {{ brokers: \"{}\", topic_prefix: {} }}\n"
        "source: {{ module: shop, dsn: \"{}\", tables: [a], snapshot: never }}\n",
        id, (h.dir() / "state").string(), h.broker().bootstrap(), id, h.pg().dsn("shop"));
  }
  testing::ChildProcess daemon({testing::modsync_binary(), "run", "--config", conf.string()});
  INFO(daemon.describe());
  REQUIRE(h.wait_for_active_slots(3, 30s));
  h.sql("INSERT INTO a VALUES (1)");
  const std::string lsn = h.value("SELECT pg_current_wal_insert_lsn()::text");
  // Each pair sends its own copy of the change (the table topic is named after the module).
  CHECK(h.consume("shop.public.a", 3).size() == 3);
  for (const std::string id : {"one", "two", "three"}) {
    INFO(id);
    // Confirmed only once this pair's delivery report came back: the reports reach their owner.
    CHECK(eventually(
        [&] {
          return h.value(fmt::format("SELECT confirmed_flush_lsn >= '{}' FROM pg_replication_slots "
                                     "WHERE slot_name = 'modsync_{}'",
                                     lsn, id)) == "t";
        },
        20s));
  }
  // One librdkafka client (one main thread, one background thread) for the three captures;
  // each pair had a client of its own before.
  CHECK(threads_named(daemon.pid(), "rdk:main") == 1);
  CHECK(threads_named(daemon.pid(), "rdk:bg") == 1);
  itest::CaptureHarness::stop_daemon(daemon);
}
