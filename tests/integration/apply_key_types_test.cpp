// Generated workloads on tables keyed by many PostgreSQL types: seeded random transactions
// (inserts, value updates, key updates, delete and insert again, and updates that rewrite a key's
// text but not its value where the type allows it), captured, sent over several partitions and
// applied by two workers per projection. The oracle is SQL on the source: each projection must
// hold the source's rows, compared as text in both databases, and the events of each row,
// grouped by the source type's own equality, must share one partition (kcat reads them).

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apply_harness.hpp"
#include "modsync/testing/kcat.hpp"

using namespace std::chrono_literals;
using modsync::itest::ApplyHarness;
using modsync::itest::output;

namespace {

const std::vector<std::string> kStreaming = {"streaming from slot", "applying into"};
constexpr const char* kPosition = "_modsync_lsn pg_lsn, _modsync_seq integer";

/// One key type under test: table `table` (a int, k `type`, v int), keyed by k, or by (a, k)
/// when `composite`. SQL templates: "@i" stands for a slot number, "@k" for a key value.
struct KeyType {
  std::string table;
  std::string type;
  /// The key of slot @i (0 to kSlots - 1), a typed SQL expression.
  std::string key;
  /// SQL of an equal value of @k in another text, one picked at random; none if empty.
  std::vector<std::string> respell = {};
  /// SQL of the key in row image r (jsonb, an event's before or after) as `type`, for grouping
  /// events by the source's equality; empty: (r->>'k')::type.
  std::string from_event = "";
  bool composite = false;
};

constexpr int kSlots = 14;

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
  return s;
}

/// SQL run in both databases before the tables: the types the key types use.
constexpr const char* kTypesSql = R"(
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'a b', 'x"y');
CREATE DOMAIN dint AS int CHECK (VALUE > -100000);
CREATE DOMAIN dtext AS text CHECK (VALUE <> 'forbidden');
CREATE DOMAIN dnum AS numeric;
CREATE DOMAIN dcitext AS citext;
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
)";

/// Key types whose equal values always have equal text in the events, or whose other texts
/// modsync folds (numeric, float -0, citext): the projections must equal the source.
std::vector<KeyType> canonical_key_types() {
  return {
      {"k_int2", "int2",
       "(CASE @i WHEN 0 THEN -32768 WHEN 1 THEN 32767 ELSE @i * 37 - 200 END)::int2"},
      {"k_int4", "int4",
       "(CASE @i WHEN 0 THEN -2147483648 WHEN 1 THEN 2147483647 ELSE @i * 7919 END)::int4"},
      {"k_int8", "int8",
       "(CASE @i WHEN 0 THEN -9223372036854775808 WHEN 1 THEN 9223372036854775807 ELSE @i * "
       "1099511627776 END)::int8"},
      {"k_text", "text",
       R"((ARRAY[E'tab\there', E'new\nline', E'back\\slash', 'quote"d', '{br,ace}', 'NULL', '',)"
       R"( ' lead', 'trail ', 'straße', '😀', E'\\N', 'a''b'])[1 + @i % 13] || CASE WHEN @i >= 13)"
       R"( THEN @i::text ELSE '' END)"},
      {"k_varchar", "varchar(12)", "('v' || @i || repeat('x', @i % 5))::varchar(12)"},
      {"k_char", "char(4)", "('c' || @i)::char(4)"},
      {"k_uuid", "uuid", "md5(@i::text)::uuid"},
      {"k_bytea",
       "bytea",
       "substring(decode(md5(@i::text) || md5((@i + 1)::text), 'hex') from 1 for @i)",
       {},
       "decode(r->>'k', 'base64')"},
      {"k_date",
       "date",
       "(CASE @i WHEN 0 THEN 'infinity' WHEN 1 THEN '-infinity' WHEN 2 THEN '0044-03-15 BC' WHEN 3 "
       "THEN '10000-01-01' ELSE (date '2000-02-27' + @i)::text END)::date",
       {},
       "r->>'k'"},
      {"k_timestamp",
       "timestamp",
       "(CASE @i WHEN 0 THEN 'infinity' WHEN 1 THEN '-infinity' WHEN 2 THEN '0044-03-15 "
       "12:00:00.5 BC' WHEN 3 THEN '2000-01-01 00:00:00.000001' ELSE (timestamp '2026-03-08 "
       "01:30' + @i * interval '17 minutes 0.25 seconds')::text END)::timestamp",
       {},
       "r->>'k'"},
      {"k_timestamp3", "timestamp(3)",
       "(timestamp '2026-11-01 00:59:59.999' + @i * interval '0.001 seconds')::timestamp(3)"},
      // America/St_Johns in the source: -03:30 and -02:30 around its DST change, -03:30:52
      // (local mean time) in 1850; the sink's zone is another.
      {"k_timestamptz", "timestamptz",
       "(CASE @i WHEN 0 THEN 'infinity' WHEN 1 THEN '-infinity' WHEN 2 THEN '1850-01-01 "
       "12:00:00+00' ELSE (timestamptz '2026-03-08 05:00:00+00' + @i * interval '23 minutes "
       "0.000001 seconds')::text END)::timestamptz"},
      {"k_time", "time",
       "(CASE @i WHEN 0 THEN '24:00:00' WHEN 1 THEN '00:00:00' ELSE (time '12:00' + @i * interval "
       "'61.5 seconds')::text END)::time"},
      {"k_timetz", "timetz",
       "((time '10:00' + @i / 3 * interval '1 minute')::text || (ARRAY['+00', '-03:30', "
       "'+05:45'])[1 + @i % 3])::timetz"},
      {"k_interval", "interval",
       "(CASE @i WHEN 0 THEN '1 mon' WHEN 1 THEN '-1 days +02:00:00' WHEN 2 THEN '0.000001 "
       "seconds' WHEN 3 THEN '-1 days -02:03:04' WHEN 4 THEN '-1000 years' ELSE "
       "make_interval(months => @i % 3, days => @i "
       "% 5, hours => @i)::text END)::interval"},
      {"k_float4",
       "float4",
       "(CASE @i WHEN 0 THEN '-0' WHEN 1 THEN 'NaN' WHEN 2 THEN 'Infinity' WHEN 3 THEN "
       "'-Infinity' WHEN 4 THEN '1e-40' WHEN 5 THEN '3.4028235e38' WHEN 6 THEN '0.1' ELSE (@i / "
       "7.0)::text END)::float4",
       {"CASE WHEN @k = 0 THEN -@k ELSE @k END"}},
      {"k_float8",
       "float8",
       "(CASE @i WHEN 0 THEN '-0' WHEN 1 THEN 'NaN' WHEN 2 THEN 'Infinity' WHEN 3 THEN "
       "'-Infinity' WHEN 4 THEN '5e-324' WHEN 5 THEN '1.7976931348623157e308' WHEN 6 THEN '0.1' "
       "ELSE (@i / 7.0)::text END)::float8",
       {"CASE WHEN @k = 0 THEN -@k ELSE @k END"}},
      {"k_numeric",
       "numeric",
       "(CASE @i WHEN 0 THEN 'NaN' WHEN 1 THEN 'Infinity' WHEN 2 THEN '-Infinity' WHEN 3 THEN "
       "'0.000' WHEN 4 THEN '-12345678901234567890.123456789' ELSE (@i / 4.0)::text END)::numeric",
       {"trim_scale(@k)", "@k + 0.0", "@k + 0.0000"}},
      {"k_numeric_ps", "numeric(10,2)", "(@i / 3.0)::numeric(10,2)"},
      {"k_bool", "boolean", "(@i % 2 = 0)"},
      {"k_enum", "mood", "(ARRAY['sad', 'ok', 'happy', 'a b', 'x\"y'])[1 + @i % 5]::mood"},
      {"k_inet", "inet",
       "(CASE @i % 4 WHEN 0 THEN '10.1.' || @i || '.7/' || (16 + @i) WHEN 1 THEN '10.1.' || @i "
       "|| '.7' WHEN 2 THEN '2001:db8::' || to_hex(@i) || '/64' ELSE '::ffff:10.0.0.' || @i "
       "END)::inet"},
      {"k_cidr", "cidr",
       "(CASE @i % 2 WHEN 0 THEN '10.' || @i || '.0.0/16' ELSE '2001:db8:' || to_hex(@i) || "
       "'::/48' END)::cidr"},
      {"k_macaddr", "macaddr", "('08:00:2B:01:02:' || lpad(to_hex(@i), 2, '0'))::macaddr"},
      {"k_jsonb", "jsonb",
       "jsonb_build_object('i', @i, 's', repeat('é\"', @i % 3), 'n', @i / 8.0, 'a', "
       "jsonb_build_array(null, true, @i * 1e20))"},
      {"k_dint", "dint", "(@i * 13 - 50)::dint"},
      {"k_dtext", "dtext", "('d' || @i || E'\\t')::dtext"},
      {"k_int_array",
       "int[]",
       "(CASE @i % 4 WHEN 0 THEN ARRAY[@i, NULL] WHEN 1 THEN ARRAY[[@i, 1], [2, 3]] WHEN 2 THEN "
       "('[0:1]={' || @i || ',5}')::int[] ELSE (CASE WHEN @i = 3 THEN '{}' ELSE '{' || @i || "
       "'}' END)::int[] END)",
       {},
       "CASE jsonb_typeof(r->'k') WHEN 'string' THEN (r->>'k')::int[] ELSE translate(r->>'k', "
       "'[]', '{}')::int[] END"},
      {"k_text_array",
       "text[]",
       R"(ARRAY['x' || @i, 'NULL', NULL, 'a,b', 'q"t', E'b\\s', '{}', ''])",
       {},
       "ARRAY(SELECT jsonb_array_elements_text(r->'k'))"},
      {"k_citext",
       "citext",
       "('Key' || @i || 'ß')::citext",
       {"upper(@k)::citext", "lower(@k)::citext", "initcap(@k)::citext"}},
      {"k_ci", "text COLLATE ci", "('Ci' || @i)"},
      {"c_int_text", "text", "'x' || @i", {}, "", true},
      {"c_int_numeric", "numeric", "(@i / 8.0)", {"trim_scale(@k)", "@k + 0.000"}, "", true},
      {"k_interval_span",
       "interval",
       "make_interval(days => @i % 4, hours => @i)",
       {"justify_interval(@k)", "extract(epoch from @k) * interval '1 second'"}},
      {"k_bpchar_blanks",
       "bpchar",
       "('b' || @i)::bpchar",
       {"rtrim(@k)::bpchar", "(@k::text || '  ')::bpchar"}},
      {"c_int_timestamptz",
       "timestamptz",
       "timestamptz '2026-10-25 00:00:00+00' + @i * interval '13 minutes'",
       {},
       "",
       true},
  };
}

/// Key types whose equal values can have other texts that modsync does not fold into the Kafka
/// key (docs/events.md, "The key"): the known limits, run by name.
std::vector<KeyType> loose_key_types() {
  return {
      {"l_ci", "text COLLATE ci", "('Ci' || @i)", {"upper(@k)", "lower(@k)", "initcap(@k)"}},
      {"l_dnum", "dnum", "(@i / 4.0)::dnum", {"trim_scale(@k)::dnum", "(@k + 0.000)::dnum"}},
      {"l_dcitext",
       "dcitext",
       "('Key' || @i)::dcitext",
       {"upper(@k)::dcitext", "lower(@k)::dcitext"}},
      {"l_jsonb",
       "jsonb",
       "jsonb_build_object('n', @i / 4.0)",
       {"jsonb_build_object('n', trim_scale((@k->>'n')::numeric))",
        "jsonb_build_object('n', (@k->>'n')::numeric + 0.000)"}},
      {"l_numeric_array",
       "numeric[]",
       "ARRAY[@i / 4.0, 1]",
       {"ARRAY[trim_scale((@k)[1]), (@k)[2]]", "ARRAY[(@k)[1] + 0.000, (@k)[2]]"},
       "ARRAY(SELECT jsonb_array_elements_text(r->'k'))::numeric[]"},
  };
}

std::string key_columns(const KeyType& t) {
  return t.composite ? "a, k" : "k";
}

/// The key tuple of slot `i`, to compare with (key_columns(t)).
std::string key_of(const KeyType& t, int i) {
  const std::string k = replace_all(t.key, "@i", std::to_string(i));
  return t.composite ? fmt::format("{}, {}", i % 3, k) : k;
}

/// Creates the types and the tables in shop and ship and fills each source table with the keys
/// of the even slots, some respelled (the snapshot's rows).
void create_tables(ApplyHarness& h, const std::vector<KeyType>& types) {
  h.src(kTypesSql);
  h.sub(kTypesSql);
  for (const auto& t : types) {
    const std::string pk = fmt::format("PRIMARY KEY ({})", key_columns(t));
    h.src(
        fmt::format("CREATE TABLE {} (a int NOT NULL DEFAULT 0, k {} NOT NULL, v int NOT NULL, {})",
                    t.table, t.type, pk));
    h.sub(fmt::format("CREATE TABLE {} (a int, k {}, v int, {}, {})", t.table, t.type, kPosition,
                      pk));
    std::string sql;
    for (int i = 0; i < kSlots; i += 2) {
      std::string key = replace_all(t.key, "@i", std::to_string(i));
      if (!t.respell.empty() && i % 4 == 0)
        key = replace_all(t.respell[static_cast<size_t>(i / 4) % t.respell.size()], "@k",
                          "(" + key + ")");
      sql += fmt::format("INSERT INTO {} VALUES ({}, {}, {}) ON CONFLICT DO NOTHING;", t.table,
                         i % 3, key, i);
    }
    h.src(sql);
  }
}

/// One random step on one table: the statements never fail (guards instead of errors), so a
/// transaction of many commits whatever the rows are.
std::string random_step(const KeyType& t, std::mt19937_64& rng, int value) {
  const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const int i = static_cast<int>(pick(kSlots)), j = static_cast<int>(pick(kSlots));
  const std::string cols = key_columns(t), at = key_of(t, i);
  const std::string a = t.composite ? "" : fmt::format("a = {}, ", pick(100));
  const auto respelled = [&](const std::string& k) {
    return replace_all(t.respell[pick(t.respell.size())], "@k", "(" + k + ")");
  };
  switch (pick(t.respell.empty() ? 5 : 6)) {
    case 0:
      return fmt::format("INSERT INTO {} ({}, v{}) VALUES ({}, {}{}) ON CONFLICT DO NOTHING;",
                         t.table, cols, t.composite ? "" : ", a", at, value,
                         t.composite ? "" : fmt::format(", {}", pick(100)));
    case 1:
      return fmt::format("UPDATE {} SET {}v = {} WHERE ({}) = ({});", t.table, a, value, cols, at);
    case 2:  // the row moves to another key
      return fmt::format(
          "UPDATE {0} SET ({1}) = ROW({2}), v = {3} WHERE ({1}) = ({4}) AND NOT EXISTS (SELECT 1 "
          "FROM {0} WHERE ({1}) = ({2}));",
          t.table, cols, key_of(t, j), value, at);
    case 3: {  // deleted, and inserted again (under another text where the type has one)
      std::string again = at;
      if (!t.respell.empty()) {
        const std::string k = replace_all(t.key, "@i", std::to_string(i));
        again = t.composite ? fmt::format("{}, {}", i % 3, respelled(k)) : respelled(k);
      }
      return fmt::format(
          "DELETE FROM {0} WHERE ({1}) = ({2}); INSERT INTO {0} ({1}, v) VALUES ({3}, {4}) ON "
          "CONFLICT DO NOTHING;",
          t.table, cols, at, again, value);
    }
    case 4:
      return fmt::format("DELETE FROM {} WHERE ({}) = ({});", t.table, cols, at);
    default:  // the key's text changes, its value does not
      return fmt::format("UPDATE {} SET k = {}, v = {} WHERE ({}) = ({});", t.table, respelled("k"),
                         value, cols, at);
  }
}

/// Both databases' rows of `t` as text (output functions and ::text casts), in UTC and in one
/// DateStyle and IntervalStyle whatever the databases' own.
std::string rows_query(const KeyType& t) {
  return fmt::format(
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SELECT * "
      "FROM (SELECT k::text, row(a, k, v)::text AS r FROM {}) s "
      "ORDER BY r COLLATE \"C\"",
      t.table);
}

/// The rows of `t` whose events, grouped by the source type's equality, are on more than one
/// partition (kcat reads the topic): "" when none are.
std::string split_rows(ApplyHarness& h, const KeyType& t) {
  const auto events =
      modsync::testing::kcat_consume(h.broker().bootstrap(), "shop.public." + t.table, 1, 20s);
  std::string rows;
  for (const auto& e : events) {
    if (e.null_value) continue;
    rows += fmt::format("{}({}, $ev${}$ev$::jsonb)", rows.empty() ? "" : ",", e.partition, e.value);
  }
  if (rows.empty()) return "no events";
  const std::string from_event =
      t.from_event.empty() ? fmt::format("(r->>'k')::{}", t.type) : t.from_event;
  const std::string key = t.composite ? "(r->>'a')::int, " + from_event : from_event;
  return h.src_value(fmt::format(
      "CREATE TEMP TABLE seen (p int, e jsonb); INSERT INTO seen VALUES {0}; "
      "SELECT coalesce(string_agg(coalesce(g::text, 'NULL'), ' '), '') FROM (SELECT {1} AS g "
      "FROM (SELECT CASE jsonb_typeof(e->'after') WHEN 'object' THEN e->'after' ELSE "
      "e->'before' END AS r, p FROM seen WHERE e ? 'op') s "
      "GROUP BY {1} HAVING count(DISTINCT p) > 1) x",
      rows, t.composite ? "(" + key + ")" : key));
}

struct Workload {
  uint64_t seed;
  /// Run on the cluster before the tables are made: the two databases' session defaults.
  std::string settings =
      "ALTER DATABASE shop SET TimeZone = 'America/St_Johns'; ALTER DATABASE ship SET TimeZone "
      "= 'Asia/Kathmandu'";
  int transactions = 60;
  int steps = 40;
  /// Between the two halves of the transactions the daemon is stopped and started again,
  /// after `between_runs` ran on the source.
  std::string between_runs = "";
  /// Whether each row's events must share a partition (false for the known limits, where only
  /// the projection's convergence is checked).
  bool one_partition_per_row = true;
};

/// Runs `w` over `types`: snapshot, first half, restart, second half; CHECKs that every
/// projection equals its source table and that no row's events were split over partitions.
void run_workload(const std::vector<KeyType>& types, const Workload& w) {
  ApplyHarness h({.partitions = 4});
  // Two workers and a capture per projection: more than the default 100 connections.
  h.pg().exec("postgres", "ALTER SYSTEM SET max_connections = 300");
  h.pg().restart();
  h.pg().exec("postgres", w.settings);
  create_tables(h, types);
  std::string tables, projections;
  for (const auto& t : types) {
    tables += (tables.empty() ? "" : ", ") + t.table;
    projections += fmt::format("- from: shop.public.{0}\n  to: {0}\n", t.table);
  }
  // Chunks of three rows: the snapshot reads each table in several key ranges, bounded by keys
  // printed and read back as text.
  const auto config = h.write_config(
      "itest", fmt::format("tables: [{}]\nsnapshot_chunk_rows: 3\nsnapshot_workers: 2", tables),
      projections, "workers: 2\nbatch_rows: 200");
  auto daemon = h.start(config, kStreaming, 60s);
  INFO("seed " << w.seed);
  for (const auto& t : types) {
    const bool same = h.converges(rows_query(t), rows_query(t), 30s);
    INFO("snapshot of " << t.table << " (" << t.type << ")\n"
                        << h.last_difference().substr(0, 3000));
    CHECK(same);
  }
  std::mt19937_64 rng(w.seed);
  for (int tx = 0; tx < w.transactions; ++tx) {
    if (tx == w.transactions / 2) {
      ApplyHarness::stop(daemon);
      if (!w.between_runs.empty()) h.pg().exec("postgres", w.between_runs);
      daemon = h.start(config, kStreaming, 60s);
    }
    std::string sql = "BEGIN;";
    for (int step = 0; step < w.steps; ++step)
      sql += random_step(types[rng() % types.size()], rng, tx * 1000 + step);
    h.src(sql + "COMMIT;");
  }
  for (const auto& t : types) {
    const bool same = h.converges(rows_query(t), rows_query(t), 30s);
    INFO("table " << t.table << " (" << t.type << ")\n"
                  << h.last_difference().substr(0, 3000) << output(daemon).substr(0, 5000));
    CHECK(same);
  }
  for (const auto& t : types) {
    if (!w.one_partition_per_row) break;
    INFO("table " << t.table << " (" << t.type
                  << "): rows whose events are on several "
                     "partitions");
    CHECK(split_rows(h, t) == "");
  }
  ApplyHarness::stop(daemon);
}

}  // namespace

TEST_CASE("keys of many types apply as the source has them over partitions and workers",
          "[integration][apply][keytypes]") {
  run_workload(canonical_key_types(), {.seed = 20261202});
}

// Known limits (docs/events.md, "The key"): a key whose text changes without its value changing,
// for the types the Kafka key does not fold (text under a nondeterministic collation, domains
// over numeric or citext, numbers inside jsonb or numeric[]), may have its events split over
// partitions and applied out of order. Hidden: kcat finds such rows on several partitions; the
// projections themselves converge (the merge folds such lines by the target's equality).
TEST_CASE("keys whose other texts are not folded split their rows over partitions",
          "[integration][apply][keytypes][.]") {
  run_workload(loose_key_types(), {.seed = 20261203});
}

/// The key types of `canonical_key_types()` of the given column types.
std::vector<KeyType> key_types_of(std::initializer_list<std::string> column_types) {
  std::vector<KeyType> out;
  for (const auto& t : canonical_key_types())
    for (const auto& c : column_types)
      if (t.type == c) out.push_back(t);
  return out;
}

// The events of a timestamptz carry the source session's zone: after the source's TimeZone
// changed (the daemon restarted, the database's setting changed meanwhile) a row's events carry
// its key at another offset. The projection must still apply them as one row, and each row's
// events stay on one partition: before, the sink took a timestamptz's text for its value and its
// merge failed ("ON CONFLICT DO UPDATE command cannot affect row a second time"), the projection
// stopped with rows missing; and the Kafka key changed with the offset (now the instant in UTC),
// so kcat found rows on two partitions.
TEST_CASE("a timestamptz key applies as one row when the source's time zone changes",
          "[integration][apply][keytypes][regression]") {
  run_workload(
      key_types_of({"timestamptz"}),
      {.seed = 20261204, .between_runs = "ALTER DATABASE shop SET TimeZone = 'Pacific/Chatham'"});
}

// A source database whose defaults print dates and intervals in other forms: 'SQL, DMY' printed
// 08/03/2026, which a sink in MDY read as August 3 (a BC date it rejected); an sql_standard
// interval '-1 2:03:04' is -(1 day 02:03:04), which the sink read as -1 day +02:03:04.
// modsync's connections now pin the output settings the type mapping reads.
TEST_CASE(
    "dates and intervals of a source in another DateStyle and IntervalStyle apply as they are",
    "[integration][apply][keytypes][regression]") {
  run_workload(key_types_of({"date", "timestamp", "timestamptz", "interval"}),
               {.seed = 20261205,
                .settings = "ALTER DATABASE shop SET DateStyle = 'SQL, DMY'; ALTER DATABASE shop "
                            "SET IntervalStyle = 'sql_standard'; ALTER DATABASE ship SET DateStyle "
                            "= 'ISO, MDY'"});
}
