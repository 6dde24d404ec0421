#include "scenario.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace modsync::chaos {
namespace {

const std::vector<std::string> kFeatureNames = {
    // Defect 5 of issue #7: a partitioned source table (events land on leaf topics).
    "partitioned",
    // Defect 3: primary-key changes of rows whose TOASTed column the update leaves unchanged.
    "toast-pk-change",
    // Defect 4: `where` filters on a TOASTed column, and filtered projections that map one
    // (a row entering the filter through an update that leaves the TOAST column unchanged).
    "toast-filter",
    // Defect 2: daemon kills (and other faults) during the initial snapshot.
    "snapshot-kill",
    // Defects 1 and 2: keyless (append-only) tables snapshotted with rows seeded before start;
    // off, they go to a second pair with `snapshot: never` and no seeded rows.
    "append-snapshot",
    // Defect 10: append-only projections of keyed tables (acct, doc, note) that see updates and
    // deletes: a log of row versions.
    "append-updates",
    // Found by this test (chaos-findings F5): SIGHUP in the first milliseconds after exec, before
    // `run` blocks the signal, ends the daemon. Off, a SIGHUP waits for the daemon's first log
    // line.
    "early-signal",
    // Three writers on their own connections (keys apart): transactions interleave in the WAL
    // and commit out of xid order, as an application's do.
    "concurrent",
    // Columns added to and dropped from the source tables while the run goes on (no projection
    // maps them): new schema versions mid-stream, across kills.
    "schema-change",
    // Several sink connections per projection (sink.workers 2 to 4), partitions spread over
    // them; off, each projection is applied over one connection.
    "workers",
    // Several processes: capture in one daemon, the projections applied by 2 or 3 sink-only
    // replicas sharing them through Kafka consumer groups (sink.group); kills and signals hit
    // each daemon on its own, some kills keep a replica down past its session timeout so the
    // others take its partitions over. Off, one daemon runs every pair.
    "processes",
    // With `processes`: SIGTERMs (the `term` fault) of the apply replicas. librdkafka 2.0.2
    // aborts when a cooperative-sticky group consumer is destroyed after its JoinGroup and before
    // its first SyncGroup (confluentinc/librdkafka#4312): a replica stopped in its first seconds
    // exits 134 (docs/scaling.md). Off, `term` hits the capture; kills still hit every daemon.
    "replica-term",
};

const std::vector<std::string> kWords = {"alpha", "beta",   "gamma",  "delta", "omega",
                                         "Zeta",  "ümlaut", "o'neil", "a_b",   "100%"};

// The UTF-8 characters of `s` (a LIKE pattern's `_` stands for one character, not one byte).
std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

template <typename T>
T pick(Rng& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

struct Filter {
  std::string ms, sql;
};

std::string ms_ident(const std::string& name) {
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return quote_ident(name);
  }
  return name;
}

std::string number_literal(Rng& rng, ColType t) {
  switch (t) {
    case ColType::kSmallint:
      return std::to_string(uniform(rng, -300, 300));
    case ColType::kBigint:
      if (chance(rng, 0.3)) return std::to_string(9007199254740990LL + uniform(rng, 0, 8));
      return std::to_string(uniform(rng, -1000000, 1000000));
    default:
      return std::to_string(uniform(rng, -1000, 1000));
  }
}

std::string cmp_op(Rng& rng) {
  return pick<std::string>(rng, {"=", "<>", "<", "<=", ">", ">="});
}

// One condition on one column, in both languages.
Filter atom(Rng& rng, const Column& c) {
  const std::string m = ms_ident(c.name);
  const std::string s = quote_ident(c.name);
  const int form = uniform(rng, 0, 9);
  if (form == 0) return {m + " IS NULL", s + " IS NULL"};
  if (form == 1) return {m + " IS NOT NULL", s + " IS NOT NULL"};
  switch (c.type) {
    case ColType::kSmallint:
    case ColType::kInt:
    case ColType::kBigint: {
      if (form <= 3) {
        std::string list = number_literal(rng, c.type);
        for (int i = 0; i < 3; ++i) list += ", " + number_literal(rng, c.type);
        const std::string neg = form == 3 ? " NOT" : "";
        return {fmt::format("{}{} IN ({})", m, neg, list),
                fmt::format("{}{} IN ({})", s, neg, list)};
      }
      // Values are drawn near 0, so a comparison with 0 splits rows about evenly.
      const std::string lit = chance(rng, 0.5) ? "0" : number_literal(rng, c.type);
      const std::string op = cmp_op(rng);
      return {fmt::format("{} {} {}", m, op, lit), fmt::format("{} {} {}", s, op, lit)};
    }
    case ColType::kNumeric: {
      const std::string lit = fmt::format("{}.{}", uniform(rng, -50, 50), uniform(rng, 0, 99));
      const std::string op = cmp_op(rng);
      return {fmt::format("{} {} {}", m, op, lit), fmt::format("{} {} {}", s, op, lit)};
    }
    case ColType::kFloat: {
      const std::string op = pick<std::string>(rng, {"<", ">", ">=", "<="});
      const std::string lit = std::to_string(uniform(rng, -20, 20));
      return {fmt::format("{} {} {}", m, op, lit), fmt::format("{} {} {}", s, op, lit)};
    }
    case ColType::kBool:
      switch (form % 4) {
        case 0:
          return {m, s};
        case 1:
          return {"NOT " + m, "NOT " + s};
        case 2:
          return {m + " = TRUE", s + " = TRUE"};
        default:
          return {m + " = FALSE", s + " = FALSE"};
      }
    case ColType::kText:
    case ColType::kVarchar:
    case ColType::kBigText: {
      const std::string word = pick(rng, kWords);
      if (form <= 4) {
        // LIKE patterns from the vocabulary's first or last letters; '%' and '_' of the words
        // themselves are escaped in the pattern (the same in both languages).
        std::string pat;
        const int kind = uniform(rng, 0, 2);
        const auto chars = characters(word);
        const std::string letter = c.type == ColType::kBigText
                                       ? std::string(1, "AMZakz0"[uniform(rng, 0, 6)])
                                       : chars.front();
        if (kind == 0) pat = letter + "%";
        if (kind == 1) pat = "%" + chars.back();
        if (kind == 2) pat = "_" + chars[1] + "%";
        std::string escaped;
        for (size_t i = 0; i < pat.size(); ++i) {
          const bool wild =
              (pat[i] == '%' && (i == 0 || i + 1 == pat.size())) || (pat[i] == '_' && i == 0);
          if (!wild && (pat[i] == '%' || pat[i] == '_')) escaped += '\\';
          escaped += pat[i];
        }
        const std::string neg = form == 4 ? " NOT" : "";
        return {fmt::format("{}{} LIKE {}", m, neg, quote_literal(escaped)),
                fmt::format("{}{} LIKE {}", s, neg, quote_literal(escaped))};
      }
      if (form == 5 && c.type != ColType::kBigText) {
        const std::string list = quote_literal(word) + ", " + quote_literal(pick(rng, kWords));
        return {fmt::format("{} IN ({})", m, list), fmt::format("{} IN ({})", s, list)};
      }
      const std::string op = cmp_op(rng);
      const std::string lit = quote_literal(c.type == ColType::kBigText ? "M" : word);
      // modsync compares strings bytewise: the C collation does too.
      return {fmt::format("{} {} {}", m, op, lit),
              fmt::format("{} {} {} COLLATE \"C\"", s, op, lit)};
    }
    case ColType::kDate: {
      const std::string lit =
          quote_literal(fmt::format("2024-{:02}-{:02}", uniform(rng, 1, 12), uniform(rng, 1, 28)));
      const std::string op = cmp_op(rng);
      return {fmt::format("{} {} {}", m, op, lit), fmt::format("{} {} {}::date", s, op, lit)};
    }
    default:
      // Times, uuids, json, arrays, bytea: only IS [NOT] NULL is portable.
      return form % 2 ? Filter{m + " IS NULL", s + " IS NULL"}
                      : Filter{m + " IS NOT NULL", s + " IS NOT NULL"};
  }
}

Filter expression(Rng& rng, const std::vector<const Column*>& cols, int depth) {
  if (depth == 0 || chance(rng, 0.4)) {
    Filter f = atom(rng, *pick(rng, cols));
    if (chance(rng, 0.15)) return {"NOT (" + f.ms + ")", "NOT (" + f.sql + ")"};
    return f;
  }
  const Filter a = expression(rng, cols, depth - 1);
  const Filter b = expression(rng, cols, depth - 1);
  const std::string op = chance(rng, 0.5) ? "AND" : pick<std::string>(rng, {"OR", "or", "And"});
  Filter f{fmt::format("({}) {} ({})", a.ms, op, b.ms),
           fmt::format("({}) {} ({})", a.sql, op, b.sql)};
  if (chance(rng, 0.15)) return {"NOT (" + f.ms + ")", "NOT (" + f.sql + ")"};
  return f;
}

// Pool of ordinary columns to add to a table, each named after its type.
std::vector<Column> pool_columns(Rng& rng, int count) {
  std::vector<Column> pool = {
      {"qty", ColType::kInt},        {"label", ColType::kText},   {"price", ColType::kNumeric},
      {"flag", ColType::kBool},      {"day", ColType::kDate},     {"ratio", ColType::kFloat},
      {"small", ColType::kSmallint}, {"code", ColType::kVarchar}, {"big_n", ColType::kBigint},
  };
  std::shuffle(pool.begin(), pool.end(), rng);
  pool.resize(std::min<size_t>(pool.size(), static_cast<size_t>(count)));
  for (auto& c : pool) c.not_null = chance(rng, 0.2);
  return pool;
}

}  // namespace

Features Features::parse(const std::string& list) {
  Features f;
  std::stringstream in(list);
  for (std::string name; std::getline(in, name, ',');) {
    if (name.empty() || name == "none") continue;
    if (name == "all") {
      f.on.insert(kFeatureNames.begin(), kFeatureNames.end());
      continue;
    }
    // "-name" takes a switch away again ("all,-processes").
    const bool off = name[0] == '-';
    if (off) name.erase(0, 1);
    if (std::find(kFeatureNames.begin(), kFeatureNames.end(), name) == kFeatureNames.end()) {
      std::string known;
      for (const auto& n : kFeatureNames) known += (known.empty() ? "" : ", ") + n;
      throw std::runtime_error(fmt::format(
          "unknown feature '{}'. Fix: use all, none or a list of: {} (each may be -name, which "
          "takes it away from those before it)",
          name, known));
    }
    if (off)
      f.on.erase(name);
    else
      f.on.insert(name);
  }
  return f;
}

const std::vector<std::string>& Features::all_names() {
  return kFeatureNames;
}

std::string Features::to_string() const {
  std::string out;
  for (const auto& n : kFeatureNames)
    if (has(n)) out += (out.empty() ? "" : ",") + n;
  return out.empty() ? "none" : out;
}

std::vector<const Column*> Table::keys() const {
  std::vector<const Column*> out;
  for (const auto& c : columns)
    if (c.key) out.push_back(&c);
  return out;
}

const Column* Table::find(const std::string& n) const {
  for (const auto& c : columns)
    if (c.name == n) return &c;
  return nullptr;
}

bool Table::has_big() const {
  return std::any_of(columns.begin(), columns.end(),
                     [](const Column& c) { return c.type == ColType::kBigText; });
}

std::string Projection::describe(const Table& t) const {
  std::string cols;
  for (const auto& [s, d] : columns)
    cols += (cols.empty() ? "" : ", ") + (s == d ? s : s + "→" + d);
  const char* mode = on_delete == OnDelete::kSoft     ? "soft"
                     : on_delete == OnDelete::kIgnore ? "ignore"
                                                      : "delete";
  return fmt::format("{} → {} [{}] ops={} on_delete={}{}{} where: {}", t.name, target, cols, ops,
                     mode, append_only ? " append-only" : "", create_table ? " create_table" : "",
                     where.empty() ? "(none)" : where);
}

std::string sql_type(ColType t) {
  switch (t) {
    case ColType::kSmallint:
      return "smallint";
    case ColType::kInt:
      return "integer";
    case ColType::kBigint:
      return "bigint";
    case ColType::kNumeric:
      return "numeric(12,2)";
    case ColType::kFloat:
      return "double precision";
    case ColType::kBool:
      return "boolean";
    case ColType::kText:
      return "text";
    case ColType::kVarchar:
      return "character varying(20)";
    case ColType::kDate:
      return "date";
    case ColType::kTimestamptz:
      return "timestamp with time zone";
    case ColType::kUuid:
      return "uuid";
    case ColType::kJsonb:
      return "jsonb";
    case ColType::kIntArray:
      return "integer[]";
    case ColType::kBytea:
      return "bytea";
    case ColType::kBigText:
      return "text";
  }
  return "text";
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string quote_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string random_text(Rng& rng, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(size, 'x');
  std::uniform_int_distribution<int> d(0, sizeof kAlphabet - 2);
  for (auto& c : out) c = kAlphabet[d(rng)];
  return out;
}

std::string random_literal(Rng& rng, const Column& c, int big_size) {
  if (!c.not_null && !c.key && chance(rng, 0.1)) return "NULL";
  switch (c.type) {
    case ColType::kSmallint:
    case ColType::kInt:
    case ColType::kBigint:
      return number_literal(rng, c.type);
    case ColType::kNumeric:
      return fmt::format("{}.{:02}", uniform(rng, -100, 100), uniform(rng, 0, 99));
    case ColType::kFloat:
      return fmt::format("{}", uniform(rng, -800, 800) / 8.0);
    case ColType::kBool:
      return chance(rng, 0.5) ? "true" : "false";
    case ColType::kText:
    case ColType::kVarchar:
      return quote_literal(pick(rng, kWords));
    case ColType::kDate:
      return fmt::format("'2024-01-01'::date + {}", uniform(rng, 0, 365));
    case ColType::kTimestamptz:
      return fmt::format(
          "'2024-01-01 00:00:00+00'::timestamptz + interval '{} seconds' + "
          "interval '{} milliseconds'",
          uniform(rng, 0, 10000000), uniform(rng, 0, 999));
    case ColType::kUuid: {
      std::uniform_int_distribution<uint64_t> d;
      const uint64_t a = d(rng), b = d(rng);
      return fmt::format("'{:08x}-{:04x}-{:04x}-{:04x}-{:012x}'", a >> 32, (a >> 16) & 0xffff,
                         a & 0xffff, b >> 48, b & 0xffffffffffffULL);
    }
    case ColType::kJsonb:
      return quote_literal(fmt::format(
          R"({{"n": {}, "s": "{}", "a": [1, {}], "o": {{"x": null}}}})", uniform(rng, -5, 5000),
          pick(rng, kWords) == "o'neil" ? "q" : "w", uniform(rng, 0, 9)));
    case ColType::kIntArray: {
      std::string out = "'{";
      const int n = uniform(rng, 0, 4);
      for (int i = 0; i < n; ++i) {
        out += (i ? "," : "") +
               (chance(rng, 0.1) ? std::string("NULL") : std::to_string(uniform(rng, -9, 99)));
      }
      return out + "}'";
    }
    case ColType::kBytea: {
      std::string out = "'\\x";
      const int n = uniform(rng, 0, 16);
      for (int i = 0; i < n; ++i) out += fmt::format("{:02x}", uniform(rng, 0, 255));
      return out + "'";
    }
    case ColType::kBigText:
      if (big_size > 0) return quote_literal(random_text(rng, static_cast<size_t>(big_size)));
      return quote_literal(pick(rng, kWords));
  }
  return "NULL";
}

std::string compare_expr(const Column& c, const std::string& expr) {
  switch (c.type) {
    case ColType::kBigText:
      return fmt::format("coalesce(length({0})::text || ':' || md5({0}), NULL)", expr);
    case ColType::kTimestamptz:
      return fmt::format("({} AT TIME ZONE 'UTC')::text", expr);
    default:
      return expr + "::text";
  }
}

Scenario Scenario::generate(uint64_t seed, const Features& features) {
  Scenario s;
  s.seed = seed;
  s.features = features;
  Rng rng(seed);
  auto add = [&](std::string name, TableKind kind, std::vector<Column> cols, int seed_rows) {
    Table t{std::move(name), kind, std::move(cols)};
    // The dev broker keeps ~5 MiB per partition: large rows get more partitions.
    t.topic_partitions = t.has_big() || kind == TableKind::kWide ? 8 : uniform(rng, 1, 4);
    t.seed_rows = seed_rows;
    s.tables.push_back(std::move(t));
  };
  {
    std::vector<Column> c = {{"id", ColType::kBigint, true, true}};
    for (auto& p : pool_columns(rng, uniform(rng, 3, 5))) c.push_back(p);
    add("acct", TableKind::kKeyed, std::move(c), uniform(rng, 100, 800));
  }
  {
    std::vector<Column> c = {{"tenant", ColType::kText, true, true},
                             {"n", ColType::kInt, true, true}};
    for (auto& p : pool_columns(rng, uniform(rng, 2, 4))) c.push_back(p);
    add("line", TableKind::kComposite, std::move(c), uniform(rng, 100, 600));
  }
  {
    std::vector<Column> c = {{"at", ColType::kBigint, false, true},
                             {"who", ColType::kInt},
                             {"what", ColType::kText},
                             {"amount", ColType::kNumeric}};
    if (chance(rng, 0.5)) c.push_back({"blob", ColType::kBigText});
    const bool snap = features.has("append-snapshot");
    add("hist", TableKind::kKeyless, std::move(c), snap ? uniform(rng, 50, 500) : 0);
    s.tables.back().pair = snap ? 0 : 1;
  }
  {
    std::vector<Column> c = {
        {"id", ColType::kInt, true, true}, {"title", ColType::kText}, {"body", ColType::kBigText}};
    for (auto& p : pool_columns(rng, uniform(rng, 1, 2))) c.push_back(p);
    add("doc", TableKind::kFull, std::move(c), uniform(rng, 20, 80));
  }
  {
    std::vector<Column> c = {{"id", ColType::kInt, true, true},
                             {"status", ColType::kText},
                             {"score", ColType::kInt},
                             {"body", ColType::kBigText}};
    for (auto& p : pool_columns(rng, uniform(rng, 0, 2))) {
      if (p.name != "qty") c.push_back(p);
    }
    add("note", TableKind::kToast, std::move(c), uniform(rng, 20, 80));
  }
  {
    std::vector<Column> c = {{"id", ColType::kInt, true, true},
                             {"s", ColType::kSmallint},
                             {"i", ColType::kInt},
                             {"b8", ColType::kBigint},
                             {"n", ColType::kNumeric},
                             {"f", ColType::kFloat},
                             {"ok", ColType::kBool},
                             {"t", ColType::kText},
                             {"v", ColType::kVarchar},
                             {"d", ColType::kDate},
                             {"ts", ColType::kTimestamptz},
                             {"u", ColType::kUuid},
                             {"j", ColType::kJsonb},
                             {"arr", ColType::kIntArray},
                             {"bin", ColType::kBytea},
                             {"mixed_Case", ColType::kText}};
    add("wide", TableKind::kWide, std::move(c), uniform(rng, 50, 300));
  }
  if (features.has("partitioned")) {
    std::vector<Column> c = {
        {"id", ColType::kInt, true, true}, {"region", ColType::kText}, {"amount", ColType::kInt}};
    add("part", TableKind::kPartitioned, std::move(c), uniform(rng, 100, 600));
  }

  s.snapshot_chunk_rows = uniform(rng, 20, 200);
  s.batch_rows = pick<int>(rng, {10, 50, 200, 1000, 5000});
  s.batch_time_ms = pick<int>(rng, {5, 10, 50, 100});

  for (size_t ti = 0; ti < s.tables.size(); ++ti) {
    const Table& t = s.tables[ti];
    const bool toast_gated = t.kind == TableKind::kToast && !features.has("toast-filter");
    const int count = uniform(rng, 2, 3);
    // An append-only audit trail of a keyed table, also of the TOAST tables. The unchanged TOAST
    // value of an update is read from the source's current row when the table has no REPLICA
    // IDENTITY FULL, which may be newer than the version (or gone): such a log can keep that
    // column's versions only with FULL (docs/projections.md), so on `note` it maps no TOAST column.
    const bool audit_trail = features.has("append-updates") &&
                             (ti == 0 || t.kind == TableKind::kFull || t.kind == TableKind::kToast);
    for (int j = 0; j < count + (audit_trail ? 1 : 0); ++j) {
      Projection p;
      p.table = static_cast<int>(ti);
      p.target = fmt::format("p_{}_{}", t.name, j);
      p.append_only = !t.has_key() || j == count;
      const bool no_big = p.append_only && t.has_key() && !t.replica_full();
      for (const auto& c : t.columns) {
        if (no_big && c.type == ColType::kBigText) continue;
        if (!(c.key && !p.append_only) && !chance(rng, 0.6)) continue;
        std::string to = c.name;
        if (c.name == "mixed_Case")
          to = chance(rng, 0.5) ? "Mixed_case_x" : c.name;
        else if (chance(rng, 0.3))
          to = c.name + "_x";
        p.columns.emplace_back(c.name, to);
      }
      if (p.columns.size() <= t.keys().size()) {
        // One more column, not mapped yet (an append-only one may have taken it without a key).
        for (const auto& c : t.columns) {
          if (c.key || (no_big && c.type == ColType::kBigText)) continue;
          if (std::any_of(p.columns.begin(), p.columns.end(),
                          [&](const auto& m) { return m.first == c.name; })) {
            continue;
          }
          p.columns.emplace_back(c.name, c.name);
          break;
        }
      }
      const bool maps_big = std::any_of(p.columns.begin(), p.columns.end(), [&](const auto& m) {
        return t.find(m.first)->type == ColType::kBigText;
      });
      if (chance(rng, 0.65) && !(toast_gated && maps_big)) {
        std::vector<const Column*> usable;
        for (const auto& c : t.columns) {
          if ((toast_gated || no_big) && c.type == ColType::kBigText) continue;
          usable.push_back(&c);
        }
        const Filter f = expression(rng, usable, uniform(rng, 0, 2));
        p.where = f.ms;
        p.where_sql = f.sql;
      }
      if (p.append_only) {
        p.ops = chance(rng, 0.5) ? "cudrt" : "crt";
        p.check = Projection::Check::kMultiset;
      } else {
        p.ops = chance(rng, 0.8) ? "cudrt" : "curt";
        const int mode = uniform(rng, 0, 3);
        p.on_delete = mode <= 1   ? OnDelete::kDelete
                      : mode == 2 ? OnDelete::kSoft
                                  : OnDelete::kIgnore;
        p.check = p.on_delete == OnDelete::kSoft     ? Projection::Check::kLive
                  : p.on_delete == OnDelete::kIgnore ? Projection::Check::kCovers
                                                     : Projection::Check::kExact;
        if (p.ops.find('d') == std::string::npos) p.check = Projection::Check::kCovers;
        p.create_table = chance(rng, 0.25);
      }
      s.projections.push_back(std::move(p));
    }
  }
  // Drawn last, so the switch leaves every other draw of a seed as it was.
  if (features.has("workers")) s.sink_workers = pick<int>(rng, {2, 3, 4});
  if (features.has("processes")) {
    s.apply_replicas = pick<int>(rng, {2, 3});
    // Every worker of every replica is a subscriber connection and a group member: at most 4
    // per projection keeps ~20 projections inside max_connections (100) and the 2-core host.
    s.sink_workers = std::max(1, std::min(s.sink_workers, 4 / s.apply_replicas));
  }
  return s;
}

}  // namespace modsync::chaos
