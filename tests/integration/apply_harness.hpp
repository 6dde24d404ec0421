#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "modsync/testing/child_process.hpp"
#include "modsync/testing/dev_broker_process.hpp"
#include "modsync/testing/kcat.hpp"
#include "modsync/testing/pg_cluster.hpp"
#include "modsync/testing/temp_dir.hpp"

namespace modsync::itest {

/// One PostgreSQL 15 cluster with a source database "shop" (module shop) and a subscriber
/// database "ship" (module ship), the dev broker as a separate process, and config files in a
/// TempDir. The apply tests run the real `modsync` binary on them and compare the subscriber's
/// tables with what the source and the projection imply. One per test; not thread-safe; every
/// call blocks.
class ApplyHarness {
 public:
  explicit ApplyHarness(testing::DevBrokerProcess::Options broker = {});

  testing::PgCluster& pg() { return pg_; }
  testing::DevBrokerProcess& broker() { return *broker_; }
  const testing::TempDir& dir() const { return dir_; }

  void src(const std::string& sql) { pg_.exec("shop", sql); }
  void sub(const std::string& sql) { pg_.exec("ship", sql); }
  std::string src_value(const std::string& q) { return pg_.query_value("shop", q); }
  std::string sub_value(const std::string& q) { return pg_.query_value("ship", q); }

  /// Writes `<id>.yaml`: `source` lines go under `source:` (module shop and its dsn are added;
  /// "" = no source), `projections` is the YAML list under `sink.projections` ("" = no sink).
  /// `sink_extra` lines go under `sink:` (e.g. "batch_rows: 100"), `kafka_extra` lines under
  /// `kafka:` (e.g. "envelope: schema_payload").
  std::filesystem::path write_config(const std::string& id, const std::string& source,
                                     const std::string& projections,
                                     const std::string& sink_extra = "",
                                     const std::string& kafka_extra = "");

  /// `modsync run --config <path>`; waits until every string in `wait_for` appeared on its
  /// output (default: nothing), throwing with the daemon's output if one does not in time.
  testing::ChildProcess start(const std::filesystem::path& config,
                              const std::vector<std::string>& wait_for = {},
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// SIGTERM; requires a clean exit 0.
  static void stop(testing::ChildProcess& daemon);

  /// The tables of the tests that kill or move apply mid-stream, in shop and ship: items (id
  /// key, qty) and log (at, what), the latter append-only in ship without position columns on
  /// purpose, so an event applied twice shows as two rows. Returns the capture-only config
  /// "cap" of both (snapshot: never).
  std::filesystem::path create_items_and_log();

  /// pgbench running `script` on shop with 2 clients at `rate` transactions/s for `seconds`
  /// (the load of the tests that kill or move apply mid-stream); wait() for its exit status.
  testing::ChildProcess pgbench(const std::filesystem::path& script, int seconds, int rate);

  /// True once `src_query` on shop and `sub_query` on ship return the same rows (text form),
  /// within `timeout`. On false, last_difference() shows both sides.
  bool converges(const std::string& src_query, const std::string& sub_query,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  const std::string& last_difference() const { return last_difference_; }

  /// A query pair that must converge: `src_query` on shop, `sub_query` on ship.
  struct Same {
    std::string name, src_query, sub_query;
  };
  /// CHECKs (Catch) that each of `checks` converges within `timeout`; a failure shows its name,
  /// the difference and `context` (e.g. the daemons' output).
  void check_converge(const std::vector<Same>& checks, const std::string& context,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// True once the subscriber's modsync.offsets record `events` consumed events of `topic`
  /// (the sum of next offsets over its partitions: every event, applied or skipped, counts),
  /// within `timeout`. The marker of quiescence when a test asserts that events had no effect.
  bool consumed(const std::string& topic, int64_t events,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));
  int64_t consumed_now(const std::string& topic);

  /// The dead-letter topic of daemon `id` read with kcat until `expected` records (or timeout).
  std::vector<testing::KcatMessage> dead_letters(
      const std::string& id, size_t expected,
      std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  testing::TempDir dir_;
  testing::PgCluster pg_;
  std::optional<testing::DevBrokerProcess> broker_;
  std::string last_difference_;
};

/// The value of header `name` of `m`; nullopt when absent.
std::optional<std::string> header(const testing::KcatMessage& m, const std::string& name);

/// Everything `p` printed, stdout then stderr.
std::string output(const testing::ChildProcess& p);

/// Runs `daemon` in slices of 10 ms, frozen (SIGSTOP) while kcat counts `topic`, until the topic
/// holds at least `at_least` events, then SIGKILLs it. Returns the count seen last (below
/// `at_least` when it never got there within 400 slices).
size_t kill_once_topic_holds(ApplyHarness& h, testing::ChildProcess& daemon,
                             const std::string& topic, size_t at_least);

/// Rows as text, one per line, NULL as "∅", for comparisons and failure messages.
std::string rows_text(const testing::PgRows& rows);

}  // namespace modsync::itest
