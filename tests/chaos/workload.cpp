#include "workload.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "modsync/testing/pg_conn.hpp"

namespace modsync::chaos {
namespace {

// TOAST-sized values per table and run: the dev broker keeps ~5 MiB per partition, and every
// such value travels in each event (and replay) of its row.
constexpr int kBigBudget = 400;

// An SQL expression of column `c` for row number `g` of a bulk insert.
std::string bulk_expr(Rng& rng, const Column& c) {
  switch (c.type) {
    case ColType::kSmallint:
    case ColType::kInt:
    case ColType::kBigint:
      return fmt::format("((g * {}) % 2001 - 1000)", uniform(rng, 3, 7919));
    case ColType::kNumeric:
      return fmt::format("((g * {}) % 20001 - 10000) / 100.0", uniform(rng, 3, 97));
    case ColType::kText:
    case ColType::kVarchar:
      return "(ARRAY['alpha','beta','gamma','delta','omega','Zeta','ümlaut','o''neil','a_b',"
             "'100%'])[1 + g % 10]";
    case ColType::kBool:
      return "g % 3 = 0";
    case ColType::kDate:
      return "'2024-01-01'::date + (g % 366)::int";
    case ColType::kFloat:
      return "(g % 801 - 400) / 8.0";
    case ColType::kBigText:
      return "CASE WHEN g % 4 = 0 THEN NULL ELSE 'bulk' || g END";
    default:
      return random_literal(rng, c);
  }
}

bool connection_ok(const testing::PgConn& conn) {
  return PQstatus(conn.get()) == CONNECTION_OK;
}

}  // namespace

Workload::Workload(const Scenario& scenario, std::string dsn, uint64_t seed, int64_t first_key)
    : scenario_(scenario), dsn_(std::move(dsn)), rng_(seed), state_(scenario.tables.size()) {
  for (auto& s : state_) {
    s.big_budget = kBigBudget;
    s.next_key = first_key;
  }
  if (first_key == 1 && scenario.features.has("schema-change")) schema_budget_ = 4;
}

int Workload::big_size(const Table& t, TableState& s, double p) {
  if (!t.has_big() || s.big_budget <= 0 || !chance(rng_, p)) return 0;
  --s.big_budget;
  ++stats_.big_writes;
  return uniform(rng_, 3000, 10000);
}

std::string Workload::key_values(const Table& t, int64_t key) const {
  if (t.kind == TableKind::kComposite) return fmt::format("'t{}', {}", key % 5, key);
  return std::to_string(key);
}

std::string Workload::key_where(const Table& t, int64_t key) const {
  if (t.kind == TableKind::kComposite) {
    return fmt::format("tenant = 't{}' AND n = {}", key % 5, key);
  }
  return fmt::format("{} = {}", quote_ident(t.keys()[0]->name), key);
}

std::string Workload::insert_sql(const Table& t, TableState& s, int64_t key) {
  std::string cols, vals;
  const int big = big_size(t, s, 0.6);
  for (const auto& c : t.columns) {
    cols += (cols.empty() ? "" : ", ") + quote_ident(c.name);
    std::string v;
    if (c.key) {
      v = t.kind == TableKind::kComposite
              ? (c.name == "tenant" ? fmt::format("'t{}'", key % 5) : std::to_string(key))
              : std::to_string(key);
    } else if (!t.has_key() && c.name == "at") {
      v = std::to_string(key);
    } else {
      v = random_literal(rng_, c, c.type == ColType::kBigText ? big : 0);
    }
    vals += (vals.empty() ? "" : ", ") + v;
  }
  return fmt::format("INSERT INTO {} ({}) VALUES ({})", quote_ident(t.name), cols, vals);
}

std::string Workload::bulk_insert_sql(const Table& t, TableState& s, int rows) {
  const int64_t from = s.next_key;
  s.next_key += rows;
  std::string cols, vals;
  for (const auto& c : t.columns) {
    cols += (cols.empty() ? "" : ", ") + quote_ident(c.name);
    std::string v;
    if (c.key || (!t.has_key() && c.name == "at")) {
      v = c.name == "tenant" ? "'t' || (g % 5)" : "g";
    } else {
      v = bulk_expr(rng_, c);
    }
    vals += (vals.empty() ? "" : ", ") + v;
  }
  for (int64_t k = from; k < s.next_key; ++k) s.live.push_back(k);
  return fmt::format("INSERT INTO {} ({}) SELECT {} FROM generate_series({}, {}) g",
                     quote_ident(t.name), cols, vals, from, s.next_key - 1);
}

std::string Workload::update_sql(const Table& t, TableState& s) {
  const int64_t key = s.live[std::uniform_int_distribution<size_t>(0, s.live.size() - 1)(rng_)];
  std::vector<const Column*> cols;
  for (const auto& c : t.columns)
    if (!c.key) cols.push_back(&c);
  std::shuffle(cols.begin(), cols.end(), rng_);
  cols.resize(std::min<size_t>(cols.size(), static_cast<size_t>(uniform(rng_, 1, 3))));
  std::string set;
  for (const Column* c : cols) {
    std::string v;
    if (c->type == ColType::kBigText) {
      // Most updates of a TOAST table leave the large column alone (unchanged in the WAL).
      if (!chance(rng_, 0.3)) continue;
      v = random_literal(rng_, *c, big_size(t, s, 0.7));
    } else if (chance(rng_, 0.1)) {
      v = quote_ident(c->name);  // a no-op assignment still makes an update event
    } else {
      v = random_literal(rng_, *c);
    }
    set += (set.empty() ? "" : ", ") + quote_ident(c->name) + " = " + v;
  }
  if (set.empty()) {
    for (const auto& c : t.columns) {
      if (c.key || c.type == ColType::kBigText) continue;
      set = quote_ident(c.name) + " = " + random_literal(rng_, c);
      break;
    }
  }
  return fmt::format("UPDATE {} SET {} WHERE {}", quote_ident(t.name), set, key_where(t, key));
}

std::vector<std::string> Workload::transaction(std::vector<std::string>& notes) {
  std::vector<std::string> out;
  const int shape = uniform(rng_, 0, 999);
  if (shape < 3) {
    // A truncate, now and then, of one or two tables.
    std::vector<std::string> names;
    for (size_t i = 0; i < scenario_.tables.size(); ++i) {
      if (state_[i].truncates < 2 && chance(rng_, 0.3)) {
        names.push_back(quote_ident(scenario_.tables[i].name));
        ++state_[i].truncates;
        state_[i].live.clear();
        if (names.size() == 2) break;
      }
    }
    if (!names.empty()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      out.push_back("TRUNCATE " + list);
      notes.push_back("truncate " + list);
      ++stats_.truncates;
      return out;
    }
  }
  if (shape >= 3 && shape < 8 && schema_budget_ > 0) {
    // A column added, or one added earlier dropped, in the source table and in its two audit
    // copies (the audit trigger copies whole rows into them).
    const size_t ti = std::uniform_int_distribution<size_t>(0, scenario_.tables.size() - 1)(rng_);
    const Table& t = scenario_.tables[ti];
    TableState& s = state_[ti];
    --schema_budget_;
    schema_change_pending_ = true;
    std::string change;
    if (!s.added.empty() && chance(rng_, 0.5)) {
      change = "DROP COLUMN " + quote_ident(s.added.back());
      s.added.pop_back();
    } else {
      s.added.push_back(fmt::format("x_{}", ++schema_serial_));
      change =
          fmt::format("ADD COLUMN {} int DEFAULT {}", quote_ident(s.added.back()), schema_serial_);
    }
    for (const std::string& table :
         {"public." + quote_ident(t.name), "chaos." + quote_ident("ins_" + t.name),
          "chaos." + quote_ident("upd_" + t.name)}) {
      out.push_back(fmt::format("ALTER TABLE {} {}", table, change));
    }
    notes.push_back(t.name + ": " + change);
    return out;
  }
  const int statements = shape < 600 ? 1 : shape < 985 ? uniform(rng_, 2, 10) : 0;
  if (statements == 0) {
    // A large transaction: a bulk insert, or a multi-row update or delete.
    const size_t ti = std::uniform_int_distribution<size_t>(0, scenario_.tables.size() - 1)(rng_);
    const Table& t = scenario_.tables[ti];
    TableState& s = state_[ti];
    ++stats_.large_transactions;
    const int kind = t.insert_only() ? 0 : uniform(rng_, 0, 2);
    if (kind == 0) {
      out.push_back(bulk_insert_sql(t, s, uniform(rng_, 100, 800)));
    } else {
      const std::string key =
          quote_ident(t.kind == TableKind::kComposite ? "n" : t.keys()[0]->name);
      const int m = uniform(rng_, 3, 20), r = uniform(rng_, 0, m - 1);
      if (kind == 1) {
        const Column* c = nullptr;
        for (const auto& col : t.columns)
          if (!col.key && col.type != ColType::kBigText) c = &col;
        out.push_back(fmt::format("UPDATE {} SET {} = {} WHERE {} % {} = {}", quote_ident(t.name),
                                  quote_ident(c->name), random_literal(rng_, *c), key, m, r));
      } else {
        out.push_back(
            fmt::format("DELETE FROM {} WHERE {} % {} = {}", quote_ident(t.name), key, m, r));
        std::erase_if(s.live, [&](int64_t k) { return k % m == r; });
      }
    }
    return out;
  }
  for (int i = 0; i < statements; ++i) {
    const size_t ti = std::uniform_int_distribution<size_t>(0, scenario_.tables.size() - 1)(rng_);
    const Table& t = scenario_.tables[ti];
    TableState& s = state_[ti];
    const int op = t.insert_only() || s.live.size() < 5 ? 0 : uniform(rng_, 0, 99);
    ++stats_.statements;
    if (op < 30) {
      int64_t key = s.next_key++;
      if (!s.dead.empty() && chance(rng_, 0.2)) {
        // The same key again: a re-insert after a delete (soft-deleted rows come back).
        key = s.dead.back();
        s.dead.pop_back();
        --s.next_key;
      }
      out.push_back(insert_sql(t, s, key));
      s.live.push_back(key);
    } else if (op < 75) {
      out.push_back(update_sql(t, s));
    } else if (op < 88) {
      const size_t at = std::uniform_int_distribution<size_t>(0, s.live.size() - 1)(rng_);
      const int64_t key = s.live[at];
      out.push_back(fmt::format("DELETE FROM {} WHERE {}", quote_ident(t.name), key_where(t, key)));
      s.live.erase(s.live.begin() + static_cast<long>(at));
      s.dead.push_back(key);
    } else {
      // A primary-key change. On a TOAST table without REPLICA IDENTITY FULL the new row then
      // lacks the unchanged large value (issue #7, defect 3): behind a switch.
      if (t.kind == TableKind::kToast && !scenario_.features.has("toast-pk-change")) {
        out.push_back(update_sql(t, s));
        continue;
      }
      const size_t at = std::uniform_int_distribution<size_t>(0, s.live.size() - 1)(rng_);
      const int64_t old_key = s.live[at];
      const int64_t new_key = s.next_key++;
      std::string set = t.kind == TableKind::kComposite
                            ? fmt::format("tenant = 't{}', n = {}", new_key % 5, new_key)
                            : fmt::format("{} = {}", quote_ident(t.keys()[0]->name), new_key);
      out.push_back(fmt::format("UPDATE {} SET {} WHERE {}", quote_ident(t.name), set,
                                key_where(t, old_key)));
      s.live[at] = new_key;
      s.dead.push_back(old_key);
      ++stats_.pk_changes;
    }
  }
  return out;
}

void Workload::seed() {
  testing::PgConn conn(dsn_);
  for (size_t i = 0; i < scenario_.tables.size(); ++i) {
    const Table& t = scenario_.tables[i];
    if (t.seed_rows == 0) continue;
    std::string sql = "BEGIN;";
    for (int r = 0; r < t.seed_rows; ++r) {
      const int64_t key = state_[i].next_key++;
      sql += insert_sql(t, state_[i], key) + ";";
      state_[i].live.push_back(key);
    }
    conn.exec(sql + "COMMIT");
  }
}

void Workload::run(const std::atomic<bool>& stop) {
  std::optional<testing::PgConn> conn;
  std::vector<std::string> notes;
  while (!stop) {
    if (!conn || !connection_ok(*conn)) {
      conn.reset();
      try {
        conn.emplace(dsn_);
        ++stats_.reconnects;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
    }
    schema_change_pending_ = false;
    const auto statements = transaction(notes);
    std::string sql = "BEGIN;";
    for (const auto& s : statements) sql += s + ";";
    try {
      conn->exec(sql + "COMMIT");
      ++stats_.transactions;
      if (schema_change_pending_) ++stats_.schema_changes;
    } catch (const std::exception&) {
      ++stats_.failed;
      try {
        if (connection_ok(*conn)) conn->exec("ROLLBACK");
      } catch (const std::exception&) {
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(uniform(rng_, 0, 30)));
  }
}

}  // namespace modsync::chaos
