// Partition-parallel apply (sink.workers): one daemon applies each projection over several
// sink connections, the topic's partitions spread over them, each worker's transactions
// committing its own partitions' offsets. Under a generated workload with a truncate, a SIGKILL
// mid-load and a restart with fewer workers, the projections equal the filtered source and the
// append-only one holds every change exactly once. With sink.group, each worker is a member of
// the consumer group.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/child_process.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;
using modsync::testing::ChildProcess;

namespace {

constexpr int kPartitions = 6;
/// log as a multiset: a row applied twice changes the count and the digest.
constexpr const char* kLogDigest =
    "SELECT count(*), md5(string_agg(at || what, ',' ORDER BY at, what)) FROM log";

/// The names of the daemon's threads (/proc/<pid>/task/*/comm).
std::set<std::string> thread_names(const ChildProcess& daemon) {
  std::set<std::string> names;
  const auto tasks = std::filesystem::path("/proc") / std::to_string(daemon.pid()) / "task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    names.insert(name);
  }
  return names;
}

/// The changes pgbench makes: items counting up (rows leave and re-enter the filter), one log
/// row per transaction, deletes.
std::filesystem::path write_changes(ApplyHarness& h) {
  const auto script = h.dir().path() / "changes.sql";
  std::ofstream(script) << "\\set id random(1, 500)\n"
                           "INSERT INTO items VALUES (:id, 1) ON CONFLICT (id) DO UPDATE SET qty "
                           "= items.qty + 1;\n"
                           "INSERT INTO log VALUES (:id, 'x');\n"
                           "DELETE FROM items WHERE id = :id + 1 AND qty > 5;\n";
  return script;
}

const char* const kProjections =
    "- from: shop.public.items\n  to: items\n  where: \"qty <> 3 AND qty <> 7\"\n"
    "- from: shop.public.log\n  to: log";

/// items equals its filtered source, and log holds each change once.
void expect_equal_to_source(ApplyHarness& h, const std::string& context) {
  h.check_converge({{"items", "SELECT id, qty FROM items WHERE qty <> 3 AND qty <> 7 ORDER BY id",
                     "SELECT id, qty FROM items ORDER BY id"},
                    {"log", kLogDigest, kLogDigest}},
                   context);
}

}  // namespace

TEST_CASE(
    "three workers apply a projection of a six-partition topic, through a truncate, a SIGKILL "
    "mid-load and a restart with two workers, and every change lands once",
    "[integration][apply][workers]") {
  ApplyHarness h(
      {.topics = {{"shop.public.items", kPartitions}, {"shop.public.log", kPartitions}}});
  const auto capture = h.create_items_and_log();
  const std::string projections = kProjections;
  const auto sink = h.write_config("wrk", "", projections, "batch_rows: 100\nworkers: 3");

  auto cap = h.start(capture, {"streaming from slot"});
  auto daemon = h.start(sink, {"applying into public.items (6 partitions, worker 2 of 3: "
                               "partitions 2,5)",
                               "applying into public.log (6 partitions, worker 0 of 3: "
                               "partitions 0,3)"});
  {
    // The workers' threads start once every worker's consumer has: just after those lines.
    std::set<std::string> names;
    const bool named = modsync::testing::eventually(
        [&] {
          names = thread_names(daemon);
          return names.count("apply-w2") && names.count("apply-w2-merge");
        },
        10s);
    INFO(fmt::format("threads: {}", fmt::join(names, " ")));
    CHECK(named);
  }

  const auto script = write_changes(h);
  const auto pgbench = [&](int seconds) { return h.pgbench(script, seconds, 400); };
  {
    INFO("a truncate on one partition while the other workers apply rows of the others");
    auto bench = pgbench(6);
    std::this_thread::sleep_for(2s);
    h.src("TRUNCATE items");
    REQUIRE(bench.wait(60s) == 0);
    expect_equal_to_source(h, daemon.describe());
  }
  {
    INFO("the daemon is SIGKILLed mid-load and started again with the same three workers");
    auto bench = pgbench(10);
    std::this_thread::sleep_for(3s);
    REQUIRE(h.sub_value("SELECT count(*) > 0 FROM log") == "t");
    daemon.kill();
    REQUIRE(daemon.wait(5s).has_value());
    std::this_thread::sleep_for(1s);
    daemon = h.start(sink, {"applying into public.items", "applying into public.log"});
    REQUIRE(bench.wait(60s) == 0);
    expect_equal_to_source(h, daemon.describe());
  }
  {
    INFO("stopped mid-load, started with two workers: partitions change hands between workers");
    auto bench = pgbench(8);
    std::this_thread::sleep_for(2s);
    ApplyHarness::stop(daemon);
    h.write_config("wrk", "", projections, "batch_rows: 100\nworkers: 2");
    daemon = h.start(sink, {"applying into public.items (6 partitions, worker 1 of 2: "
                            "partitions 1,3,5)"});
    REQUIRE(bench.wait(60s) == 0);
    expect_equal_to_source(h, daemon.describe());
  }
  // Every partition was claimed and committed; the offsets cover every event of both topics.
  CHECK(h.sub_value("SELECT count(*) FROM modsync.offsets WHERE projection LIKE 'wrk/%'") ==
        std::to_string(2 * kPartitions));
  CHECK(h.src_value("SELECT count(*) > 2000 FROM log") == "t");
  ApplyHarness::stop(daemon);
  ApplyHarness::stop(cap);
}

TEST_CASE(
    "with sink.group, each of a daemon's workers is a member of the consumer group: a SIGKILL "
    "mid-load and a restart, and every change lands once",
    "[integration][apply][workers][group]") {
  ApplyHarness h(
      {.topics = {{"shop.public.items", kPartitions}, {"shop.public.log", kPartitions}}});
  const auto capture = h.create_items_and_log();
  const auto sink = h.write_config("grw", "", kProjections, "batch_rows: 100\ngroup: fleet\nworkers: 3",
                                   "properties: { session.timeout.ms: 6000 }");
  auto cap = h.start(capture, {"streaming from slot"});
  auto daemon = h.start(sink, {"consumer group fleet.public.items, worker 2 of 3)",
                               "consumer group fleet.public.log, worker 2 of 3)"});
  // Every partition of both projections claimed by one of the members.
  const bool claimed = modsync::testing::eventually(
      [&] { return h.sub_value("SELECT count(*) FROM modsync.partition_claims") == "12"; }, 40s,
      200ms);
  INFO(daemon.describe());
  REQUIRE(claimed);

  const auto script = write_changes(h);
  {
    INFO("the daemon is SIGKILLed mid-load: its new members wait out the old ones' sessions");
    auto bench = h.pgbench(script, 10, 400);
    std::this_thread::sleep_for(3s);
    REQUIRE(h.sub_value("SELECT count(*) > 0 FROM log") == "t");
    daemon.kill();
    REQUIRE(daemon.wait(5s).has_value());
    daemon = h.start(sink, {"applying into public.items", "applying into public.log"});
    REQUIRE(bench.wait(60s) == 0);
    expect_equal_to_source(h, daemon.describe());
  }
  CHECK(h.src_value("SELECT count(*) > 1000 FROM log") == "t");
  ApplyHarness::stop(daemon);  // three members per projection leave the group: no hang
  ApplyHarness::stop(cap);
}
