// read_schema_event: the `{prefix}.schemas` events as docs/events.md ("Versions") shows them.

#include <catch2/catch.hpp>

#include "modsync/event/pg_types.hpp"
#include "modsync/event/schema_event.hpp"

using modsync::event::read_schema_event;

TEST_CASE("a schema event written by encode_schema_event reads back", "[unit][event][reader]") {
  modsync::event::TableSchema t;
  t.module = "shop";
  t.database = "shop db";
  t.schema = "public";
  t.table = "it\"ems";
  t.topic = "shop.public.items";
  t.version = 4;
  t.columns = {{"id", modsync::event::pg::kInt4Oid, -1, true, "integer"},
               {"mood", 16390, -1, false, "public.mood"},
               {"price", modsync::event::pg::kNumericOid, 655366, false, ""}};
  const std::string value = modsync::event::encode_schema_event(t, modsync::Lsn{0x1A2B});
  simdjson::dom::parser parser;
  const auto e = read_schema_event(parser, value);
  INFO(value);
  REQUIRE(e);
  CHECK(e->module == "shop");
  CHECK(e->table == "it\"ems");
  CHECK(e->version == 4);
  REQUIRE(e->columns.size() == 3);
  CHECK(e->columns[0].type_name == "integer");
  CHECK(e->columns[0].key);
  CHECK(e->columns[1].type_oid == 16390);
  CHECK(e->columns[2].type_modifier == 655366);
  CHECK(e->columns[2].type_name.empty());
  CHECK_THAT(value, Catch::Contains(R"("since_lsn":"0/1A2B")"));
  // A version's identity leaves the type names out.
  CHECK(modsync::event::schema_columns_json(t).find("integer") == std::string::npos);
}

TEST_CASE("a schema event reads back with its columns", "[unit][event][reader]") {
  simdjson::dom::parser parser;
  const auto e = read_schema_event(
      parser,
      R"({"module":"shop","database":"shop","schema":"public","table":"items","version":3,)"
      R"("since_lsn":"0/1A2B","topic":"shop.public.items","columns":[)"
      R"({"name":"id","type":"integer","type_oid":23,"type_modifier":-1,"key":true},)"
      R"({"name":"mood","type":"public.mood","type_oid":16390,"type_modifier":-1,"key":false},)"
      R"({"name":"price","type_oid":1700,"type_modifier":655366,"key":false}]})");
  REQUIRE(e);
  CHECK(e->module == "shop");
  CHECK(e->schema == "public");
  CHECK(e->table == "items");
  CHECK(e->version == 3);
  REQUIRE(e->columns.size() == 3);
  CHECK(e->columns[0].name == "id");
  CHECK(e->columns[0].type_oid == modsync::event::pg::kInt4Oid);
  CHECK(e->columns[0].key);
  CHECK(e->columns[0].type_name == "integer");
  CHECK(e->columns[1].type_name == "public.mood");
  CHECK_FALSE(e->columns[1].key);
  // Published before schema events carried type names.
  CHECK(e->columns[2].type_name.empty());
  CHECK(e->columns[2].type_modifier == 655366);
}

TEST_CASE("what is not a schema event is refused", "[unit][event][reader]") {
  simdjson::dom::parser parser;
  CHECK_FALSE(read_schema_event(parser, "not json"));
  CHECK_FALSE(
      read_schema_event(parser, R"({"schema":"public","table":"t","version":1,"columns":[]})"));
  CHECK_FALSE(
      read_schema_event(parser, R"({"module":"m","schema":"public","table":"t","columns":[]})"));
  CHECK_FALSE(
      read_schema_event(parser, R"({"module":"m","schema":"public","table":"t","version":1})"));
  CHECK_FALSE(read_schema_event(
      parser,
      R"({"module":"m","schema":"public","table":"t","version":1,"columns":[{"name":"id"}]})"));
  CHECK(read_schema_event(
      parser, R"({"module":"m","schema":"public","table":"t","version":1,"columns":[]})"));
}
