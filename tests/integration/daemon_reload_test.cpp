// SIGHUP: the daemon reloads its configuration without a restart, and keeps running on the old
// one when the new one is invalid; log settings apply at once; a removed pair's slot is named.

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/modsync_binary.hpp"

using namespace modsync;
using namespace std::chrono_literals;
using Catch::Contains;
using testing::eventually;

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

TEST_CASE("SIGHUP applies log settings, and names and counts a removed pair's slot",
          "[integration][reload]") {
  itest::CaptureHarness h;
  h.sql("CREATE TABLE a (id int PRIMARY KEY)");
  const auto conf = h.dir() / "conf";
  std::filesystem::create_directories(conf);
  const int port = testing::free_port();
  auto pair_file = [&](const std::string& id, const std::string& log) {
    std::ofstream(conf / (id + ".yaml")) << fmt::format(
        "daemon: {{ id: {}, state_dir: \"{}\", http: {{ listen: \"127.0.0.1:{}\" }}, log: {} }}\n"
        "kafka: {{ brokers: \"{}\" }}\n"
        "source: {{ module: shop, dsn: \"{}\", tables: [a], snapshot: never }}\n",
        id, (h.dir() / "state").string(), port, log, h.broker().bootstrap(), h.pg().dsn("shop"));
  };
  pair_file("first", "{ level: info, format: logfmt }");
  pair_file("second", "{ level: info, format: logfmt }");
  testing::ChildProcess daemon({testing::modsync_binary(), "run", "--config", conf.string()});
  INFO(daemon.describe());
  REQUIRE(h.wait_for_active_slots(2, 30s));
  auto leftover_metric = [&] {
    const auto r = testing::run_command(
        {"curl", "-s", fmt::format("http://127.0.0.1:{}/metrics", port)}, {}, 10s);
    const auto at = r.out.find("\nmodsync_leftover_slots ");
    return at == std::string::npos ? std::string("?") : r.out.substr(at + 24, 1);
  };
  CHECK(leftover_metric() == "0");

  // The second pair goes, and the first one now logs JSON, warnings and errors only.
  std::filesystem::remove(conf / "second.yaml");
  pair_file("first", "{ level: warn, format: json }");
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_output("{\"ts\":", 10s));
  REQUIRE(eventually([&] { return leftover_metric() == "1"; }, 10s));
  const std::string err = daemon.stderr_text();
  const std::string json = err.substr(err.find("{\"ts\":"));
  CHECK_THAT(json, Contains("\"level\":\"warn\",\"msg\":\"SIGHUP: pair second was removed, but its "
                            "replication slot modsync_second stays on source shop"));
  CHECK_THAT(json, Contains("modsync slots drop --config " + conf.string() + " modsync_second"));
  CHECK_THAT(json, !Contains("\"level\":\"info\""));  // the new level applies at once
  CHECK_THAT(err, !Contains("configuration reloaded"));
  CHECK(leftover_metric() == "1");
  CHECK(h.value("SELECT active::text FROM pg_replication_slots WHERE slot_name = "
                "'modsync_second'") == "false");

  // Dropped as the warning says: the daemon notices, and the count goes back to 0.
  const auto drop = testing::run_command({testing::modsync_binary(), "slots", "drop", "--config",
                                          conf.string(), "modsync_second", "--yes"},
                                         {}, 30s);
  // `slots drop` takes the config's slots; modsync_* slots of its databases too.
  INFO(drop.out << drop.err);
  REQUIRE(drop.status == 0);
  REQUIRE(eventually([&] { return leftover_metric() == "0"; }, 30s));
  itest::CaptureHarness::stop_daemon(daemon);
}
