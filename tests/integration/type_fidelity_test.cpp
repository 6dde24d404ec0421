// The type-fidelity oracle: every built-in type of PostgreSQL 15 (the list is read from
// pg_type, not written here), arrays of each, user-defined types and an extension type, at
// their edge values, go through modsync (capture → events → apply with create_table) and
// through PostgreSQL's own logical replication into a third database. Every column of every
// row must read the same (`::text`) in modsync's projection as in the native copy: for rows
// from the snapshot, from streamed inserts, streamed updates of every column, and updates
// that leave TOASTed values unchanged.

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/eventually.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;

namespace {

/// Edge values of a type, as SQL: text in the type's input form, or "=expr" for an expression.
using Values = std::vector<std::string>;

const std::string kControl =
    "=(SELECT string_agg(chr(g), '') FROM generate_series(1, 31) g) || chr(127)";
// A character from each of Unicode's 17 planes, and characters JSON and UTF-8 treat specially.
const std::string kPlanes =
    "=(SELECT string_agg(chr(CASE WHEN p = 0 THEN 233 ELSE p * 65536 + 4660 END), '') FROM "
    "generate_series(0, 16) p) || chr(8232) || chr(8233) || chr(65279) || chr(65535) || "
    "chr(55295) || chr(57344) || chr(1114111) || chr(128)";
const Values kText = {"",
                      " ",
                      "NULL",
                      "null",
                      R"({}",\ 'x' )",
                      "tab\there\nnewline\r\\",
                      kControl,
                      kPlanes,
                      "=repeat('long text ', 2000) || chr(128512)"};

const std::map<std::string, Values>& edges() {
  static const std::map<std::string, Values> kEdges = {
      {"bool", {"t", "f"}},
      {"int2", {"-32768", "32767", "0"}},
      {"int4", {"-2147483648", "2147483647", "0"}},
      {"int8", {"-9223372036854775808", "9223372036854775807", "9007199254740993"}},
      {"oid", {"0", "4294967295"}},
      {"xid", {"0", "4294967295"}},
      {"xid8", {"0", "18446744073709551615"}},
      {"cid", {"0", "4294967295"}},
      {"tid", {"(0,0)", "(4294967295,65535)"}},
      {"float4",
       {"NaN", "Infinity", "-Infinity", "-0", "1.4e-45", "1.17549435e-38", "3.4028235e+38", "0.1",
        "-1.2345679e-10", "16777217"}},
      {"float8",
       {"NaN", "Infinity", "-Infinity", "-0", "5e-324", "2.2250738585072014e-308",
        "1.7976931348623157e+308", "0.1", "1e15", "1e16", "123456789012345678", "=1::float8/3"}},
      {"numeric",
       {"NaN", "Infinity", "-Infinity", "0", "-0.000", "1.000", "-12345678901234567890123.5",
        "=(repeat('9', 131072) || '.' || repeat('9', 16383))::numeric",
        "=('0.' || repeat('0', 16382) || '1')::numeric"}},
      {"money", {"-92233720368547758.08", "92233720368547758.07", "0", "1.5"}},
      {"text", kText},
      {"varchar", kText},
      {"bpchar", kText},
      {"name", {"", "a b", "NULL", R"(q"u'o\te)", kPlanes, "=repeat('n', 63)"}},
      {"char", {"a", "", "\"", "\\", "=chr(1)", "=chr(233)"}},
      {"bytea",
       {"", "\\x00",
        "=decode((SELECT string_agg(lpad(to_hex(g), 2, '0'), '') FROM generate_series(0, 255) g), "
        "'hex')",
        "=decode(repeat('00ff7f80', 5000), 'hex')"}},
      {"date",
       {"infinity", "-infinity", "4713-01-01 BC", "0001-12-31 BC", "0002-01-01 BC", "0001-01-01",
        "2000-02-29", "5874897-12-31"}},
      {"time", {"00:00:00", "24:00:00", "23:59:59.999999", "12:34:56.5"}},
      {"timetz",
       {"00:00:00+15:59", "24:00:00-15:59", "12:34:56.789+05:30", "12:00:00+05:30:15",
        "23:59:59.999999-00"}},
      {"timestamp",
       {"infinity", "-infinity", "4713-01-01 00:00:00 BC", "0001-01-01 00:00:00 BC",
        "0001-12-31 23:59:59.999999 BC", "294276-12-31 23:59:59.999999", "2000-01-01 24:00:00",
        "0001-01-01 00:00:00", "1999-12-31 23:59:59.5"}},
      {"timestamptz",
       {"infinity", "-infinity", "4713-01-01 00:00:00+00 BC", "0001-01-01 00:00:00+00 BC",
        "0001-12-31 23:59:59.999999+00 BC", "294276-12-31 23:59:59.999999+00",
        "2000-01-01 24:00:00+14", "1900-01-01 00:00:00", "2024-03-31 02:30:00 Europe/Amsterdam"}},
      {"interval",
       {"0", "-178000000 years", "178000000 years", "1 mon -1 day -00:00:00.000001",
        "-2147483648 days", "2147483647 mons", "00:00:00.000001", "-12:34:56.789"}},
      {"uuid",
       {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}},
      {"inet",
       {"0.0.0.0/0", "255.255.255.255", "10.1.2.3/8", "::/0",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::ffff:1.2.3.4"}},
      {"cidr", {"0.0.0.0/0", "10.0.0.0/8", "::/0", "2001:db8::/32", "255.255.255.255/32"}},
      {"macaddr", {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}},
      {"macaddr8", {"00:00:00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff:ff:ff", "08:00:2b:01:02:03"}},
      {"point",
       {"(0,0)", "(-0,1e-308)", "(1.7976931348623157e+308,-1.7976931348623157e+308)",
        "(NaN,Infinity)"}},
      {"line", {"{1,-1,0}", "{0,1,-1.5}"}},
      {"lseg", {"[(0,0),(1,1)]", "[(-1e300,0.5),(NaN,2)]"}},
      {"box", {"(1,1),(0,0)", "(0,0),(0,0)", "(-Infinity,2),(3,Infinity)"}},
      {"path", {"[(0,0),(1,1),(2,0)]", "((0,0),(1,1))"}},
      {"polygon", {"((0,0),(1,1),(1,0))", "((0.5,-0.5))"}},
      {"circle", {"<(0,0),0>", "<(1,2),3.5>"}},
      {"bit", {"0", "1", "0101"}},
      {"varbit", {"", "1", "=repeat('01', 500)::varbit"}},
      {"tsvector", {"", "a fat:2B,4C cat:1A", R"('quo''te' 'sp ace':1 {x} \\back)"}},
      {"tsquery", {"fat & (rat | !cat)", "'sp ace':* <-> b", "!a <2> 'b'"}},
      {"xml", {"<a b=\"c\">d &amp; e</a>", "", "just text, no element", "<x>\n  <y/>\n</x>"}},
      {"json",
       {R"({"a": [1, 2.50, null], "b": "x"})", "null", "\"str\"", R"( [ ]  )", R"({"a":1,"a":2})",
        "12345678901234567890123456789012345678901234567890", "-0.0E+10", "1e400",
        R"({"big": [123456789012345678901234567890, 1.000]})", R"("\u0000 \ud83d\ude00 \"")"}},
      {"jsonb",
       {R"({"n": 1.000})", "12345678901234567890123.5", "null", R"({"a":1,"a":2})", "[]",
        R"({"big": 123456789012345678901234567890})", R"("\u00e9 \"q\" \\")", "true"}},
      {"jsonpath", {"$.a[*] ? (@ > 1)", "strict $.\"key with space\"", "$"}},
      {"pg_lsn", {"0/0", "FFFFFFFF/FFFFFFFF", "16/B374D848"}},
      {"txid_snapshot", {"10:20:10,14,15", "1:1:"}},
      {"pg_snapshot", {"10:20:10,14,15", "1:1:"}},
      {"int2vector", {"", "1 2 3", "-32768 32767"}},
      {"oidvector", {"", "1 4294967295"}},
      {"aclitem", {"postgres=arwdDxt/postgres", "='=r/postgres'"}},
      {"refcursor", {"c", "", "with \"quote\""}},
      {"regproc", {"now", "-"}},
      {"regprocedure", {"sum(integer)", "-"}},
      {"regoper", {"||/", "=0::oid"}},
      {"regoperator", {"+(integer,integer)", "=0::oid"}},
      {"regclass", {"pg_class", "-"}},
      {"regcollation", {"\"C\"", "-"}},
      {"regtype", {"integer", "timestamp with time zone[]", "-"}},
      {"regrole", {"postgres", "-"}},
      {"regnamespace", {"pg_catalog", "-"}},
      {"regconfig", {"english", "-"}},
      {"regdictionary", {"simple", "-"}},
      {"int4range", {"empty", "(,)", "[1,2)", "(,5]", "[-2147483648,2147483647)", "[3,)"}},
      {"int8range", {"empty", "(,)", "[-9223372036854775808,9223372036854775807)", "[3,)"}},
      {"numrange", {"empty", "(,)", "[-Infinity,Infinity]", "(1.000,2.50]", "[0,NaN)"}},
      {"tsrange",
       {"empty", "(,)", "[-infinity,infinity]", "[4713-01-01 00:00:00 BC,2000-01-01 24:00:00)"}},
      {"tstzrange",
       {"empty", "(,)", "[-infinity,infinity]",
        "[4713-01-01 00:00:00+00 BC,2000-01-01 00:00:00+00)"}},
      {"daterange", {"empty", "(,)", "[4713-01-01 BC,infinity)", "[-infinity,2000-01-01]"}},
      // User-defined types and an extension type (created by the test in every database).
      {"mood", {"happy", "with space", "quote\"comma,", "ünïcödé", "NULL"}},
      {"posint", {"1", "2147483647"}},
      {"label", kText},
      {"era_day", {"4713-01-01 BC", "0001-12-31 BC", "2000-01-01", "infinity"}},
      {"pair",
       {"(1,\"x y\",2000-01-01)", "(,,)", "(-1,\"\",\"4713-01-01 BC\")", R"((2,"q\"\\,",))"}},
      {"citext", kText},
      {"hstore", {"", R"(a=>1, "b c"=>NULL, "q\"\\"=>"x,y")"}},
  };
  return kEdges;
}

/// Types of pg_catalog that cannot be a column value, and why.
const std::map<std::string, std::string> kNotStorable = {
    {"gtsvector", "GiST's internal storage type: its input function always raises an error"},
};

/// Columns with type modifiers: extreme precision and scale, padding and rounding.
const std::vector<std::pair<std::string, Values>> kModified = {
    {"numeric(1000,0)", {"=repeat('9', 1000)::numeric", "-1"}},
    {"numeric(1000,1000)", {"=('0.' || repeat('9', 1000))::numeric", "0"}},
    {"numeric(5,-3)", {"99999499", "-12345678"}},
    {"numeric(10,2)", {"12.5", "-99999999.99", "NaN"}},
    {"timestamp(0)", {"2000-01-01 00:00:00.5", "4713-01-01 00:00:00.4 BC"}},
    {"timestamptz(3)", {"2000-01-01 00:00:00.12345+00", "0002-01-01 00:00:00.9995+00 BC"}},
    {"time(1)", {"23:59:59.96", "12:00:00.04"}},
    {"interval day to second(3)", {"1 day 00:00:00.0005", "-3 days"}},
    {"varchar(10)", {"0123456789", "", "=repeat(chr(128512), 10)"}},
    {"char(4)", {"ab", "", "abcd"}},
    {"bit(8)", {"00000000", "10101010"}},
    {"varbit(4)", {"", "1010"}},
};

/// `v` as a SQL expression of `type`.
std::string sql_value(const std::string& v, const std::string& type) {
  if (!v.empty() && v[0] == '=') return fmt::format("({})::{}", v.substr(1), type);
  std::string quoted = "'";
  for (char c : v) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return fmt::format("{}'::{}", quoted, type);
}

struct ColumnCase {
  std::string name;                 ///< column name in every database
  std::string type;                 ///< SQL type
  std::vector<std::string> values;  ///< SQL expressions of `type`, NULL included
};

/// Scalar and array columns for type `type` (SQL name) with edge `values`.
void add_columns(std::vector<ColumnCase>& out, const std::string& name, const std::string& type,
                 const Values& values) {
  ColumnCase scalar{"s_" + name, type, {"NULL"}};
  for (const auto& v : values) scalar.values.push_back(sql_value(v, type));
  ColumnCase array{"a_" + name, type + "[]", {"NULL", fmt::format("'{{}}'::{}[]", type)}};
  std::vector<std::string> elements(scalar.values.begin() + 1, scalar.values.end());
  std::string all;
  for (const auto& e : elements) all += e + ", ";
  array.values.push_back(fmt::format("ARRAY[{}NULL]::{}[]", all, type));
  if (elements.size() >= 2) {
    // Two dimensions, with NULLs; and a lower bound that is not 1.
    array.values.push_back(
        fmt::format("ARRAY[[{0}, NULL], [NULL, {1}]]::{2}[]", elements[0], elements[1], type));
    array.values.push_back(
        fmt::format("('[0:1]=' || ARRAY[{}, {}]::text)::{}[]", elements[1], elements[0], type));
  }
  for (const auto& e : elements) array.values.push_back(fmt::format("ARRAY[{}]::{}[]", e, type));
  out.push_back(std::move(scalar));
  out.push_back(std::move(array));
}

constexpr const char* kUserTypes =
    "CREATE EXTENSION IF NOT EXISTS citext; CREATE EXTENSION IF NOT EXISTS hstore; "
    "CREATE TYPE mood AS ENUM ('happy', 'sad', 'with space', 'quote\"comma,', 'ünïcödé', 'NULL'); "
    "CREATE DOMAIN posint AS int CHECK (VALUE > 0); "
    "CREATE DOMAIN label AS text CHECK (VALUE <> 'forbidden'); "
    "CREATE DOMAIN era_day AS date; "
    "CREATE TYPE pair AS (a int, b text, d date)";

std::string row_values_sql(const std::vector<ColumnCase>& columns, int row, int shift) {
  std::string out;
  for (const auto& c : columns) {
    out += ", " + c.values[static_cast<size_t>(row + shift) % c.values.size()];
  }
  return out;
}

/// The oracle: a table of every type replicated by PostgreSQL itself and by modsync with the
/// given `kafka:` and `source:` settings (envelope form, value mode); every cell compared.
void check_fidelity(const std::string& kafka_extra, const std::string& source_extra) {
  ApplyHarness h;
  auto& pg = h.pg();
  pg.create_database("native");
  // A session time zone with a half-hour offset, and historic offsets in seconds (before 1935).
  h.src("ALTER DATABASE shop SET timezone = 'America/St_Johns'");
  h.src(kUserTypes);
  // Different OIDs for the same names in the subscriber: OIDs must not travel.
  h.sub("CREATE TYPE unrelated AS ENUM ('x'); CREATE TABLE unrelated_table (i int)");
  h.sub(kUserTypes);
  pg.exec("native", kUserTypes);

  // The built-in types, from the catalog: base, range and multirange types of pg_catalog that
  // are not themselves array types.
  const auto catalog = pg.query(
      "shop",
      "SELECT t.typname, t.typtype, coalesce(r.typname, '') FROM pg_type t "
      "LEFT JOIN pg_range m ON m.rngmultitypid = t.oid LEFT JOIN pg_type r ON r.oid = m.rngtypid "
      "WHERE t.typnamespace = 'pg_catalog'::regnamespace AND t.typtype IN ('b', 'r', 'm') "
      "AND t.typisdefined AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid) "
      "ORDER BY t.typname");
  REQUIRE(catalog.size() > 80);
  std::vector<ColumnCase> columns;
  std::vector<std::string> missing;
  std::map<std::string, std::string> multiranges;  // multirange → its range type
  for (const auto& row : catalog) {
    const std::string name = *row[0];
    if (kNotStorable.count(name)) continue;
    if (*row[1] == "m") {
      multiranges[name] = *row[2];
      continue;
    }
    const auto it = edges().find(name);
    if (it == edges().end()) {
      // A type without an input function (planner statistics, node trees) cannot be a value.
      if (pg.query_value("shop", fmt::format("SELECT typarray = 0 FROM pg_type WHERE typname = "
                                             "'{}' AND typnamespace = 'pg_catalog'::regnamespace",
                                             name)) == "t")
        continue;
      missing.push_back(name);
      continue;
    }
    add_columns(columns, name, "pg_catalog." + name, it->second);
  }
  // Multiranges from their range's edge values: empty, each range alone, and all together.
  for (const auto& [multi, range] : multiranges) {
    Values values = {"{}"};
    std::string all;
    for (const auto& r : edges().at(range)) {
      values.push_back(fmt::format("=pg_catalog.{}({})", multi, sql_value(r, range)));
      all += (all.empty() ? "" : ", ") + sql_value(r, range);
    }
    values.push_back(fmt::format("=(SELECT range_agg(x) FROM unnest(ARRAY[{}]) x)", all));
    add_columns(columns, multi, "pg_catalog." + multi, values);
  }
  INFO("pg_catalog types without edge values in this test: " << fmt::format(
           "{}", fmt::join(missing, ", ")));
  REQUIRE(missing.empty());
  for (const char* user : {"mood", "posint", "label", "era_day", "pair", "citext", "hstore"}) {
    add_columns(columns, user, user, edges().at(user));
  }
  for (size_t i = 0; i < kModified.size(); ++i) {
    add_columns(columns, fmt::format("mod{}", i), kModified[i].first, kModified[i].second);
  }

  size_t rows = 0;
  std::string defs = "id int PRIMARY KEY, v int NOT NULL";
  for (const auto& c : columns) {
    rows = std::max(rows, c.values.size());
    defs += fmt::format(", {} {}", c.name, c.type);
  }
  const std::string create = fmt::format("CREATE TABLE fidelity ({})", defs);
  h.src(create);
  pg.exec("native", create);
  const int n = static_cast<int>(rows);
  auto insert = [&](int from, int shift) {
    for (int r = from; r < from + n; ++r) {
      std::string names = "id, v";
      for (const auto& c : columns) names += ", " + c.name;
      h.src(fmt::format("INSERT INTO fidelity ({}) VALUES ({}, 0{})", names, r,
                        row_values_sql(columns, r, shift)));
    }
  };
  insert(0, 0);  // the snapshot's rows

  // PostgreSQL's replica: a subscription in the same cluster needs its slot made beforehand.
  h.src("CREATE PUBLICATION native_pub FOR TABLE fidelity");
  pg.query("shop", "SELECT pg_create_logical_replication_slot('native_sub', 'pgoutput')");
  pg.exec("native", fmt::format("CREATE SUBSCRIPTION native_sub CONNECTION '{}' PUBLICATION "
                                "native_pub WITH (create_slot = false, slot_name = 'native_sub')",
                                pg.dsn("shop")));

  const auto config = h.write_config("fidelity", "tables: [fidelity]\n" + source_extra,
                                     "- from: shop.public.fidelity\n"
                                     "  to: fidelity\n"
                                     "  create_table: true",
                                     "", kafka_extra);
  auto daemon = h.start(config, {"streaming from slot", "applying into"}, 60s);

  std::string select = "SELECT id::text, v::text";
  for (const auto& c : columns) select += fmt::format(", {}::text", c.name);
  select += " FROM fidelity ORDER BY id";
  const std::string progress = "SELECT count(*) || '/' || coalesce(sum(v), 0) FROM fidelity";

  // Compares every cell of the two copies once both caught up with the source.
  auto compare = [&](const std::string& phase) {
    const std::string want = h.src_value(progress);
    const bool caught_up = modsync::testing::eventually(
        [&] {
          return pg.query_value("native", progress) == want &&
                 (h.sub_value("SELECT to_regclass('fidelity') IS NOT NULL") == "t" &&
                  h.sub_value(progress) == want);
        },
        90s, 200ms);
    const auto native = pg.query("native", select);
    const auto projected = h.sub_value("SELECT to_regclass('fidelity') IS NOT NULL") == "t"
                               ? pg.query("ship", select)
                               : modsync::testing::PgRows{};
    std::map<std::string, std::vector<std::string>> diffs;  // column → differences
    std::map<std::string, const modsync::testing::PgRows::value_type*> by_id;
    for (const auto& r : projected) by_id[*r[0]] = &r;
    std::set<std::string> native_ids;
    for (const auto& r : native) native_ids.insert(*r[0]);
    for (const auto& r : projected) {
      if (!native_ids.count(*r[0]))
        diffs["(row)"].push_back("id " + *r[0] + " is only in the projection");
    }
    auto show = [](const std::optional<std::string>& v) {
      if (!v) return std::string("NULL");
      return v->size() > 120 ? v->substr(0, 120) + fmt::format("…({} bytes)", v->size()) : *v;
    };
    for (const auto& r : native) {
      const auto it = by_id.find(*r[0]);
      if (it == by_id.end()) {
        diffs["(row)"].push_back("id " + *r[0] + " is missing from the projection");
        continue;
      }
      const auto& p = *it->second;
      for (size_t i = 1; i < r.size(); ++i) {
        if (r[i] == p[i]) continue;
        const std::string column = i == 1 ? "v" : columns[i - 2].name;
        diffs[column].push_back(
            fmt::format("id {}: native {} | modsync {}", *r[0], show(r[i]), show(p[i])));
      }
    }
    std::string report;
    for (const auto& [column, list] : diffs) {
      report += fmt::format("{} ({} rows):\n", column, list.size());
      for (size_t i = 0; i < list.size() && i < 3; ++i) report += "    " + list[i] + "\n";
    }
    INFO(phase << ": " << diffs.size() << " columns differ\n" << report);
    INFO(daemon.describe());
    CHECK(caught_up);
    CHECK(native.size() == projected.size());
    CHECK(diffs.empty());
  };

  compare("snapshot");

  insert(n, 1);  // streamed inserts
  // Streamed updates of every column, to other edge values.
  for (int r = 0; r < n; ++r) {
    std::string sets = "v = v + 1";
    for (const auto& c : columns) {
      sets +=
          fmt::format(", {} = {}", c.name, c.values[static_cast<size_t>(r + 2) % c.values.size()]);
    }
    h.src(fmt::format("UPDATE fidelity SET {} WHERE id = {}", sets, r));
  }
  // Updates that leave TOASTed values unchanged (pgoutput does not send them).
  h.src("UPDATE fidelity SET v = v + 1 WHERE id >= " + std::to_string(n));
  // Deletes (and their tombstones) between the changes.
  h.src("DELETE FROM fidelity WHERE id % 7 = 3");
  compare("streaming");
  ApplyHarness::stop(daemon);
}

}  // namespace

TEST_CASE("every type reads the same in the projection as in PostgreSQL's own replica",
          "[integration][apply][types]") {
  check_fidelity("", "");
}

TEST_CASE("every type reads the same with Debezium's value forms in schema+payload envelopes",
          "[integration][apply][types][debezium]") {
  check_fidelity("envelope: schema_payload", "value_mode: debezium");
}

TEST_CASE("every type reads the same with Debezium's value forms and no schema in the event",
          "[integration][apply][types][debezium]") {
  // The apply side then reads the Debezium forms by the target columns' types.
  check_fidelity("", "value_mode: debezium");
}

TEST_CASE("every type reads the same in schema+payload envelopes with modsync's values",
          "[integration][apply][types][debezium]") {
  check_fidelity("envelope: schema_payload", "");
}
