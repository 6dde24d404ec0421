// The operator subcommands (status, slots, checkpoint) against a real cluster, dev broker and
// daemon: what they print while the daemon runs and after it stopped, and their exit codes.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "capture_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/eventually.hpp"
#include "modsync/testing/modsync_binary.hpp"
#include "modsync/testing/pg_cluster.hpp"
#include "modsync/testing/temp_dir.hpp"

using namespace std::chrono_literals;
using Catch::Contains;
using modsync::itest::CaptureHarness;
using modsync::testing::ChildProcess;
using modsync::testing::CommandResult;
using modsync::testing::eventually;

namespace {

/// Runs `modsync ARGS...` to completion (stdin is /dev/null, i.e. closed for reading).
CommandResult modsync_cli(std::vector<std::string> args) {
  args.insert(args.begin(), modsync::testing::modsync_binary());
  return modsync::testing::run_command(std::move(args), {}, 60s);
}

std::string describe(const CommandResult& r) {
  return "exit " + std::to_string(r.status) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

std::string slot_value(CaptureHarness& h, const std::string& column) {
  return h.value("SELECT " + column +
                 "::text FROM pg_replication_slots WHERE slot_name = 'modsync_itest'");
}

}  // namespace

TEST_CASE("status, slots and checkpoint show follow the daemon from running to stopped",
          "[integration][cli]") {
  CaptureHarness h;
  h.sql(
      "CREATE TABLE items (id int PRIMARY KEY, name text);"
      "INSERT INTO items VALUES (1, 'a'), (2, 'b')");
  h.write_config("tables: [items]");
  const std::string url = h.enable_http();
  const std::string config = h.config_path().string();

  auto daemon = h.start_daemon();
  h.sql("INSERT INTO items VALUES (3, 'c')");
  REQUIRE(h.consume("shop.public.items", 3).size() == 3);

  {
    const auto json = modsync_cli({"status", "--config", config, "--json"});
    INFO(describe(json));
    CHECK(json.status == 0);
    CHECK_THAT(json.out, Contains("\"pair\":\"itest\""));
    CHECK_THAT(json.out, Contains("\"state\":\"streaming\""));

    const auto table = modsync_cli({"status", "--config", config});
    INFO(describe(table));
    CHECK(table.status == 0);
    CHECK_THAT(table.out, Contains("daemon: running, status from " + url + "/status"));
    CHECK_THAT(table.out, Contains("capture shop"));
    CHECK_THAT(table.out, Contains("streaming"));

    // A pair the daemon does not run is shown from its (absent) checkpoints and slot.
    const auto both = h.dir() / "both";
    std::filesystem::create_directories(both);
    std::filesystem::copy_file(h.config_path(), both / "itest.yaml");
    std::ofstream(both / "other.yaml")
        << "daemon:\n  id: other\n  state_dir: \"" << (h.dir() / "state").string()
        << "\"\nkafka:\n  brokers: 127.0.0.1:1\nsource:\n  module: shop\n  dsn: \""
        << h.pg().dsn("shop") << "\"\n  tables: [items]\n";
    const auto mixed = modsync_cli({"status", "--config", both.string()});
    INFO(describe(mixed));
    CHECK(mixed.status == 0);
    CHECK_THAT(mixed.out, Contains("capture shop"));
    CHECK_THAT(mixed.out, Contains("pair other: not run by the daemon at " + url));
    CHECK_THAT(mixed.out, Contains("slot modsync_other: does not exist"));

    const auto show = modsync_cli({"checkpoint", "show", "--config", config});
    INFO(describe(show));
    CHECK(show.status == 1);
    CHECK_THAT(show.err, Contains("is in use by another modsync process"));
    CHECK_THAT(show.err, Contains("Fix: use `modsync status --config " + config));

    const std::string walsender = slot_value(h, "active_pid");
    const auto drop = modsync_cli({"slots", "drop", "--config", config, "modsync_itest", "--yes"});
    INFO(describe(drop));
    CHECK(drop.status == 1);
    CHECK_THAT(drop.err, Contains("slot modsync_itest is active: pid " + walsender));
    CHECK_THAT(drop.err, Contains("Fix: stop that process first"));
  }

  CaptureHarness::stop_daemon(daemon);
  REQUIRE(eventually([&] { return slot_value(h, "active") == "false"; }, 10s));
  const std::string confirmed = slot_value(h, "confirmed_flush_lsn");

  {
    const auto status = modsync_cli({"status", "--config", config});
    INFO(describe(status));
    CHECK(status.status == 0);
    CHECK_THAT(status.out, Contains("daemon: not answering at " + url));
    CHECK_THAT(status.out, Contains("confirmed LSN " + confirmed + ","));
    CHECK_THAT(status.out, Contains("snapshot public.items: done, 2 rows"));
    CHECK_THAT(status.out, Contains("schema public.items: version 1"));
    CHECK_THAT(status.out,
               Contains("slot modsync_itest: inactive, confirmed_flush_lsn " + confirmed));

    const auto json = modsync_cli({"status", "--config", config, "--json"});
    INFO(describe(json));
    CHECK(json.status == 3);
    CHECK_THAT(json.err, Contains("drop --json to read the checkpoints"));

    const auto show = modsync_cli({"checkpoint", "show", "--config", config});
    INFO(describe(show));
    CHECK(show.status == 0);
    CHECK_THAT(show.out, Contains("source: acked"));
    CHECK_THAT(show.out, Contains("confirmed " + confirmed + " updated"));
  }

  h.sql("SELECT pg_create_logical_replication_slot('modsync_leftover', 'pgoutput')");
  {
    const auto list = modsync_cli({"slots", "list", "--config", config});
    INFO(describe(list));
    CHECK(list.status == 0);
    CHECK_THAT(list.out, Contains("modsync_itest"));
    CHECK_THAT(list.out, Contains("pgoutput"));
    CHECK_THAT(list.out, Contains(confirmed));
    CHECK_THAT(list.out, Contains("configured (source.slot)"));
    CHECK_THAT(list.out, Contains("not configured: a leftover? `modsync slots drop --config " +
                                  config + " modsync_leftover`"));
  }

  {
    ChildProcess reader({"/usr/lib/postgresql/15/bin/pg_recvlogical", "-d", h.pg().dsn("shop"),
                         "-S", "modsync_itest", "--start", "-o", "proto_version=1", "-o",
                         "publication_names=modsync_itest", "-f", "/dev/null"});
    REQUIRE(eventually([&] { return slot_value(h, "active") == "true"; }, 10s));
    const std::string walsender = slot_value(h, "active_pid");
    const auto drop = modsync_cli({"slots", "drop", "--config", config, "modsync_itest", "--yes"});
    INFO(describe(drop));
    CHECK(drop.status == 1);
    CHECK_THAT(drop.err, Contains("slot modsync_itest is active: pid " + walsender));
    reader.kill();
    REQUIRE(eventually([&] { return slot_value(h, "active") == "false"; }, 10s));
  }

  {
    // stdin is closed: no confirmation can be given, so nothing is dropped.
    const auto unconfirmed = modsync_cli({"slots", "drop", "--config", config, "modsync_itest"});
    INFO(describe(unconfirmed));
    CHECK(unconfirmed.status == 2);
    CHECK_THAT(unconfirmed.err, Contains("Fix: pass --yes"));
    CHECK(slot_value(h, "slot_name") == "modsync_itest");

    const auto drop = modsync_cli({"slots", "drop", "--config", config, "modsync_itest", "--yes"});
    INFO(describe(drop));
    CHECK(drop.status == 0);
    CHECK_THAT(drop.out, Contains("dropped replication slot modsync_itest in database shop"));
    CHECK_THAT(drop.out, Contains("snapshots every table again"));
    CHECK_THAT(drop.out, Contains("Changes committed between " + confirmed));
    CHECK(h.value("SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                  "'modsync_itest'") == "0");

    const auto foreign = modsync_cli({"slots", "drop", "--config", config, "someone_elses"});
    INFO(describe(foreign));
    CHECK(foreign.status == 1);
    CHECK_THAT(foreign.err, Contains("slot someone_elses is neither configured"));
  }

  h.pg().stop();
  {
    const auto status = modsync_cli({"status", "--config", config});
    INFO(describe(status));
    CHECK(status.status == 1);
    CHECK_THAT(status.out, Contains("confirmed LSN " + confirmed));  // the checkpoints still read
    CHECK_THAT(status.out, Contains("source unreachable"));
    CHECK_THAT(status.err, Contains("cannot connect to PostgreSQL"));
    CHECK_THAT(status.err, Contains("Fix:"));

    const auto list = modsync_cli({"slots", "list", "--config", config});
    INFO(describe(list));
    CHECK(list.status == 1);
    CHECK_THAT(list.err, Contains("cannot connect to PostgreSQL"));
  }
}

TEST_CASE("the operator commands exit 2 on a bad config and name the fix", "[integration][cli]") {
  modsync::testing::TempDir dir("modsync-cli");
  const std::string config = (dir.path() / "bad.yaml").string();
  std::ofstream(config) << "daemon:\n  id: Bad Id\nkafka:\n  brokers: localhost:9092\n";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"status", "--config", config},
           {"slots", "list", "--config", config},
           {"slots", "drop", "--config", config, "modsync_x", "--yes"},
           {"checkpoint", "show", "--config", config}}) {
    const auto r = modsync_cli(args);
    INFO(args.front() + ": " + describe(r));
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("daemon.id"));
    CHECK_THAT(r.err, Contains("`modsync validate " + config + "` checks it"));
  }
}

TEST_CASE("status without a daemon, checkpoints or source says so", "[integration][cli]") {
  modsync::testing::TempDir dir("modsync-cli");
  const std::string config = (dir.path() / "itest.yaml").string();
  const int port = modsync::testing::free_port();
  std::ofstream(config) << "daemon:\n  id: itest\n  state_dir: \""
                        << (dir.path() / "state").string()
                        << "\"\n  http: { listen: \"127.0.0.1:" << port << "\" }\n"
                        << "kafka:\n  brokers: 127.0.0.1:1\nsource:\n  module: shop\n"
                        << "  dsn: \"host=127.0.0.1 port=" << port
                        << " dbname=shop user=postgres\"\n  tables: [items]\n";
  const auto r = modsync_cli({"status", "--config", config});
  INFO(describe(r));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("daemon: not answering at http://127.0.0.1:" + std::to_string(port)));
  CHECK_THAT(r.out, Contains("checkpoints: none"));
  CHECK_THAT(r.out, Contains("source unreachable"));
  CHECK_THAT(r.err, Contains("cannot connect to PostgreSQL"));
  // Looking must not create the state directory.
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));
}

TEST_CASE("status shows a running snapshot's rows read per table against the estimate",
          "[integration][cli]") {
  CaptureHarness h(CaptureHarness::Options{.start_broker = false});
  h.start_broker({.control = true});
  h.sql(
      "CREATE TABLE big (id int PRIMARY KEY, pad text);"
      "INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 40000) g;"
      "ANALYZE big");
  h.write_config("tables: [big]\nsnapshot_chunk_rows: 1000");
  {
    // A 1 MiB producer queue and a broker answering after 500 ms: the snapshot reads about as
    // fast as Kafka acknowledges, a few thousand rows a second, for the test to look at.
    std::ifstream in(h.config_path());
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    config.replace(config.find("kafka:\n"), 7, "kafka:\n  memory: { producer_queue: 1MiB }\n");
    std::ofstream(h.config_path()) << config;
  }
  h.enable_http();
  const std::string config = h.config_path().string();
  REQUIRE(h.broker().control("broker-rtt 1 500") == "ok");
  auto daemon = h.start_daemon(false);
  REQUIRE(daemon.wait_for_output("snapshot of public.big from row 0", 30s));

  std::string seen;
  const bool mid = eventually(
      [&] {
        const auto table = modsync_cli({"status", "--config", config});
        const auto at = table.out.find("  snapshot public.big: ");
        if (at == std::string::npos) return false;
        seen = table.out.substr(at, table.out.find('\n', at) - at);
        // "  snapshot public.big: N of ~40000 rows (P%)" with 0 < N < 40000.
        const long rows = std::stol(seen.substr(seen.find(": ") + 2));
        return rows > 0 && rows < 40000;
      },
      30s);
  INFO(seen << "\n" << daemon.describe());
  REQUIRE(mid);
  CHECK_THAT(seen, Contains(" of ~40000 rows ("));
  const auto json = modsync_cli({"status", "--config", config, "--json"});
  CHECK_THAT(json.out, Contains(R"("snapshot_tables":[{"table":"public.big","rows":)"));
  CHECK_THAT(json.out, Contains(R"("rows_estimated":40000,"done":false}])"));

  REQUIRE(h.broker().control("broker-rtt 1 0") == "ok");
  REQUIRE(daemon.wait_for_output("snapshot of public.big read 40000 rows", 60s));
  const auto after = modsync_cli({"status", "--config", config});
  INFO(describe(after));
  CHECK_THAT(after.out, !Contains("snapshot public.big:"));  // done: only --json lists it
  CHECK_THAT(modsync_cli({"status", "--config", config, "--json"}).out,
             Contains(R"({"table":"public.big","rows":40000,"rows_estimated":40000,"done":true})"));
  CaptureHarness::stop_daemon(daemon);
}
