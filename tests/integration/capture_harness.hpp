#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "modsync/testing/child_process.hpp"
#include "modsync/testing/dev_broker_process.hpp"
#include "modsync/testing/kcat.hpp"
#include "modsync/testing/pg_cluster.hpp"
#include "modsync/testing/temp_dir.hpp"

namespace modsync::itest {

/// One change event as kcat read it, with its value parsed.
struct Event {
  testing::KcatMessage message;
  rapidjson::Document value;

  /// The header's value; "" when absent.
  std::string header(std::string_view name) const;
  /// value[field] as a string; "" when absent or not a string.
  std::string str(std::string_view field) const;
  std::string op() const { return str("op"); }
  /// value.source[field] as a string ("" when absent or not a string).
  std::string source_str(std::string_view field) const;
  const rapidjson::Value& source() const { return value["source"]; }
  std::string position() const { return source_str("position"); }
  std::string event_id() const { return header("ce_id"); }
  std::string key() const { return message.key.value_or("<null>"); }
  /// A null value with the key of a deleted row (Debezium's tombstone); `value` is null.
  bool tombstone() const { return message.null_value; }
};

/// Compact JSON of a value, with keys in document order (for messages and equality checks).
std::string to_json(const rapidjson::Value& v);
/// True when `actual` equals the JSON text `expected` as JSON values (whitespace and number
/// spelling aside).
bool json_equals(const rapidjson::Value& actual, std::string_view expected);
/// "16/B374D848" → 0x16B374D848.
uint64_t parse_lsn(std::string_view text);
/// Events parsed from kcat's records; throws when a value is neither JSON nor null.
std::vector<Event> parse_events(std::vector<testing::KcatMessage> messages);
/// Sorted by event id: commit order for streamed changes (docs/events.md, "Event ids").
void sort_by_event_id(std::vector<Event>& events);
/// Removes the tombstones from `events` and returns them, in the order they were.
std::vector<Event> take_tombstones(std::vector<Event>& events);
/// Checks that each delete event in `events` has its tombstone in `tombstones`: same key, same
/// partition, the next offset (the capture produces it right after the delete).
void check_tombstones(const std::vector<Event>& events, const std::vector<Event>& tombstones);

/// A PostgreSQL 15 cluster with a source database "shop", the dev broker, a state directory and
/// a config file for one capture pair (daemon id "itest", module "shop"). One per test; every
/// call blocks. Not thread-safe.
class CaptureHarness {
 public:
  struct Options {
    std::vector<std::pair<std::string, std::string>> pg_settings;
    /// Start the broker at construction (false: the test starts it, e.g. to test its absence).
    bool start_broker = true;
  };

  CaptureHarness();
  explicit CaptureHarness(Options options);

  testing::PgCluster& pg() { return pg_; }
  testing::DevBrokerProcess& broker() { return *broker_; }
  void start_broker(testing::DevBrokerProcess::Options options = {});
  const testing::TempDir& dir() const { return dir_; }

  /// Runs statements in the source database "shop".
  void sql(const std::string& statements) { pg_.exec("shop", statements); }
  std::string value(const std::string& query) { return pg_.query_value("shop", query); }
  /// Waits up to `timeout` until `count` replication slots of the cluster are active.
  bool wait_for_active_slots(int count, std::chrono::seconds timeout);

  /// Writes the config file: `source_extra` lines (indented by two spaces) are appended to the
  /// `source:` section, e.g. "tables: [items]\nsnapshot: never". `brokers` defaults to the
  /// broker's address; `dsn` to the source database as postgres.
  std::filesystem::path write_config(const std::string& source_extra,
                                     const std::string& brokers = "", const std::string& dsn = "");

  /// Turns on the HTTP endpoint of the written config, on a free port; returns its URL
  /// ("http://127.0.0.1:PORT").
  std::string enable_http();

  /// `modsync run --config <config>`; waits until it streams (throws with its output if it
  /// does not within `timeout`) unless `wait_streaming` is false.
  testing::ChildProcess start_daemon(bool wait_streaming = true,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// SIGTERM; requires a clean exit 0.
  static void stop_daemon(testing::ChildProcess& daemon);

  /// Reads `topic` with kcat until at least `expected` messages (tombstones included) are
  /// there (or the timeout).
  std::vector<Event> consume(const std::string& topic, size_t expected,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::filesystem::path config_path() const { return dir_ / "itest.yaml"; }

 private:
  testing::TempDir dir_;
  testing::PgCluster pg_;
  std::optional<testing::DevBrokerProcess> broker_;
};

}  // namespace modsync::itest
