#pragma once
// What one chaos run is made of, drawn from its seed: source tables of several kinds, the
// projections of each (columns, renames, ops, on_delete, `where` in modsync's language and in
// SQL), and the switches that gate workload features hitting known, still unfixed defects.

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace modsync::chaos {

using Rng = std::mt19937_64;

inline int uniform(Rng& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}
inline bool chance(Rng& rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}

/// Named switches (docs/testing.md, "Feature switches"). Each enables a part of the workload or
/// of the fault schedule that is known to hit a defect still open in issue #7.
struct Features {
  std::set<std::string> on;
  bool has(const std::string& name) const { return on.count(name) > 0; }
  /// Parses "a,b,c", "all" or "none"; throws std::runtime_error naming an unknown switch.
  static Features parse(const std::string& list);
  static const std::vector<std::string>& all_names();
  std::string to_string() const;
};

enum class ColType {
  kSmallint,
  kInt,
  kBigint,
  kNumeric,
  kFloat,
  kBool,
  kText,
  kVarchar,
  kDate,
  kTimestamptz,
  kUuid,
  kJsonb,
  kIntArray,
  kBytea,
  kBigText
};

struct Column {
  std::string name;
  ColType type;
  bool key = false;
  bool not_null = false;
};

enum class TableKind { kKeyed, kComposite, kKeyless, kFull, kToast, kWide, kPartitioned };

struct Table {
  std::string name;
  TableKind kind;
  std::vector<Column> columns;
  int topic_partitions = 1;
  int seed_rows = 0;  ///< rows written before modsync starts
  int pair = 0;       ///< 0: the snapshotting pair; 1: the `snapshot: never` pair (keyless)
  bool insert_only() const { return kind == TableKind::kKeyless; }
  bool replica_full() const { return kind == TableKind::kFull; }
  bool has_key() const { return kind != TableKind::kKeyless; }
  std::vector<const Column*> keys() const;
  const Column* find(const std::string& name) const;
  bool has_big() const;
  std::string topic() const { return "shop.public." + name; }
};

enum class OnDelete { kDelete, kSoft, kIgnore };

struct Projection {
  int table = 0;  ///< index into Scenario::tables
  std::string target;
  std::vector<std::pair<std::string, std::string>> columns;  ///< source → target, in order
  std::string where;      ///< modsync's `where` language ("" = every row)
  std::string where_sql;  ///< the same filter in SQL ("" = every row)
  std::string ops = "cudrt";
  OnDelete on_delete = OnDelete::kDelete;
  bool append_only = false;  ///< target without a primary key
  bool create_table = false;
  /// How the oracle compares: exact, live rows only (soft), or "every filtered source row is
  /// there" (deletes not applied: on_delete ignore, or no `d` in ops).
  enum class Check { kExact, kLive, kCovers, kMultiset } check = Check::kExact;
  std::string describe(const Table& t) const;
};

struct Scenario {
  uint64_t seed = 0;
  Features features;
  std::vector<Table> tables;
  std::vector<Projection> projections;
  int snapshot_chunk_rows = 100;
  int batch_rows = 500;
  int batch_time_ms = 10;
  int sink_workers = 1;  ///< sink.workers: 2 to 4 with the `workers` switch
  /// With the `processes` switch: 2 or 3 sink-only daemons sharing every projection through a
  /// consumer group (sink.group), a capture-only daemon beside them. 0: one daemon, every pair.
  int apply_replicas = 0;

  /// Draws everything from `seed`.
  static Scenario generate(uint64_t seed, const Features& features);
};

/// SQL type of a column.
std::string sql_type(ColType t);
/// A random SQL literal of the column's type (NULL sometimes unless not_null). BigText values
/// are random, incompressible, `big_size` characters long when big_size > 0.
std::string random_literal(Rng& rng, const Column& c, int big_size = 0);
/// "\"name\"", doubling quotes.
std::string quote_ident(const std::string& name);
/// "'text'", doubling quotes.
std::string quote_literal(const std::string& text);
/// A random ASCII letters-and-digits string, incompressible for pglz.
std::string random_text(Rng& rng, size_t size);
/// How a value is compared, as an SQL expression over `expr` (md5 for large text, UTC text for
/// times): used on both sides so the oracle compares like with like.
std::string compare_expr(const Column& c, const std::string& expr);

}  // namespace modsync::chaos
