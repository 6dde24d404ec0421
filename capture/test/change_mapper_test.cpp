#include "change_mapper.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "fixture.hpp"
#include "modsync/common/error.hpp"
#include "modsync/pgsource/pgoutput_decoder.hpp"
#include "modsync/pgsource/source_catalog.hpp"

namespace modsync::capture {
namespace {

using Catch::Matchers::Contains;
using event::ColumnValue;
using event::Op;
using Kind = MappedEvent::Kind;

/// The captured workload of connectors/pgsource/test/fixtures/capture.sh (pgoutput v1, text).
const std::vector<std::string>& fixture() {
  static const std::vector<std::string> messages = pgsource::test::load_fixture("pgoutput_v1.hex");
  return messages;
}

struct Emitted {
  Kind kind;
  Op op;
  std::string topic;
  bool has_key;
  std::string key;
  std::string value;
  bool null_value;
  std::optional<Position> position;
  std::vector<std::string> header_names;
};

/// The pipeline's side, in memory: a table registry, a TOAST "source", and what was emitted.
struct FakeHost final : ChangeMapper::Host {
  std::unordered_map<uint32_t, event::TableSchema> tables;
  std::vector<Emitted> events;
  std::vector<Lsn> units;
  int fills = 0;
  /// The value the "source" holds for unchanged columns; nullopt: the row is gone.
  std::optional<std::string> current = std::string("fetched-from-source");
  std::vector<ColumnValue> filled;

  const event::TableSchema* find_table(uint32_t id) override {
    auto it = tables.find(id);
    return it == tables.end() ? nullptr : &it->second;
  }
  const event::TableSchema& register_relation(uint32_t id, std::string_view nsp,
                                              std::string_view rel,
                                              std::vector<event::Column> columns, Lsn) override {
    event::TableSchema s;
    s.module = "shop";
    s.database = "db";
    s.schema = std::string(nsp);
    s.table = std::string(rel);
    s.columns = std::move(columns);
    s.topic = "shop." + s.schema + "." + s.table;
    return tables[id] = std::move(s);
  }
  event::RowImage fill_unchanged(const event::TableSchema&, const pgsource::Begin&,
                                 event::RowImage after) override {
    bool any = false;
    for (const auto& v : after) any = any || v.kind == ColumnValue::Kind::kUnchanged;
    if (!any) return after;
    ++fills;
    if (!current) return after;
    filled.assign(after.begin(), after.end());
    for (auto& v : filled)
      if (v.kind == ColumnValue::Kind::kUnchanged)
        v = ColumnValue{ColumnValue::Kind::kText, *current};
    return filled;
  }
  void emit(const MappedEvent& e) override {
    Emitted out{e.kind,
                e.op,
                std::string(e.topic),
                e.has_key,
                std::string(e.key),
                std::string(e.value),
                e.value.data() == nullptr,
                e.position,
                {}};
    for (const auto& h : e.headers) out.header_names.emplace_back(h.name);
    events.push_back(std::move(out));
  }
  void end_unit(Lsn confirm_at) override { units.push_back(confirm_at); }

  std::vector<Emitted> on_topic(const std::string& topic) const {
    std::vector<Emitted> out;
    for (const auto& e : events)
      if (e.topic == topic) out.push_back(e);
    return out;
  }
};

ChangeMapper::Options options() {
  ChangeMapper::Options o;
  o.context = "source shop (pair p)";
  o.module = "shop";
  o.message_topic = "shop.messages";
  return o;
}

/// What a mapper with `o` emits for the whole fixture; `host` may be prepared by the caller.
FakeHost map_all(ChangeMapper::Options o = options(), FakeHost host = {});

/// Decodes and maps the fixture's messages [from, to) in order.
void map_range(ChangeMapper& mapper, FakeHost& host, size_t from = 0, size_t to = SIZE_MAX) {
  pgsource::PgOutputDecoder decoder;
  for (size_t i = from; i < std::min(to, fixture().size()); ++i) {
    mapper.map(decoder.decode(fixture()[i]), Lsn{0x100000}, host);
  }
}

FakeHost map_all(ChangeMapper::Options o, FakeHost host) {
  ChangeMapper mapper(std::move(o));
  map_range(mapper, host);
  CHECK_FALSE(mapper.in_transaction());
  return host;
}

/// The relation id the fixture's Relation message gives `relname`.
uint32_t relation_id(std::string_view relname) {
  pgsource::PgOutputDecoder decoder;
  for (const auto& m : fixture()) {
    auto message = decoder.decode(m);
    if (auto* r = std::get_if<pgsource::Relation>(&message); r && r->relname == relname) return r->id;
  }
  FAIL("no Relation message for " << relname);
  return 0;
}

/// The commit LSN of every transaction in the fixture, in order (its Begin's final_lsn).
std::vector<Lsn> commits() {
  pgsource::PgOutputDecoder decoder;
  std::vector<Lsn> out;
  for (const auto& m : fixture()) {
    auto message = decoder.decode(m);
    if (auto* b = std::get_if<pgsource::Begin>(&message)) out.push_back(b->final_lsn);
  }
  return out;
}

TEST_CASE("the captured workload maps to change events, one unit per transaction", "[mapper]") {
  const FakeHost host = map_all();
  // 12 transactions and one non-transactional message.
  CHECK(host.units.size() == commits().size() + 1);
  const auto kinds = host.on_topic("shop.public.kinds");
  REQUIRE(kinds.size() == 8);
  // insert 1, insert 2, update 1, the key change 2 → 3 (delete, tombstone, create), delete 3
  // and its tombstone
  CHECK(kinds[0].op == Op::kCreate);
  CHECK(kinds[0].key == R"({"id":1})");
  CHECK(kinds[1].op == Op::kCreate);
  CHECK(kinds[2].op == Op::kUpdate);
  CHECK(kinds[2].key == R"({"id":1})");
  CHECK(kinds[6].op == Op::kDelete);
  CHECK(kinds[6].key == R"({"id":3})");
  CHECK(kinds[7].kind == Kind::kTombstone);
  // Every event has a position except deletes followed by their tombstone.
  for (const auto& e : host.events) {
    if (e.kind == Kind::kChange && e.op == Op::kDelete && e.has_key) {
      CHECK_FALSE(e.position);
    } else {
      CHECK(e.position);
    }
  }
  // Change events carry the event headers; the tombstone none.
  CHECK_FALSE(kinds[0].header_names.empty());
  CHECK(kinds[7].header_names.empty());
  CHECK(kinds[7].null_value);
}

TEST_CASE("a key change is a delete of the old key, its tombstone, and a create of the new",
          "[mapper]") {
  const FakeHost host = map_all();
  const auto kinds = host.on_topic("shop.public.kinds");
  const Emitted& del = kinds[3];
  const Emitted& tombstone = kinds[4];
  const Emitted& create = kinds[5];
  CHECK(del.op == Op::kDelete);
  CHECK(del.key == R"({"id":2})");
  CHECK_THAT(del.value, Contains(R"("before":{"id":2)"));
  CHECK_THAT(del.value, Contains(R"("after":null)"));
  CHECK(tombstone.kind == Kind::kTombstone);
  CHECK(tombstone.key == R"({"id":2})");
  CHECK(create.op == Op::kCreate);
  CHECK(create.key == R"({"id":3})");
  CHECK_THAT(create.value, Contains(R"("before":null)"));
  // One transaction: positions 0 (the delete's, carried by its tombstone) and 1.
  REQUIRE(tombstone.position);
  REQUIRE(create.position);
  CHECK(tombstone.position->commit_lsn == create.position->commit_lsn);
  CHECK(tombstone.position->index == 0);
  CHECK(create.position->index == 1);
}

TEST_CASE("without tombstones a delete carries its own position", "[mapper]") {
  auto o = options();
  o.tombstones_on_delete = false;
  const FakeHost host = map_all(o);
  const auto kinds = host.on_topic("shop.public.kinds");
  REQUIRE(kinds.size() == 6);
  for (const auto& e : kinds) {
    CHECK(e.kind == Kind::kChange);
    CHECK(e.position);
  }
}

TEST_CASE("REPLICA IDENTITY FULL: the event key is the primary key, not every column", "[mapper]") {
  SECTION("a table without a primary key gets null keys and no tombstones") {
    const FakeHost host = map_all();
    const auto full = host.on_topic("shop.public.full_row");
    // insert, update, delete, then the truncate
    REQUIRE(full.size() == 4);
    for (const auto& e : full) CHECK_FALSE(e.has_key);
    CHECK(full[2].op == Op::kDelete);
    CHECK(full[2].position);  // no tombstone to carry it
    CHECK(full[3].kind == Kind::kTruncate);
  }
  SECTION("with the table's primary key, that key") {
    ChangeMapper mapper(options());
    FakeHost host;
    const uint32_t full_row_oid = relation_id("full_row");
    mapper.set_source("db", {{full_row_oid, {"a"}}});
    map_range(mapper, host);
    const auto full = host.on_topic("shop.public.full_row");
    REQUIRE(full.size() == 5);  // the delete now has a tombstone
    CHECK(full[0].key == R"({"a":10})");
    CHECK(full[1].op == Op::kUpdate);
    CHECK(full[1].key == R"({"a":10})");
    CHECK(full[3].kind == Kind::kTombstone);
    for (const auto& c : host.tables[full_row_oid].columns) CHECK(c.key == (c.name == "a"));
  }
}

TEST_CASE("REPLICA IDENTITY FULL updates take every value from the old row, not the source",
          "[mapper]") {
  const FakeHost host = map_all();
  const auto full = host.on_topic("shop.public.full_row");
  REQUIRE(full.size() >= 2);
  CHECK_THAT(full[1].value, Contains(R"("before":{"a":10,"b":"ten"})"));
  CHECK_THAT(full[1].value, Contains(R"("after":{"a":10,"b":"TEN"})"));
  CHECK(host.fills == 1);  // only the big table's TOAST update asked the source
}

TEST_CASE("an unchanged TOAST value is read from the source, or stays marked unchanged",
          "[mapper]") {
  SECTION("the source has the row") {
    const FakeHost host = map_all();
    const auto big = host.on_topic("shop.public.big");
    REQUIRE(big.size() == 2);
    CHECK(big[1].op == Op::kUpdate);
    CHECK(host.fills == 1);
    CHECK_THAT(big[1].value, Contains(R"("payload":"fetched-from-source")"));
    CHECK_THAT(big[1].value, !Contains("unchanged"));
  }
  SECTION("the row is gone") {
    ChangeMapper mapper(options());
    FakeHost host;
    host.current.reset();
    map_range(mapper, host);
    const auto big = host.on_topic("shop.public.big");
    REQUIRE(big.size() == 2);
    CHECK_THAT(big[1].value, Contains(R"("unchanged":["payload"])"));
  }
}

TEST_CASE("transaction markers frame each transaction on the transaction topic", "[mapper]") {
  auto o = options();
  o.transaction_topic = "shop.transactions";
  const FakeHost host = map_all(o);
  const auto tx = host.on_topic("shop.transactions");
  REQUIRE(tx.size() == 2 * commits().size());
  CHECK_THAT(tx[0].value, Contains(R"("status":"BEGIN")"));
  CHECK_THAT(tx[0].value, Contains(R"("event_count":null)"));
  CHECK_THAT(tx[1].value, Contains(R"("status":"END")"));
  CHECK_THAT(tx[1].value, Contains(R"("event_count":1)"));
  CHECK(tx[0].key == tx[1].key);
  for (const auto& e : tx) {
    CHECK(e.kind == Kind::kTransaction);
    CHECK_FALSE(e.position);
    CHECK(e.header_names == std::vector<std::string>{"content-type"});
  }
  // The multi-row transaction: three inserts, the message, the update.
  bool found = false;
  for (const auto& e : tx) found = found || e.value.find(R"("event_count":5)") != std::string::npos;
  CHECK(found);
}

TEST_CASE("logical messages: in a transaction they take a position, outside they are a unit",
          "[mapper]") {
  const FakeHost host = map_all();
  const auto messages = host.on_topic("shop.messages");
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].kind == Kind::kMessage);
  CHECK(messages[0].key == R"("modsync")");
  CHECK_THAT(messages[0].value, Contains(R"("content":"in-tx")"));
  REQUIRE(messages[0].position);
  CHECK(messages[0].position->index == 3);  // after the three inserts
  CHECK(messages[1].key == R"("modsync.bin")");
  REQUIRE(messages[1].position);
  CHECK(messages[1].position->index == 0);
  // The non-transactional message's LSN is a unit end of its own.
  CHECK(std::find(host.units.begin(), host.units.end(), messages[1].position->commit_lsn) !=
        host.units.end());
}

TEST_CASE("message prefixes filter: heartbeats end a unit but are never published", "[mapper]") {
  auto o = options();
  o.message_prefixes = std::vector<std::string>{"modsync.bin"};
  const FakeHost host = map_all(o);
  const auto messages = host.on_topic("shop.messages");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].key == R"("modsync.bin")");

  ChangeMapper mapper(o);
  FakeHost idle;
  const pgsource::LogicalMessage heartbeat{false, Lsn{0x5000}, pgsource::SourceCatalog::kHeartbeatPrefix, ""};
  mapper.map(heartbeat, Lsn{0x5000}, idle);
  CHECK(idle.events.empty());
  CHECK(idle.units == std::vector<Lsn>{Lsn{0x5000}});
}

TEST_CASE("a replay skips events Kafka holds and keeps the positions of the rest", "[mapper]") {
  ChangeMapper first(options());
  FakeHost all;
  map_range(first, all);
  // Resume in the middle of the multi-row transaction: after its second insert.
  const auto composite = all.on_topic("shop.public.composite");
  REQUIRE(composite.size() >= 4);
  const Position resume_after = *composite[1].position;

  ChangeMapper replay(options());
  FakeHost host;
  replay.start_stream(resume_after, {});
  map_range(replay, host);
  std::vector<Emitted> expected;
  for (const auto& e : all.events) {
    if (e.position && *e.position > resume_after) expected.push_back(e);
  }
  std::vector<Emitted> positioned;
  for (const auto& e : host.events)
    if (e.position) positioned.push_back(e);
  REQUIRE(positioned.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(positioned[i].position == expected[i].position);
    CHECK(positioned[i].key == expected[i].key);
  }
  // Units still end, so a transaction skipped whole is confirmed.
  CHECK(host.units.size() == all.units.size());
}

TEST_CASE("changes a table's snapshot already holds are skipped, without reading the source",
          "[mapper]") {
  const uint32_t big_oid = relation_id("big");
  ChangeMapper mapper(options());
  FakeHost host;
  // whole_at after every commit of the fixture: the big table's changes are all covered.
  mapper.start_stream(std::nullopt, {{big_oid, Lsn{UINT64_MAX}}});
  map_range(mapper, host);
  CHECK(host.on_topic("shop.public.big").empty());
  CHECK(host.fills == 0);
  CHECK_FALSE(host.on_topic("shop.public.kinds").empty());
}

TEST_CASE("a truncate is one event per table, each with its own position", "[mapper]") {
  const FakeHost host = map_all();
  std::vector<Emitted> truncates;
  for (const auto& e : host.events)
    if (e.kind == Kind::kTruncate) truncates.push_back(e);
  REQUIRE(truncates.size() == 2);
  CHECK(truncates[0].topic != truncates[1].topic);
  CHECK_FALSE(truncates[0].has_key);
  CHECK(truncates[0].position->commit_lsn == truncates[1].position->commit_lsn);
  CHECK(truncates[1].position->index == truncates[0].position->index + 1);
}

TEST_CASE("a change before its relation is announced is an error naming the fix", "[mapper]") {
  ChangeMapper mapper(options());
  FakeHost host;
  pgsource::PgOutputDecoder decoder;
  // The second transaction's Insert into kinds, without the first's Relation message.
  mapper.map(decoder.decode(fixture()[5]), Lsn{0x42}, host);
  auto insert = decoder.decode(fixture()[6]);
  REQUIRE(std::holds_alternative<pgsource::Insert>(insert));
  CHECK_THROWS_WITH(mapper.map(insert, Lsn{0x42}, host),
                    Contains("source shop (pair p): received an Insert for relation") &&
                        Contains("before its Relation message") && Contains("Fix:"));
}

TEST_CASE("snapshot rows and truncates carry no position for the tracker", "[mapper]") {
  ChangeMapper mapper(options());
  FakeHost host;
  map_range(mapper, host, 0, 5);  // the first transaction announces kinds
  REQUIRE(host.tables.size() == 1);
  const event::TableSchema& kinds = host.tables.begin()->second;
  std::vector<ColumnValue> row(kinds.columns.size(), ColumnValue{ColumnValue::Kind::kNull, {}});
  row[0] = ColumnValue{ColumnValue::Kind::kText, "7"};
  event::SourceInfo source;
  source.position = Position{Lsn{0x900}, 4};
  source.snapshot = event::SnapshotMarker::kTrue;
  source.snapshot_row = 4;
  host.events.clear();
  mapper.snapshot_row(kinds, row, source, 1, host);
  mapper.snapshot_truncate(kinds, source, host);
  REQUIRE(host.events.size() == 2);
  CHECK(host.events[0].op == Op::kRead);
  CHECK(host.events[0].kind == Kind::kChange);
  CHECK(host.events[0].key == R"({"id":7})");
  CHECK_THAT(host.events[0].value, Contains(R"("snapshot":"true")"));
  CHECK_FALSE(host.events[0].position);
  CHECK(host.events[1].kind == Kind::kTruncate);
  CHECK_FALSE(host.events[1].position);
}

}  // namespace
}  // namespace modsync::capture
