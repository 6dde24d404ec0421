// SIGHUP: the daemon reloads its configuration without a restart, and keeps running on the old
// one when the new one is invalid.

#include <signal.h>

#include <fstream>
#include <map>

#include <catch2/catch.hpp>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace modsync;
using namespace std::chrono_literals;

TEST_CASE("SIGHUP applies a changed pair and rejects an invalid config", "[integration][reload]") {
  itest::CaptureHarness h;
  h.sql(
      "CREATE TABLE a (id int PRIMARY KEY, v text);"
      "CREATE TABLE b (id int PRIMARY KEY, v text);"
      "INSERT INTO b VALUES (1, 'before the reload')");
  h.write_config("tables: [a]\nsnapshot: initial");
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO a VALUES (1, 'x')");
  REQUIRE(h.consume("shop.public.a", 1).size() == 1);

  // An invalid file: the running pair goes on, and says why the new config was refused.
  std::ofstream(h.config_path()) << "daemon: { id: itest }\nkafka: {}\n";
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_output("the new configuration is invalid", 10s));
  h.sql("INSERT INTO a VALUES (2, 'y')");
  REQUIRE(h.consume("shop.public.a", 2).size() == 2);

  // Table b added: the pair restarts, snapshots b (its existing row) and streams it.
  h.write_config("tables: [a, b]\nsnapshot: initial");
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_output("1 restarted", 10s));
  REQUIRE(daemon.wait_for_output("snapshot of public.b read 1 rows", 20s));
  h.sql("INSERT INTO b VALUES (2, 'after the reload')");
  const auto events = h.consume("shop.public.b", 2);
  REQUIRE(events.size() == 2);
  std::map<std::string, std::string> op_by_key;  // keys land on different partitions: no order
  for (const auto& e : events) op_by_key[e.key()] = e.op();
  CHECK(op_by_key == std::map<std::string, std::string>{{"{\"id\":1}", "r"}, {"{\"id\":2}", "c"}});
  // And a's stream continued without a gap or a duplicate.
  h.sql("INSERT INTO a VALUES (3, 'z')");
  CHECK(h.consume("shop.public.a", 3).size() == 3);
  itest::CaptureHarness::stop_daemon(daemon);
  CHECK(h.consume("shop.public.a", 3, 2s).size() == 3);
}
