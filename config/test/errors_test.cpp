#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "modsync/config/config.hpp"
#include "test_files.hpp"

using namespace modsync::config;
using modsync::config::test::fake_env;
using modsync::config::test::TempDir;

namespace {

/// Loads `text` as orders.yaml and returns every diagnostic, printed with the file name only.
std::vector<std::string> errors_of(const std::string& text,
                                   std::map<std::string, std::string> env = {}) {
  TempDir dir;
  const auto path = dir.write("orders.yaml", text);
  try {
    load_file(path, fake_env(std::move(env)));
  } catch (const ConfigError& e) {
    std::vector<std::string> out;
    const std::string prefix = dir.path().string() + "/";
    for (Diagnostic d : e.diagnostics()) {
      CHECK(d.file == path.string());
      d.file = "orders.yaml";
      out.push_back(d.to_string());
    }
    // what() lists the same diagnostics, one per line, with the full path.
    std::string joined;
    for (const auto& d : e.diagnostics()) joined += (joined.empty() ? "" : "\n") + d.to_string();
    CHECK(std::string(e.what()) == joined);
    CHECK(e.kind() == modsync::ErrorKind::kFatal);
    return out;
  }
  FAIL("expected a ConfigError");
  return {};
}

const std::string kHead = R"(daemon:
  id: orders-to-shipping
kafka:
  brokers: localhost:9092
)";

}  // namespace

TEST_CASE("a bad enum value names file, line, column, path and fix", "[config][errors]") {
  CHECK(errors_of(kHead + R"(source:
  module: orders
  dsn: host=db
  tables: [orders]
  snapshot: intial
)") == std::vector<std::string>{
           "orders.yaml:9:3: source.snapshot: expected one of initial, never; got \"intial\". "
           "Fix: set snapshot to initial or never."});
}

TEST_CASE("a bad sink group names the characters a group may have", "[config][errors]") {
  CHECK(errors_of(kHead + R"(sink:
  module: shipping
  dsn: host=db
  group: "ship apply"
  projections: [{ from: orders.public.orders, to: orders }]
)") == std::vector<std::string>{
           "orders.yaml:8:3: sink.group: expected a consumer group name of [A-Za-z0-9._-]; got "
           "\"ship apply\". Fix: use only letters, digits, '.', '_' and '-'."});
}

TEST_CASE("sink.workers must be a count from 1 to 64", "[config][errors]") {
  const auto with_workers = [](const std::string& workers) {
    return errors_of(kHead + "sink:\n  module: shipping\n  dsn: host=db\n  workers: " + workers +
                     "\n  projections: [{ from: orders.public.orders, to: orders }]\n");
  };
  CHECK(with_workers("0") ==
        std::vector<std::string>{
            "orders.yaml:8:3: sink.workers: expected a whole number from 1 to 64; got \"0\". "
            "Fix: write a number such as 1000 (no units, no separators)."});
  CHECK(with_workers("65") ==
        std::vector<std::string>{
            "orders.yaml:8:3: sink.workers: expected a whole number from 1 to 64; got \"65\". "
            "Fix: write a number from 1 to 64."});
  CHECK(with_workers("four") ==
        std::vector<std::string>{
            "orders.yaml:8:3: sink.workers: expected a whole number from 1 to 64; got "
            "\"four\". Fix: write a number such as 1000 (no units, no separators)."});
}

TEST_CASE("a scale-out sink in a pair with a source is refused, naming the slot", "[config][errors]") {
  const auto errors = errors_of(kHead + R"(source:
  module: orders
  dsn: host=db
  tables: [orders]
sink:
  module: shipping
  dsn: host=db
  group: shipping-apply
  projections: [{ from: orders.public.orders, to: orders }]
)");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] ==
        "orders.yaml:12:10: sink.group: a pair with a source cannot be scaled out: its replicas "
        "would all stream from slot modsync_orders_to_shipping. Fix: move the sink into a file "
        "of its own (a sink-only pair) and set sink.group there (docs/scaling.md)");
}

TEST_CASE("a bad envelope or value mode names the choices", "[config][errors]") {
  CHECK(errors_of(kHead + R"(source:
  module: orders
  dsn: host=db
  tables: [orders]
  value_mode: debezum
)") == std::vector<std::string>{
           "orders.yaml:9:3: source.value_mode: expected one of modsync, debezium; got "
           "\"debezum\". Fix: set value_mode to modsync or debezium."});
}

TEST_CASE("all errors of a file are collected, in file order", "[config][errors]") {
  CHECK(errors_of(kHead + R"(source:
  module: Orders
  dsn: "host=db password=hunter2 oops"
  tables: [public.orders, orders, "a.b.c", 1x]
  snapshto: never
  slot: Bad-Slot
  topic: "{module}.{tabel}"
  transaction_topic: "{table}"
  message_topic: "a b"
  heartbeat_interval: 10 seconds
  status_interval: 0
  snapshot_chunk_rows: -3
sink:
  module: shipping
  dsn: host=db2
  batch_rows: 0
  projections:
    - from: orders.orders
      topic: x
      to: public.t
      columns: { id: order_id, other: order_id }
      ops: [c, x, c]
      on_delete: soft
      create_table: yes
      unknown_version: drop
      versions: { v1: { rename: { a: b } }, 2: { renames: {} } }
    - to: t2
      on_delete: delete
      soft_delete_column: deleted_at
)") == std::vector<std::string>{
           "orders.yaml:6:3: source.module: expected a module name matching [a-z0-9_]+; got "
           "\"Orders\". Fix: use only lowercase letters, digits and '_'.",
           "orders.yaml:7:3: source.dsn: expected a libpq connection string (key=value …) or "
           "postgresql:// URI; got a DSN libpq cannot parse: a word is not followed by \"=\"; a "
           "value holding spaces or quotes must be quoted, e.g. password='a b\\'c' (escape ' "
           "and \\ with \\). Fix: write e.g. \"host=db port=5432 dbname=app user=modsync\".",
           "orders.yaml:8:27: source.tables[1]: expected each table once; got public.orders "
           "again (already source.tables[0]). Fix: remove the duplicate.",
           "orders.yaml:8:35: source.tables[2]: expected a table as schema.table or table; got "
           "\"a.b.c\". Fix: write e.g. public.orders (names of letters, digits and '_', at "
           "most 63 characters).",
           "orders.yaml:8:44: source.tables[3]: expected a table as schema.table or table; got "
           "\"1x\". Fix: write e.g. public.orders (names of letters, digits and '_', at most "
           "63 characters).",
           "orders.yaml:9:3: source.snapshto: expected a known key; got unknown key "
           "\"snapshto\". Fix: did you mean \"snapshot\"?",
           "orders.yaml:10:3: source.slot: expected a slot name matching [a-z0-9_]{1,63}; got "
           "\"Bad-Slot\". Fix: use only lowercase letters, digits and '_', at most 63 "
           "characters.",
           "orders.yaml:11:3: source.topic: expected a topic template of [A-Za-z0-9._-] and the "
           "placeholders {module} {schema} {table} {prefix}; got unknown placeholder {tabel} "
           "in \"{module}.{tabel}\". Fix: did you mean {table}?",
           "orders.yaml:12:3: source.transaction_topic: expected a topic template of "
           "[A-Za-z0-9._-] and the placeholders {module} {prefix}; got unknown placeholder "
           "{table} in \"{table}\". Fix: use only {module} {prefix}.",
           "orders.yaml:13:3: source.message_topic: expected a topic template of [A-Za-z0-9._-] "
           "and the placeholders {module} {prefix}; got \"a b\" containing \" \". Fix: Kafka "
           "topic names allow only letters, digits, '.', '_' and '-'.",
           "orders.yaml:14:3: source.heartbeat_interval: expected a duration such as 250ms, 5s, "
           "2m, 1h or a number of seconds; got \"10 seconds\". Fix: write a whole number "
           "followed by ms, s, m or h.",
           "orders.yaml:15:3: source.status_interval: expected a duration greater than zero; "
           "got \"0\". Fix: use a positive duration such as 1s.",
           "orders.yaml:16:3: source.snapshot_chunk_rows: expected a whole number from 1 to "
           "1000000; got \"-3\". Fix: write a number such as 1000 (no units, no separators).",
           "orders.yaml:20:3: sink.batch_rows: expected a positive whole number; got \"0\". "
           "Fix: write a number such as 1000 (no units, no separators).",
           "orders.yaml:22:7: sink.projections[0].from: expected module.schema.table; got "
           "\"orders.orders\". Fix: write e.g. orders.public.orders.",
           "orders.yaml:23:7: sink.projections[0].topic: expected either from or topic; got "
           "both. Fix: keep from: to read the table's topic, or topic: to name it, not both.",
           "orders.yaml:25:32: sink.projections[0].columns.other: expected each target column "
           "once; got \"order_id\" as a target again. Fix: map each target column from one "
           "source column only.",
           "orders.yaml:26:16: sink.projections[0].ops[1]: expected one of c, u, d, r, t; got "
           "\"x\". Fix: set ops[1] to c, u, d, r or t.",
           "orders.yaml:26:19: sink.projections[0].ops[2]: expected each operation once; got "
           "\"c\". Fix: remove the duplicate.",
           "orders.yaml:27:7: sink.projections[0].soft_delete_column: expected a "
           "soft_delete_column with on_delete: soft; got nothing. Fix: add "
           "\"soft_delete_column: deleted_at\" (a timestamp column of the target).",
           "orders.yaml:28:7: sink.projections[0].create_table: expected true or false; got "
           "\"yes\". Fix: set create_table to true or false.",
           "orders.yaml:29:7: sink.projections[0].unknown_version: expected one of pause, "
           "dead_letter; got \"drop\". Fix: set unknown_version to pause or dead_letter.",
           "orders.yaml:30:19: sink.projections[0].versions.v1: expected a schema version "
           "number (1, 2, …) as key; got \"v1\". Fix: key each entry by the event schema "
           "version it applies to.",
           "orders.yaml:30:50: sink.projections[0].versions.2.renames: expected a known key; "
           "got unknown key \"renames\". Fix: did you mean \"rename\"?",
           "orders.yaml:31:7: sink.projections[1].from: expected from: module.schema.table or "
           "topic:; got neither. Fix: add \"from: <module>.<schema>.<table>\".",
           "orders.yaml:33:7: sink.projections[1].soft_delete_column: expected "
           "soft_delete_column only with on_delete: soft; got on_delete: delete. Fix: set "
           "on_delete: soft, or remove soft_delete_column."});
}

TEST_CASE("unknown keys without a close match list the allowed keys", "[config][errors]") {
  CHECK(errors_of(kHead + "color: blue\nsource: { module: o, dsn: host=x, tables: [t] }\n") ==
        std::vector<std::string>{
            "orders.yaml:5:1: color: expected a known key; got unknown key \"color\". Fix: "
            "remove it; the keys allowed here are daemon, kafka, source, sink."});
}

TEST_CASE("missing required keys point at their parent key", "[config][errors]") {
  CHECK(errors_of("daemon:\n  log: { level: info }\nkafka: {}\nsink:\n  module: s\n") ==
        std::vector<std::string>{
            "orders.yaml:1:1: daemon.id: expected a daemon id matching [a-z0-9_-]+; got "
            "nothing. Fix: add \"id: orders-to-shipping\" under daemon.",
            "orders.yaml:3:1: kafka.brokers: expected a broker list host:port[,host:port…]; got "
            "nothing. Fix: add \"brokers: \"localhost:9092\"\" under kafka.",
            "orders.yaml:4:1: sink.dsn: expected a libpq connection string or postgresql:// "
            "URI; got nothing. Fix: add \"dsn: \"host=localhost dbname=app user=modsync\"\" "
            "under sink.",
            "orders.yaml:4:1: sink.projections: expected a non-empty list of projections; got "
            "nothing. Fix: add \"projections: [{ from: orders.public.orders, to: "
            "public.orders }]\" under sink."});
}

TEST_CASE("a file with neither source nor sink is rejected", "[config][errors]") {
  CHECK(errors_of(kHead) ==
        std::vector<std::string>{"orders.yaml:1:1: expected a source section, a sink section or "
                                 "both; got neither. Fix: add \"source:\" to capture changes or "
                                 "\"sink:\" to apply them."});
}

TEST_CASE("wrong node kinds and duplicate keys", "[config][errors]") {
  CHECK(errors_of(kHead + R"(source:
  module: orders
  module: billing
  dsn: [host]
  tables: public.orders
)") == std::vector<std::string>{
           "orders.yaml:7:3: source.module: expected each key once; got \"module\" a second "
           "time. Fix: remove one of the two entries.",
           "orders.yaml:8:3: source.dsn: expected a string; got a list. Fix: write a single "
           "value (quote it if it contains \": \" or starts with \"{\" or \"[\").",
           "orders.yaml:9:3: source.tables: expected a list; got \"public.orders\". Fix: write "
           "the items as [a, b] or one \"- item\" per line."});
}

TEST_CASE("kafka properties that modsync owns are rejected with the reason", "[config][errors]") {
  CHECK(errors_of(R"(daemon: { id: a }
kafka:
  brokers: b:9092
  properties:
    acks: 1
    enable.idempotence: false
    bootstrap.servers: other:9092
    compression.type: zstd
source: { module: o, dsn: host=x, tables: [t] }
)") == std::vector<std::string>{
           "orders.yaml:5:5: kafka.properties.acks: expected a librdkafka property modsync "
           "does not set itself; got \"acks\". Fix: remove it: modsync requires acks=all "
           "before it confirms a position to PostgreSQL.",
           "orders.yaml:6:5: kafka.properties.enable.idempotence: expected a librdkafka "
           "property modsync does not set itself; got \"enable.idempotence\". Fix: remove it: "
           "modsync always enables idempotence so a retried send cannot duplicate or reorder "
           "events.",
           "orders.yaml:7:5: kafka.properties.bootstrap.servers: expected a librdkafka "
           "property modsync does not set itself; got \"bootstrap.servers\". Fix: remove it: "
           "modsync sets it from kafka.brokers."});
}

TEST_CASE("an unset environment variable names the variable, file and line",
          "[config][errors][env]") {
  CHECK(errors_of(kHead + "source:\n  module: orders\n  dsn: \"${ORDERS_DSN}\"\n  tables: [t]\n") ==
        std::vector<std::string>{
            "orders.yaml:7:3: source.dsn: expected environment variable ORDERS_DSN to be set; "
            "got unset. Fix: export ORDERS_DSN, or give a default with ${ORDERS_DSN:-default}."});
}

TEST_CASE("invalid YAML reports the parser's position", "[config][errors]") {
  CHECK(errors_of("daemon:\n  id: [unclosed\nkafka: {}\n") ==
        std::vector<std::string>{
            "orders.yaml:3:6: expected valid YAML; got a syntax error (end of sequence flow not "
            "found). Fix: correct the YAML at this position."});
  CHECK(errors_of("") == std::vector<std::string>{
                             "orders.yaml: expected a module pair with daemon, kafka and source "
                             "or sink; got an empty file. Fix: start from "
                             "config/examples/capture-only.yaml."});
}

TEST_CASE("a document that starts with ',' is an error, not a hang", "[config][errors]") {
  // yaml-cpp 0.7's LoadAll looped for ever on these (found by fuzz/config_fuzzer).
  const std::string empty =
      "orders.yaml: expected a module pair with daemon, kafka and source or sink; got a document "
      "that reads as empty (null). Fix: start from config/examples/capture-only.yaml.";
  CHECK(errors_of(",") == std::vector<std::string>{empty});
  CHECK(errors_of(std::string(",\0", 2)) == std::vector<std::string>{empty});
  CHECK(errors_of("# a comment\n  ,\n") == std::vector<std::string>{empty});
  CHECK(errors_of(kHead + "source: { module: o, dsn: host=x, tables: [t] }\n---\n,\n") ==
        std::vector<std::string>{
            "orders.yaml:7:1: expected one YAML document per file; got a second document. Fix: "
            "move each module pair into its own file."});
}

TEST_CASE("a default slot name that is too long asks for an explicit slot", "[config][errors]") {
  const std::string id(60, 'a');
  CHECK(errors_of("daemon: { id: " + id +
                  " }\nkafka: { brokers: b }\nsource: { module: o, dsn: host=x, tables: [t] }\n") ==
        std::vector<std::string>{
            "orders.yaml:3:1: source.slot: expected a slot name matching [a-z0-9_]{1,63}; got "
            "the default \"modsync_" +
            id + "\" derived from daemon.id. Fix: set source.slot explicitly."});
}

TEST_CASE("passwords never appear in error messages", "[config][errors][secrets]") {
  const auto errors = errors_of(kHead + R"(source:
  module: orders
  dsn: "host=db password='hunter2"
  tables: [t]
sink:
  module: shipping
  dsn: "postgresql://app:hunter2@db/x?password=hunter2"
  password_file: secret.txt
  projections: [{ from: orders.public.t, to: t }]
)");
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] ==
        "orders.yaml:7:3: source.dsn: expected a libpq connection string (key=value …) or "
        "postgresql:// URI; got a DSN libpq cannot parse: a quoted value has no closing quote. "
        "Fix: write e.g. \"host=db port=5432 dbname=app user=modsync\".");
  CHECK(errors[1] ==
        "orders.yaml:12:3: sink.password_file: expected a password in either the dsn or "
        "password_file; got both. Fix: remove the password from the dsn.");
  for (const auto& e : errors) CHECK(e.find("hunter2") == std::string::npos);
}

TEST_CASE("password_file problems name the file, never its contents", "[config][errors]") {
  TempDir dir;
  dir.write("empty.secret", "\n");
  const auto path = dir.write("p.yaml", kHead + R"(source:
  module: orders
  dsn: host=db
  tables: [t]
  password_file: empty.secret
sink:
  module: shipping
  dsn: host=db
  password_file: /nonexistent/secret
  projections: [{ from: orders.public.t, to: t }]
)");
  try {
    load_file(path, fake_env());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].path == "source.password_file");
    CHECK(e.diagnostics()[0].line == 9);
    CHECK(e.diagnostics()[0].column == 3);
    CHECK(e.diagnostics()[0].message ==
          "expected a file holding the password; got an empty file. Fix: write the password "
          "into " +
              (dir.path() / "empty.secret").string() + ".");
    CHECK(e.diagnostics()[1].message ==
          "expected a readable file; got \"/nonexistent/secret\". Fix: create the file or fix "
          "the path (relative paths start at the config file's folder).");
  }
}

TEST_CASE("a missing file is a file-level diagnostic", "[config][errors]") {
  try {
    load_file("/nonexistent/orders.yaml", fake_env());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].line == 0);
    CHECK(std::string(e.what()) ==
          "/nonexistent/orders.yaml: expected a readable configuration file; got none. Fix: "
          "check the path and its permissions.");
  }
}

// Regression (issue 7): 3000000000 passed validate and failed at run time.
TEST_CASE("snapshot_chunk_rows has a range", "[config][errors]") {
  const auto source = [](const std::string& rows) {
    return kHead + "source: { module: o, dsn: host=x, tables: [t], snapshot_chunk_rows: " + rows +
           " }\n";
  };
  CHECK(errors_of(source("3000000000")) ==
        std::vector<std::string>{
            "orders.yaml:5:48: source.snapshot_chunk_rows: expected a whole number from 1 to "
            "1000000; got \"3000000000\". Fix: write a number from 1 to 1000000."});
  CHECK(errors_of(source("99999999999999999999999")) ==
        std::vector<std::string>{
            "orders.yaml:5:48: source.snapshot_chunk_rows: expected a whole number from 1 to "
            "1000000; got \"99999999999999999999999\". Fix: write a number from 1 to 1000000."});
  TempDir dir;
  CHECK(
      load_file(dir.write("ok.yaml", source("1000000")), fake_env()).source->snapshot_chunk_rows ==
      1'000'000);
}

TEST_CASE("memory budgets are byte sizes in a range, naming the unit to write",
          "[config][errors]") {
  const auto errors = errors_of(R"(daemon:
  id: a
  memory: { checkpoint_write_buffer: 16MB, checkpoint_block_cache: 1KiB }
kafka:
  brokers: b:9092
  memory: { consumer_queue: 2GiB, producer_queue: 1.5MiB }
  properties: { queued.max.messages.kbytes: 1024 }
sink:
  module: s
  dsn: host=x
  batch_bytes: 0
  projections: [{ from: o.public.t, to: t }]
)");
  CHECK(errors == std::vector<std::string>{
                      "orders.yaml:3:13: daemon.memory.checkpoint_write_buffer: expected a byte "
                      "size such as 512KiB, 16MiB, 1GiB or a number of bytes; got \"16MB\". Fix: "
                      "write a whole number followed by KiB, MiB or GiB (binary units).",
                      "orders.yaml:3:44: daemon.memory.checkpoint_block_cache: expected a size "
                      "from 64KiB to 1GiB; got \"1KiB\". Fix: write a size from 64KiB to 1GiB.",
                      "orders.yaml:6:13: kafka.memory.consumer_queue: expected a size from 1MiB to "
                      "1GiB; got \"2GiB\". Fix: write a size from 1MiB to 1GiB.",
                      "orders.yaml:6:35: kafka.memory.producer_queue: expected a byte size such as "
                      "512KiB, 16MiB, 1GiB or a number of bytes; got \"1.5MiB\". Fix: write a "
                      "whole number followed by KiB, MiB or GiB (binary units).",
                      "orders.yaml:7:17: kafka.properties.queued.max.messages.kbytes: expected a "
                      "librdkafka property modsync does not set itself; got "
                      "\"queued.max.messages.kbytes\". Fix: remove it: modsync sets it from "
                      "kafka.memory.consumer_queue (docs/configuration.md, \"Memory budgets\").",
                      "orders.yaml:11:3: sink.batch_bytes: expected a size from 64KiB to 1GiB; got "
                      "\"0\". Fix: write a size from 64KiB to 1GiB."});
}

// Regression (issue 7): a kafka.properties auto.offset.reset silently replaced the never-skip
// rule, and enable.auto.offset.store let librdkafka store offsets before the sink applied them.
TEST_CASE("consumer properties modsync owns are rejected with file and line", "[config][errors]") {
  const auto errors = errors_of(R"(daemon: { id: a }
kafka:
  brokers: b:9092
  properties:
    auto.offset.reset: earliest
    enable.auto.offset.store: true
    group.id: other
    auto.commit.enable: true
    partitioner: random
    fetch.wait.max.ms: 100
source: { module: o, dsn: host=x, tables: [t] }
)");
  REQUIRE(errors.size() == 5);
  CHECK(errors[0] ==
        "orders.yaml:5:5: kafka.properties.auto.offset.reset: expected a librdkafka property "
        "modsync does not set itself; got \"auto.offset.reset\". Fix: remove it: modsync never "
        "skips events: a position Kafka no longer holds stops the projection "
        "(auto.offset.reset=error) so that `modsync resnapshot` can be chosen deliberately.");
  CHECK(errors[1].starts_with("orders.yaml:6:5: kafka.properties.enable.auto.offset.store: "));
  CHECK(errors[2].starts_with("orders.yaml:7:5: kafka.properties.group.id: "));
  CHECK(errors[3].starts_with("orders.yaml:8:5: kafka.properties.auto.commit.enable: "));
  CHECK(errors[4].starts_with("orders.yaml:9:5: kafka.properties.partitioner: "));
}

// Regression (issue 7): two projections into one table shared offsets and truncate marks
// (both are keyed by daemon.id/target), so the second skipped an event.
TEST_CASE("two projections into one target table are rejected naming both", "[config][errors]") {
  TempDir dir;
  const auto path = dir.write("orders.yaml", kHead + R"(sink:
  module: shipping
  dsn: host=db
  projections:
    - { from: orders.public.a, to: public.t }
    - { from: orders.public.b, to: u }
    - { from: orders.public.c, to: t }
)");
  try {
    load_file(path, fake_env());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].to_string() ==
          path.string() +
              ":11:7: sink.projections[2].to: expected each target table once in a sink; got "
              "public.t again (already the target of the projection at " +
              path.string() +
              ":9:7). Fix: give each projection its own target table: two projections of one "
              "daemon into one table share its offsets and truncate marks (keyed by daemon.id "
              "and table), so one skips events the other applied; a view can union several "
              "tables.");
  }
}

// Regression (issue 10): the loader accepted addresses the HTTP server then refused at start
// (":9187", "::1:9187"), and its message named no reason; port 0 is refused in one place, here.
TEST_CASE("daemon.http.listen is read by the HTTP server's parser", "[config][errors]") {
  const auto listen_errors = [](const std::string& address) {
    return errors_of("daemon:\n  id: orders-to-shipping\n  http: { listen: \"" + address +
                     "\" }\nkafka:\n  brokers: localhost:9092\nsink:\n  module: shipping\n"
                     "  dsn: host=db\n  projections: [{ from: orders.public.orders, to: "
                     "public.orders }]\n");
  };
  CHECK(listen_errors(":9187") ==
        std::vector<std::string>{
            "orders.yaml:3:11: daemon.http.listen: expected host:port or [ipv6]:port (or \"\" to "
            "disable); got \":9187\" (no host). Fix: write an address such as "
            "\"127.0.0.1:9187\"."});
  CHECK(listen_errors("::1:9187") ==
        std::vector<std::string>{
            "orders.yaml:3:11: daemon.http.listen: expected host:port or [ipv6]:port (or \"\" to "
            "disable); got \"::1:9187\" (an IPv6 address must be written as [address]:port). "
            "Fix: write an address such as \"127.0.0.1:9187\"."});
  CHECK(listen_errors("127.0.0.1:0") ==
        std::vector<std::string>{
            "orders.yaml:3:11: daemon.http.listen: expected a fixed port from 1 to 65535; got "
            "\"127.0.0.1:0\". Fix: choose a port, e.g. \"127.0.0.1:9187\"."});
  CHECK(load_file(TempDir().write("ok.yaml",
                                  "daemon:\n  id: a\n  http: { listen: \"[::1]:9187\" }\nkafka:\n"
                                  "  brokers: localhost:9092\nsink:\n  module: shipping\n"
                                  "  dsn: host=db\n  projections: [{ from: orders.public.orders, "
                                  "to: public.orders }]\n"),
                  fake_env({}))
            .daemon.http_listen == "[::1]:9187");
}
