// Crash and clean-stop restarts: nothing lost, and re-sent events keep their ids.

#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "capture_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using modsync::itest::CaptureHarness;
using modsync::itest::Event;
using modsync::itest::to_json;

namespace {

/// Identity of a source change independent of the Kafka copy: the same row change re-sent after
/// a crash has the same (key, op, position).
std::string change_identity(const Event& e) {
  return e.key() + " " + e.op() + " " + e.position();
}

}  // namespace

TEST_CASE("SIGKILL mid-stream loses nothing and re-sent events keep their event ids",
          "[integration][restart]") {
  CaptureHarness h;
  h.sql("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)");
  h.write_config("tables: [t]\nsnapshot: never");
  auto daemon = h.start_daemon();

  constexpr int kTransactions = 20;
  constexpr int kRowsPerTransaction = 1000;
  for (int tx = 0; tx < kTransactions; ++tx) {
    const int first = tx * kRowsPerTransaction + 1;
    h.sql(fmt::format("INSERT INTO t SELECT g, 0 FROM generate_series({}, {}) g", first,
                      first + kRowsPerTransaction - 1));
    // Every 100th row of this batch changes again in its own transaction.
    h.sql(fmt::format("UPDATE t SET v = 1 WHERE id BETWEEN {} AND {} AND id % 100 = 0", first,
                      first + kRowsPerTransaction - 1));
    if (tx == 6 || tx == 13) {
      // Kill while events are in flight: wait until this batch is being produced, not after.
      std::this_thread::sleep_for(20ms);
      daemon.kill();
      // Killed while running: SIGKILL ended it (128 + 9), not an earlier exit of its own.
      const std::optional<int> status = daemon.wait(5s);
      INFO(daemon.describe());
      REQUIRE(status == std::optional<int>(128 + SIGKILL));
      daemon = h.start_daemon();
    }
  }
  constexpr size_t kChanges = kTransactions * (kRowsPerTransaction + kRowsPerTransaction / 100);
  // Duplicates count towards kcat's target, so wait for every distinct change, not a count.
  std::vector<Event> events;
  const bool all_changes_seen = modsync::testing::eventually(
      [&] {
        events = h.consume("shop.public.t", kChanges, 10s);
        std::set<std::string> distinct;
        for (const auto& e : events) distinct.insert(change_identity(e));
        return distinct.size() >= kChanges;
      },
      60s, 200ms);
  INFO(daemon.describe());
  CHECK(all_changes_seen);
  CHECK(events.size() >= kChanges);

  std::map<std::string, std::string> id_of;     // change identity → event id
  std::map<std::string, std::string> value_of;  // event id → after image
  std::set<int> created, updated;
  size_t conflicts = 0;
  for (const auto& e : events) {
    const auto [it, fresh] = id_of.emplace(change_identity(e), e.event_id());
    if (!fresh && it->second != e.event_id()) ++conflicts;
    const std::string after = to_json(e.value["after"]);
    const auto [vit, vfresh] = value_of.emplace(e.event_id(), after);
    if (!vfresh && vit->second != after) ++conflicts;
    const int id = e.value["after"]["id"].GetInt();
    (e.op() == "c" ? created : updated).insert(id);
  }
  CHECK(conflicts == 0);
  // Name the lost rows as ranges, so a failure shows where in the workload they were.
  std::string missing;
  for (int id = 1, from = 0; id <= kTransactions * kRowsPerTransaction + 1; ++id) {
    const bool lost = id <= kTransactions * kRowsPerTransaction && !created.count(id);
    if (lost && from == 0) from = id;
    if (!lost && from != 0) {
      missing += fmt::format(" {}-{}", from, id - 1);
      from = 0;
    }
  }
  INFO("inserted rows missing on Kafka:" << missing);
  CHECK(created.size() == kTransactions * kRowsPerTransaction);
  CHECK(updated.size() == kTransactions * kRowsPerTransaction / 100);
  CHECK(*created.begin() == 1);
  CHECK(*created.rbegin() == kTransactions * kRowsPerTransaction);
  CHECK(id_of.size() == kChanges);
  WARN(fmt::format("{} events for {} changes: {} re-sent after the crashes", events.size(),
                   kChanges, events.size() - kChanges));
  CaptureHarness::stop_daemon(daemon);
}

TEST_CASE("a SIGTERM stop and restart re-sends nothing", "[integration][restart]") {
  CaptureHarness h;
  h.sql("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)");
  h.write_config("tables: [t]\nsnapshot: never\nheartbeat_interval: 1s");
  auto daemon = h.start_daemon();
  h.sql("INSERT INTO t SELECT g, 0 FROM generate_series(1, 500) g");
  h.sql("UPDATE t SET v = 1 WHERE id <= 10");
  REQUIRE(h.consume("shop.public.t", 510).size() == 510);
  CaptureHarness::stop_daemon(daemon);
  // While it is stopped, more changes accumulate in the slot.
  h.sql("INSERT INTO t SELECT g, 0 FROM generate_series(501, 700) g");
  daemon = h.start_daemon();
  h.sql("DELETE FROM t WHERE id > 690");
  CaptureHarness::stop_daemon(daemon);
  daemon = h.start_daemon();
  h.sql("INSERT INTO t VALUES (1000, 0)");

  // 721 events and the tombstones of the 10 deletes.
  auto events = h.consume("shop.public.t", 731);
  INFO(daemon.describe());
  // Give a duplicate, if any, time to show up before the final count.
  std::this_thread::sleep_for(1s);
  events = h.consume("shop.public.t", 732, 3s);
  CHECK(events.size() == 731);
  modsync::itest::check_tombstones(events, modsync::itest::take_tombstones(events));
  CHECK(events.size() == 721);
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e.event_id());
  CHECK(ids.size() == events.size());
  CaptureHarness::stop_daemon(daemon);
}
