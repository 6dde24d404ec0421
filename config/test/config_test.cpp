#include <catch2/catch.hpp>

#include <set>

#include "modsync/config/config.hpp"
#include "test_files.hpp"

using namespace modsync::config;
using namespace std::chrono_literals;
using modsync::config::test::fake_env;
using modsync::config::test::TempDir;

namespace {

constexpr const char* kFull = R"(daemon:
  id: orders-to-shipping
  state_dir: /srv/state
  log: { level: debug, format: json }
  http: { listen: "0.0.0.0:9000" }
  shutdown_timeout: 2m
  memory: { checkpoint_write_buffer: 2MiB, checkpoint_block_cache: 512KiB }
kafka:
  brokers: "k1:9092,k2:9092"
  topic_prefix: cdc
  envelope: schema_payload
  memory: { consumer_queue: 8MiB, producer_queue: 32MiB }
  properties: { compression.type: lz4, linger.ms: 5, socket.keepalive.enable: true }
source:
  module: orders
  dsn: "host=db port=5432 dbname=orders user=modsync"
  tables: [public.orders, order_lines, billing.invoices]
  slot: my_slot
  publication: my_pub
  snapshot: never
  snapshot_chunk_rows: 500
  topic: "{prefix}.{module}.{schema}.{table}"
  transaction_topic: "{prefix}.{module}.tx"
  message_prefixes: [outbox, audit]
  message_topic: "{module}.msgs"
  heartbeat_interval: 0
  status_interval: 250ms
  value_mode: debezium
sink:
  module: shipping
  dsn: "postgresql://modsync@db2/shipping"
  batch_rows: 100
  batch_bytes: 1MiB
  batch_time: 1s
  projections:
    - from: orders.public.orders
      to: public.orders_to_ship
      columns: { id: order_id, customer_id: customer_id, total: amount }
      where: "status = 'paid' AND total > 0"
      ops: [c, u, d]
      on_delete: soft
      soft_delete_column: deleted_at
      create_table: true
      unknown_version: dead_letter
      versions:
        1: { rename: { amount_cents: total }, defaults: { currency: EUR } }
    - topic: legacy.customers
      to: crm.customers
      columns: [id, name]
)";

constexpr const char* kMinimal = R"(daemon:
  id: orders-capture
kafka:
  brokers: localhost:9092
source:
  module: orders
  dsn: host=db
  tables: [orders]
)";

}  // namespace

TEST_CASE("a complete file round-trips into the structs", "[config]") {
  TempDir dir;
  const PairConfig c = load_file(dir.write("full.yaml", kFull), fake_env());

  CHECK(c.file == dir.path() / "full.yaml");
  CHECK(c.daemon.id == "orders-to-shipping");
  CHECK(c.daemon.state_dir == "/srv/state");
  CHECK(c.daemon.state_path() == "/srv/state/orders-to-shipping");
  CHECK(c.daemon.log.level == LogLevel::kDebug);
  CHECK(c.daemon.log.format == LogFormat::kJson);
  CHECK(c.daemon.http_listen == "0.0.0.0:9000");
  CHECK(c.daemon.shutdown_timeout == 2min);
  CHECK(c.daemon.memory.checkpoint_write_buffer == 2 * modsync::config::kMiB);
  CHECK(c.daemon.memory.checkpoint_block_cache == 512 * modsync::config::kKiB);

  CHECK(c.kafka.brokers == "k1:9092,k2:9092");
  CHECK(c.kafka.topic_prefix == "cdc");
  CHECK(c.kafka.envelope == KafkaEnvelope::kSchemaPayload);
  CHECK(c.kafka.memory.consumer_queue == 8 * modsync::config::kMiB);
  CHECK(c.kafka.memory.producer_queue == 32 * modsync::config::kMiB);
  CHECK(c.kafka.properties ==
        std::map<std::string, std::string>{
            {"compression.type", "lz4"}, {"linger.ms", "5"}, {"socket.keepalive.enable", "true"}});

  REQUIRE(c.source);
  const SourceConfig& s = *c.source;
  CHECK(s.module == "orders");
  CHECK(s.dsn == "host=db port=5432 dbname=orders user=modsync");
  CHECK(s.effective_dsn == EffectiveDsn{s.dsn, ""});
  CHECK_FALSE(s.password_file);
  CHECK(s.tables == std::vector<TableName>{
                        {"public", "orders"}, {"public", "order_lines"}, {"billing", "invoices"}});
  CHECK(s.slot == "my_slot");
  CHECK(s.publication == "my_pub");
  CHECK(s.snapshot == SnapshotMode::kNever);
  CHECK(s.snapshot_chunk_rows == 500);
  CHECK(topic_for(s, c.kafka.topic_prefix, "billing", "invoices") == "cdc.orders.billing.invoices");
  CHECK(transaction_topic_for(s, c.kafka.topic_prefix) == "cdc.orders.tx");
  CHECK(s.message_prefixes == std::vector<std::string>{"outbox", "audit"});
  CHECK(message_topic_for(s, c.kafka.topic_prefix) == "orders.msgs");
  CHECK(s.heartbeat_interval == 0ms);
  CHECK(s.status_interval == 250ms);
  CHECK(s.value_mode == ValueMode::kDebezium);

  REQUIRE(c.sink);
  const SinkConfig& k = *c.sink;
  CHECK(k.module == "shipping");
  CHECK(k.effective_dsn == EffectiveDsn{"postgresql://modsync@db2/shipping", ""});
  CHECK(k.batch_rows == 100);
  CHECK(k.batch_bytes == 1 * modsync::config::kMiB);
  CHECK(k.batch_time == 1s);
  REQUIRE(k.projections.size() == 2);

  const Projection& p = k.projections[0];
  REQUIRE(p.from);
  CHECK(*p.from == SourceTable{"orders", {"public", "orders"}});
  CHECK(p.topic.empty());
  CHECK(projection_topic(c, p) == "cdc.orders.public.orders");
  CHECK(p.to == TableName{"public", "orders_to_ship"});
  CHECK(p.columns == std::vector<ColumnMapping>{
                         {"id", "order_id"}, {"customer_id", "customer_id"}, {"total", "amount"}});
  CHECK(p.where == "status = 'paid' AND total > 0");
  CHECK(p.ops == std::vector<Op>{Op::kCreate, Op::kUpdate, Op::kDelete});
  CHECK(p.applies_to(Op::kDelete));
  CHECK_FALSE(p.applies_to(Op::kRead));
  CHECK(p.on_delete == OnDelete::kSoft);
  CHECK(p.soft_delete_column == "deleted_at");
  CHECK(p.create_table);
  CHECK(p.unknown_version == UnknownVersion::kDeadLetter);
  CHECK(p.versions == std::map<uint32_t, VersionRule>{
                          {1, VersionRule{{{"amount_cents", "total"}}, {{"currency", "EUR"}}}}});
  CHECK(p.location.file == (dir.path() / "full.yaml").string());
  CHECK(p.location.line == 36);
  CHECK(p.location.column == 7);

  const Projection& q = k.projections[1];
  CHECK_FALSE(q.from);
  CHECK(projection_topic(c, q) == "legacy.customers");
  CHECK(q.to == TableName{"crm", "customers"});
  CHECK(q.columns == std::vector<ColumnMapping>{{"id", "id"}, {"name", "name"}});
  CHECK(q.on_delete == OnDelete::kDelete);
}

TEST_CASE("a minimal file gets the documented defaults", "[config]") {
  TempDir dir;
  const PairConfig c = load_file(dir.write("min.yaml", kMinimal), fake_env());
  CHECK(c.daemon.state_dir == "/var/lib/modsync");
  CHECK(c.daemon.state_path() == "/var/lib/modsync/orders-capture");
  CHECK(c.daemon.log.level == LogLevel::kInfo);
  CHECK(c.daemon.log.format == LogFormat::kLogfmt);
  CHECK(c.daemon.http_listen == "127.0.0.1:9187");
  CHECK(c.daemon.shutdown_timeout == 30s);
  CHECK(c.daemon.memory.checkpoint_write_buffer == 1 * modsync::config::kMiB);
  CHECK(c.daemon.memory.checkpoint_block_cache == 1 * modsync::config::kMiB);
  CHECK(c.kafka.memory.consumer_queue == 4 * modsync::config::kMiB);
  CHECK(c.kafka.memory.producer_queue == 16 * modsync::config::kMiB);
  CHECK(c.kafka.topic_prefix == "modsync");
  CHECK(c.kafka.envelope == KafkaEnvelope::kPlain);
  CHECK(c.source->value_mode == ValueMode::kModsync);
  CHECK(c.kafka.properties.empty());
  REQUIRE(c.source);
  const SourceConfig& s = *c.source;
  CHECK(s.slot == "modsync_orders_capture");
  CHECK(s.publication == "modsync_orders_capture");
  CHECK(s.snapshot == SnapshotMode::kInitial);
  CHECK(s.snapshot_chunk_rows == 10000);
  CHECK(s.topic == "{module}.{schema}.{table}");
  CHECK(topic_for(s, "modsync", "public", "orders") == "orders.public.orders");
  CHECK(s.transaction_topic.empty());
  CHECK(transaction_topic_for(s, "modsync").empty());
  CHECK_FALSE(s.message_prefixes);
  CHECK(message_topic_for(s, "modsync") == "orders.messages");
  CHECK(s.heartbeat_interval == 10s);
  CHECK(s.status_interval == 1s);
  CHECK_FALSE(c.sink);
}

TEST_CASE("sink defaults and a sink-only pair", "[config]") {
  TempDir dir;
  const PairConfig c = load_file(dir.write("sink.yaml", R"(daemon: { id: shipping }
kafka: { brokers: "b:9092" }
sink:
  module: shipping
  dsn: host=db2
  projections:
    - from: orders.public.orders
      to: orders_to_ship
)"),
                                 fake_env());
  CHECK_FALSE(c.source);
  REQUIRE(c.sink);
  CHECK(c.sink->batch_rows == 5000);
  CHECK(c.sink->batch_bytes == 8 * modsync::config::kMiB);
  CHECK(c.sink->batch_time == 10ms);
  CHECK(c.sink->group.empty());
  CHECK(c.sink->workers == 0);  // chosen at start from the partitions and cores
  const Projection& p = c.sink->projections.at(0);
  CHECK(p.to == TableName{"public", "orders_to_ship"});
  CHECK_FALSE(p.columns);
  CHECK(p.where.empty());
  CHECK(p.ops.size() == 5);
  CHECK(p.applies_to(Op::kTruncate));
  CHECK(p.on_delete == OnDelete::kDelete);
  CHECK_FALSE(p.create_table);
  CHECK(p.unknown_version == UnknownVersion::kPause);
  CHECK(p.versions.empty());
  // No source for module orders in this file: the default template applies.
  CHECK(projection_topic(c, p) == "orders.public.orders");
}

TEST_CASE("message_prefixes: [] means no logical messages", "[config]") {
  TempDir dir;
  std::string text = kMinimal;
  text += "  message_prefixes: []\n";
  const PairConfig c = load_file(dir.write("m.yaml", text), fake_env());
  REQUIRE(c.source->message_prefixes);
  CHECK(c.source->message_prefixes->empty());
}

TEST_CASE("environment variables fill string scalars", "[config][env]") {
  TempDir dir;
  const auto path = dir.write("env.yaml", R"(daemon:
  id: ${PAIR_ID}
  state_dir: "${STATE:-/tmp/state}"
kafka:
  brokers: "${KAFKA_BROKERS:-localhost:9092}"
  properties: { linger.ms: "${LINGER:-5}" }
source:
  module: orders
  dsn: "${ORDERS_DSN}"
  tables: ["${SCHEMA:-public}.orders"]
  snapshot_chunk_rows: ${CHUNK:-42}
  heartbeat_interval: ${HB:-3s}
)");
  const PairConfig c = load_file(path, fake_env({{"PAIR_ID", "p1"},
                                                 {"ORDERS_DSN", "host=x dbname=o"},
                                                 {"SCHEMA", "s1"},
                                                 {"LINGER", "20"}}));
  CHECK(c.daemon.id == "p1");
  CHECK(c.daemon.state_dir == "/tmp/state");
  CHECK(c.kafka.brokers == "localhost:9092");
  CHECK(c.kafka.properties.at("linger.ms") == "20");
  CHECK(c.source->dsn == "host=x dbname=o");
  CHECK(c.source->tables.at(0) == TableName{"s1", "orders"});
  CHECK(c.source->snapshot_chunk_rows == 42);
  CHECK(c.source->heartbeat_interval == 3s);
  CHECK(c.source->slot == "modsync_p1");
}

TEST_CASE("password_file is kept apart from the DSN and never described", "[config][secrets]") {
  TempDir dir;
  dir.write("pg.secret", "it's s3cret\n");
  std::string text = kMinimal;
  text += "  password_file: pg.secret\n";
  const PairConfig c = load_file(dir.write("pw.yaml", text), fake_env());
  CHECK(c.source->password_file == dir.path() / "pg.secret");
  CHECK(c.source->dsn == "host=db");
  CHECK(c.source->effective_dsn == EffectiveDsn{"host=db", "it's s3cret"});
  const std::string summary = describe(c);
  CHECK(summary.find("s3cret") == std::string::npos);
  CHECK(summary.find("password from " + (dir.path() / "pg.secret").string()) != std::string::npos);
}

TEST_CASE("describe summarises what was understood and redacts secrets", "[config][secrets]") {
  TempDir dir;
  std::string text = kFull;
  text.replace(text.find("user=modsync\""), 13, "user=modsync password=hunter2\"");
  text.replace(text.find("linger.ms: 5"), 12, "sasl.password: topsecret");
  const PairConfig c = load_file(dir.write("full.yaml", text), fake_env());
  const std::string summary = describe(c);
  CHECK(summary.find("hunter2") == std::string::npos);
  CHECK(summary.find("topsecret") == std::string::npos);
  CHECK(summary.find("lz4") == std::string::npos);
  CHECK(summary ==
        "pair orders-to-shipping (from " + (dir.path() / "full.yaml").string() +
            ")\n"
            "daemon: state /srv/state/orders-to-shipping, log debug as json, http 0.0.0.0:9000, "
            "shutdown timeout 2m\n"
            "  memory: checkpoint write buffer 2MiB, block cache 512KiB\n"
            "kafka: brokers k1:9092,k2:9092, topic prefix cdc, stall timeout 10s\n"
            "  memory: consumer queue 8MiB, producer queue 32MiB\n"
            "  properties (values not shown): compression.type, sasl.password, "
            "socket.keepalive.enable\n"
            "source orders: dsn \"host=db port=5432 dbname=orders user=modsync password=***\"\n"
            "  slot my_slot, publication my_pub\n"
            "  snapshot never\n"
            "  tables (3):\n"
            "    public.orders -> topic cdc.orders.public.orders\n"
            "    public.order_lines -> topic cdc.orders.public.order_lines\n"
            "    billing.invoices -> topic cdc.orders.billing.invoices\n"
            "  logical messages: prefixes outbox, audit -> topic orders.msgs\n"
            "  transaction metadata -> topic cdc.orders.tx\n"
            "  heartbeat off, status every 250ms\n"
            "  events: schema_payload envelope, debezium values\n"
            "sink shipping: dsn \"host=db2 dbname=shipping user=modsync\"\n"
            "  consumer group orders-to-shipping, batches of 100 rows, 1MiB or 1s\n"
            "  projection 1: orders.public.orders (topic cdc.orders.public.orders) -> "
            "public.orders_to_ship\n"
            "    columns: id -> order_id, customer_id, total -> amount\n"
            "    where: status = 'paid' AND total > 0\n"
            "    ops: cud; on delete: soft (sets deleted_at); unknown version: dead_letter; create "
            "table: yes\n"
            "    version 1: rename amount_cents -> total, default currency = EUR\n"
            "  projection 2: topic (topic legacy.customers) -> crm.customers\n"
            "    columns: id, name\n"
            "    ops: cudrt; on delete: delete; unknown version: pause; create table: no\n");
}

TEST_CASE("topic_for expands every placeholder", "[config]") {
  SourceConfig s;
  s.module = "orders";
  s.topic = "{prefix}-{module}-{schema}-{table}-{table}";
  CHECK(topic_for(s, "p", "public", "t") == "p-orders-public-t-t");
}

TEST_CASE("kafka properties that modsync owns are known", "[config]") {
  CHECK_FALSE(owned_kafka_property("acks").empty());
  CHECK_FALSE(owned_kafka_property("enable.idempotence").empty());
  CHECK_FALSE(owned_kafka_property("bootstrap.servers").empty());
  CHECK_FALSE(owned_kafka_property("auto.offset.reset").empty());
  CHECK_FALSE(owned_kafka_property("enable.auto.offset.store").empty());
  CHECK(owned_kafka_property("compression.type").empty());
}

// Regression (issue 7): `passw%6Frd=` in a URI escaped validate's redaction.
TEST_CASE("describe hides a DSN password in every form libpq reads", "[config][secrets]") {
  TempDir dir;
  for (const std::string dsn :
       {"postgresql://app:SECRETVALUE@db/x", "postgresql://app:SECRET%56ALUE@db/x",
        "postgresql://db/x?passw%6Frd=SECRETVALUE", "postgresql://db/x?%70assword=SECRETVALUE",
        "host=db password='SECRET VALUE'", "host=db password=SECRET\\\\VALUE",
        "host=db password=abc'SECRETVALUE", "host=db sslpassword=SECRETVALUE"}) {
    INFO(dsn);
    std::string text = kMinimal;
    text.replace(text.find("dsn: host=db"), 12, "dsn: \"" + dsn + "\"");
    const PairConfig c = load_file(dir.write("p.yaml", text), fake_env());
    const std::string summary = describe(c);
    CHECK(summary.find("SECRET") == std::string::npos);
    CHECK(summary.find("password=***") != std::string::npos);
  }
}

TEST_CASE("columns take any name the catalog can spell, as where does", "[config]") {
  TempDir dir;
  const std::string sink = std::string(kMinimal) +
                           "sink:\n  module: shipping\n  dsn: host=db2\n  projections:\n"
                           "    - from: orders.public.orders\n      to: t\n"
                           "      columns: { \"Mixed Case\": mixed_case, id: \"Order Id\" }\n";
  const PairConfig c = load_file(dir.write("cols.yaml", sink), fake_env());
  REQUIRE(c.sink);
  CHECK(c.sink->projections[0].columns ==
        std::vector<ColumnMapping>{{"Mixed Case", "mixed_case"}, {"id", "Order Id"}});
  std::string bad = sink;
  bad.replace(bad.find("\"Mixed Case\""), 12, "\"a,b\"");
  CHECK_THROWS_WITH(load_file(dir.write("bad.yaml", bad), fake_env()),
                    Catch::Contains("a source column name") && Catch::Contains("without ','"));
}

namespace {

template <typename Enum, size_t N>
void check_names(const std::array<EnumName<Enum>, N>& names) {
  std::set<std::string_view> seen_names;
  std::set<Enum> seen_values;
  for (const auto& n : names) {
    CAPTURE(n.name);
    CHECK(seen_names.insert(n.name).second);
    CHECK(seen_values.insert(n.value).second);
    CHECK(to_string(n.value) == n.name);
  }
}

}  // namespace

// Each enum's names are written once (config.hpp): the loader and to_string read the same table,
// so a value cannot print under a name the loader does not read back.
TEST_CASE("enum names are one table per enum, read back by to_string", "[config]") {
  check_names(kLogLevelNames);
  check_names(kLogFormatNames);
  check_names(kSnapshotModeNames);
  check_names(kKafkaEnvelopeNames);
  check_names(kValueModeNames);
  check_names(kOnDeleteNames);
  check_names(kUnknownVersionNames);
  check_names(kOpNames);
  CHECK(to_string(Op::kTruncate) == "t");
  CHECK(to_string(UnknownVersion::kDeadLetter) == "dead_letter");
}

TEST_CASE("a sink-only file may scale out with sink.group") {
  TempDir dir;
  const PairConfig c = load_file(dir.write("apply.yaml", R"(daemon: { id: orders-to-shipping }
kafka: { brokers: "k1:9092" }
sink:
  module: shipping
  dsn: "host=db2 dbname=shipping"
  group: shipping-apply
  workers: 3
  projections: [{ from: orders.public.orders, to: public.orders_to_ship }]
)"),
                                 fake_env());
  REQUIRE(c.sink);
  CHECK(c.sink->group == "shipping-apply");
  CHECK(c.sink->workers == 3);
  CHECK_THAT(describe(c), Catch::Contains("  3 worker(s) per projection\n"));
  CHECK_THAT(describe(c), Catch::Contains("  consumer groups shipping-apply.<schema>.<table>, "
                                          "partitions shared with every daemon running this "
                                          "file; batches of"));
}
